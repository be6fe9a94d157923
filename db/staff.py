"""Staff, units and invite codes."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy import Connection, Row, bindparam, inspect, update
from sqlalchemy import select as columns
from sqlalchemy.orm.util import identity_key
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import InviteCode, OrgImport, Segment, Staff, Unit
from db.session import read_in_batches
from scheduler.complaints import StaffPost
from scheduler.org import OperatingDays, OrgUnit, Role, SiteKind


async def get_staff_by_telegram_id(*, session: AsyncSession, telegram_user_id: int) -> Staff | None:
    result = await session.exec(select(Staff).where(Staff.telegram_user_id == telegram_user_id))
    return result.first()


async def get_staff_by_code(*, session: AsyncSession, code: str) -> Staff | None:
    return (await session.exec(select(Staff).where(Staff.code == code))).first()


async def get_unit(*, session: AsyncSession, unit_id: int) -> Unit:
    unit = await session.get(Unit, unit_id)
    if unit is None:
        raise LookupError(f"unit {unit_id} does not exist")
    return unit


async def find_staff(*, session: AsyncSession, query: str) -> list[Staff]:
    """Staff matching a 工号 (code), a database id or a name, in that order of preference."""
    query = query.strip()
    by_code = (await session.exec(select(Staff).where(Staff.code == query))).all()
    if by_code:
        return list(by_code)
    if query.isdigit():
        person = await session.get(Staff, int(query))
        if person is not None:
            return [person]
    by_name = await session.exec(select(Staff).where(Staff.name == query).order_by(col(Staff.code)))
    return list(by_name.all())


async def create_invite(
    *, session: AsyncSession, staff: Staff, now: datetime, valid_for: timedelta
) -> InviteCode:
    assert staff.id is not None
    # A new invite revokes the person's older ones: a link handed to the wrong person (or
    # forwarded) stops working once the right one is issued.
    await revoke_invites(session=session, staff_id=staff.id, now=now)
    # 16 url-safe characters: fits Telegram's 64-character deep-link limit, unguessable.
    invite = InviteCode(
        code=secrets.token_urlsafe(12),
        staff_id=staff.id,
        created_at=now,
        expires_at=now + valid_for,
    )
    session.add(invite)
    await session.flush()
    return invite


async def revoke_invites(*, session: AsyncSession, staff_id: int, now: datetime) -> int:
    """The person's unused invites stop working now; how many there were."""
    result = await session.exec(
        update(InviteCode)
        .where(
            col(InviteCode.staff_id) == staff_id,
            col(InviteCode.used_at).is_(None),
            col(InviteCode.expires_at) > now,
        )
        .values(expires_at=now)
    )
    return int(result.rowcount)


class Redemption(Enum):
    REGISTERED = "registered"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"  # a newer invite for the same person replaced it
    ACCOUNT_TAKEN = "account_taken"


@dataclass(frozen=True)
class RedeemResult:
    outcome: Redemption
    staff: Staff | None = None
    # The account the record was bound to before, now unbound (told, with the admins).
    previous_account: int | None = None


async def redeem_invite(
    *, session: AsyncSession, code: str, telegram_user_id: int, now: datetime
) -> RedeemResult:
    """Bind a Telegram account to the invited staff record; a code works once, until it expires."""
    statement = select(InviteCode).where(InviteCode.code == code).with_for_update()
    invite = (await session.exec(statement)).first()
    if invite is None:
        return RedeemResult(Redemption.UNKNOWN)
    if invite.used_at is not None:
        return RedeemResult(Redemption.USED)
    if invite.expires_at <= now:
        newer = select(InviteCode.id).where(
            InviteCode.staff_id == invite.staff_id, col(InviteCode.id) > invite.id
        )
        replaced = (await session.exec(newer.limit(1))).first() is not None
        return RedeemResult(Redemption.REVOKED if replaced else Redemption.EXPIRED)
    bound = await get_staff_by_telegram_id(session=session, telegram_user_id=telegram_user_id)
    if bound is not None and bound.id != invite.staff_id:
        return RedeemResult(Redemption.ACCOUNT_TAKEN)
    staff = await session.get(Staff, invite.staff_id)
    assert staff is not None, "invite codes reference existing staff (foreign key)"
    previous = staff.telegram_user_id if staff.telegram_user_id != telegram_user_id else None
    invite.used_at = now
    staff.telegram_user_id = telegram_user_id
    staff.registered_at = now
    staff.left_at = None
    staff.blocked_bot_at = None
    session.add_all([invite, staff])
    await session.flush()
    return RedeemResult(Redemption.REGISTERED, staff, previous)


_UNIT_COLUMNS = columns(
    col(Unit.id),
    col(Unit.name),
    col(Unit.level),
    col(Unit.parent_id),
    col(Unit.site_kind),
    col(Unit.area),
    col(Unit.open_days),
    col(Unit.open_on_holidays),
)


async def load_org_units(
    *, session: AsyncSession, opening: Mapping[SiteKind, OperatingDays] | None = None
) -> dict[int, OrgUnit]:
    """Every unit as plain data, for the routing and planning rules; sites with their
    operating days (their own, else ``opening`` of their kind, else the business calendar)."""
    units: dict[int, OrgUnit] = {}
    # Plain columns in batches: a province's units as ORM objects would hold the loop.
    async for rows in read_in_batches(session, _UNIT_COLUMNS):
        units.update(_org_units(rows, opening or {}))
    return units


def read_org_units(
    *, connection: Connection, opening: Mapping[SiteKind, OperatingDays] | None = None
) -> dict[int, OrgUnit]:
    """``load_org_units``, blocking, on a connection of a worker thread
    (``Database.blocking_read``)."""
    return dict(_org_units(connection.execute(_UNIT_COLUMNS), opening or {}))


def _org_units(
    rows: Iterable[Row[Any]], opening: Mapping[SiteKind, OperatingDays]
) -> Iterator[tuple[int, OrgUnit]]:
    for unit_id, name, level, parent_id, kind, area, open_days, on_holidays in rows:
        yield (
            unit_id,
            OrgUnit(
                id=unit_id,
                name=name,
                level=level,
                parent_id=parent_id,
                site_kind=kind,
                area=area,
                operating=_operating(kind, open_days, on_holidays, opening),
            ),
        )


async def load_segment_names(*, session: AsyncSession) -> dict[int, str]:
    """Every delivery segment's name by id, for the complaint cards (plain columns in
    batches, as the units)."""
    names: dict[int, str] = {}
    async for rows in read_in_batches(session, columns(col(Segment.id), col(Segment.name))):
        names.update((segment_id, name) for segment_id, name in rows)
    return names


def _operating(
    kind: SiteKind | None,
    open_days: str | None,
    open_on_holidays: bool | None,
    opening: Mapping[SiteKind, OperatingDays],
) -> OperatingDays | None:
    if kind is None:
        return None
    default = opening.get(kind)
    if open_days is None and open_on_holidays is None:
        return default
    base = default or OperatingDays()
    weekdays = base.weekdays
    if open_days is not None:
        weekdays = frozenset(int(day) - 1 for day in open_days)
    on_holidays = base.on_holidays if open_on_holidays is None else open_on_holidays
    return OperatingDays(weekdays, on_holidays)


async def list_staff_posts(
    *, session: AsyncSession, role: Role, unit_id: int | None = None
) -> list[StaffPost]:
    """Everyone in the role (of one unit, given unit_id). Those who left hold no post:
    nothing is routed to them, no alert reaches them."""
    statement = select(Staff).where(Staff.role == role, col(Staff.left_at).is_(None))
    if unit_id is not None:
        statement = statement.where(Staff.unit_id == unit_id)
    rows = (await session.exec(statement)).all()
    return [
        StaffPost(staff_id=s.id, unit_id=s.unit_id, department=s.department)
        for s in rows
        if s.id is not None
    ]


async def get_staff(*, session: AsyncSession, staff_id: int) -> Staff:
    staff = await session.get(Staff, staff_id)
    if staff is None:
        raise LookupError(f"staff {staff_id} does not exist")
    return staff


async def first_org_import_at(*, session: AsyncSession) -> datetime | None:
    """When the organisation was first imported: the bot's go-live."""
    statement = select(OrgImport.imported_at).order_by(col(OrgImport.id)).limit(1)
    return (await session.exec(statement)).first()


async def latest_org_import(*, session: AsyncSession) -> int | None:
    """The id of the newest organisation import, if any."""
    statement = select(OrgImport.id).order_by(col(OrgImport.id).desc()).limit(1)
    return (await session.exec(statement)).first()


def _held(session: AsyncSession, staff_id: int) -> Staff | None:
    """The staff row this session has loaded already, unless it was expired since."""
    held = session.identity_map.get(identity_key(Staff, staff_id))
    if not isinstance(held, Staff):
        return None
    state = inspect(held)
    return None if state is None or state.expired_attributes else held


# Built once: the cards of every complaint update read their people (see db/inbox.py).
_STAFF_BY_IDS = select(Staff).where(col(Staff.id).in_(bindparam("staff_ids", expanding=True)))


async def load_staff(*, session: AsyncSession, staff_ids: Iterable[int]) -> dict[int, Staff]:
    """Staff by id in one query (the morning push reaches thousands of people); none for
    those the session holds already (an update's sender, read by the access gate)."""
    found: dict[int, Staff] = {}
    wanted = []
    for staff_id in sorted(set(staff_ids)):
        held = _held(session, staff_id)
        if held is None:
            wanted.append(staff_id)
        else:
            found[staff_id] = held
    # Chunks keep each IN list under the databases' parameter limits.
    for start in range(0, len(wanted), 5000):
        chunk = wanted[start : start + 5000]
        rows = (await session.exec(_STAFF_BY_IDS, params={"staff_ids": chunk})).all()
        found.update({s.id: s for s in rows if s.id is not None})
    return found


@dataclass(frozen=True)
class Reachable:
    post: StaffPost
    chat_id: int


async def reachable_holders(
    *, session: AsyncSession, posts: Iterable[StaffPost]
) -> list[Reachable]:
    """The posts whose holders can be reached, with their chat, read in one query: holders
    registered (there is a chat) and not blocking the bot (a send would be refused)."""
    posts = list(posts)
    people = await load_staff(session=session, staff_ids=[post.staff_id for post in posts])
    return [
        Reachable(post, person.telegram_user_id)
        for post in posts
        if (person := people[post.staff_id]).telegram_user_id is not None
        and person.blocked_bot_at is None
    ]
