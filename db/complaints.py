"""Complaints, their history and the examples reporters labelled.

`save_transition` is the one writer of a complaint's lifecycle fields (status, owner,
handler, department, deadline, escalation); tests/db/test_complaint_writers.py proves that
no other module assigns them.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import bindparam, insert, update
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import (
    Complaint,
    ComplaintDetail,
    ComplaintEvent,
    ComplaintPhoto,
    DetailKind,
    LabelledExample,
    Segment,
    TransferPoint,
    Unit,
)
from db.session import run_prebuilt
from scheduler.complaint_lifecycle import ACTIVE, AWAITING_REPORTER, Lifecycle, State, Transition
from scheduler.org import Department

# Ids per IN list: under every database's limit on parameters.
_CHUNK = 5000


class EventKind:
    CREATED = "created"
    ROUTED = "routed"
    REROUTED = "rerouted"
    RETURNED = "returned"
    DETAILS = "details"
    RESUBMITTED = "resubmitted"
    CATEGORY = "category"
    LEVEL = "level"  # the clock moved it a level up (each manager told: ESCALATED)
    ESCALATED = "escalated"
    # A manager told at once because the department has no handler: alerted like level 1.
    NO_HANDLER = "no_handler"
    CLAIMED = "claimed"
    ANSWERED = "answered"
    SATISFIED = "satisfied"
    DISSATISFIED = "dissatisfied"
    CLOSED = "closed"
    VERDICT = "verdict"  # 有理 / 无理
    CANCELLED = "cancelled"  # a draft cancelled or a returned complaint withdrawn
    # Someone who left (python -m bot offboard): their part passed to their manager.
    HANDED_OVER = "handed_over"


# Who has been told about a complaint as a manager: they may claim, reroute, answer it.
ALERT_KINDS = (EventKind.ESCALATED, EventKind.NO_HANDLER)


def lifecycle_of(complaint: Complaint) -> Lifecycle:
    return Lifecycle(
        state=State(complaint.status),
        owner_id=complaint.owner_id,
        handler_id=complaint.handler_id,
        claimed_by=complaint.claimed_by,
        department=complaint.department.value if complaint.department else None,
        handler_unit_id=complaint.handler_unit_id,
        deadline=complaint.deadline,
        escalation_level=complaint.escalation_level,
        next_escalation_at=complaint.next_escalation_at,
        reopened=complaint.reopened,
    )


def _write_lifecycle(complaint: Complaint, lifecycle: Lifecycle) -> None:
    complaint.status = lifecycle.state
    complaint.owner_id = lifecycle.owner_id
    complaint.handler_id = lifecycle.handler_id
    complaint.claimed_by = lifecycle.claimed_by
    complaint.department = Department(lifecycle.department) if lifecycle.department else None
    complaint.handler_unit_id = lifecycle.handler_unit_id
    complaint.deadline = lifecycle.deadline
    complaint.escalation_level = lifecycle.escalation_level
    complaint.next_escalation_at = lifecycle.next_escalation_at
    complaint.reopened = lifecycle.reopened


async def create_complaint(
    *, session: AsyncSession, complaint: Complaint, lifecycle: Lifecycle
) -> Complaint:
    """Store a new complaint (a draft) with its lifecycle fields."""
    _write_lifecycle(complaint, lifecycle)
    session.add(complaint)
    await session.flush()
    return complaint


async def save_transition(
    *,
    session: AsyncSession,
    complaint: Complaint,
    transition: Transition,
    now: datetime,
    actor_id: int | None,
    kind: str,
    detail: str = "",
) -> int:
    """Apply a transition of the lifecycle to the row, with its line of history (whose id
    is returned)."""
    assert complaint.id is not None
    if lifecycle_of(complaint) != transition.before:
        raise ValueError(f"complaint {complaint.id} changed since the transition was computed")
    _write_lifecycle(complaint, transition.after)
    session.add(complaint)
    return await add_complaint_event(
        session=session,
        complaint_id=complaint.id,
        kind=kind,
        now=now,
        actor_id=actor_id,
        detail=detail,
    )


async def hand_over_complaints(
    *, session: AsyncSession, from_staff: int, to_staff: int, now: datetime
) -> int:
    """Open complaints someone handles, owns or claimed pass to another person (someone who
    left, to their manager), in the same state and with the same deadlines; how many."""
    people = (from_staff,)
    statement = select(Complaint).where(
        col(Complaint.status).in_([state.value for state in ACTIVE]),
        or_(
            col(Complaint.handler_id).in_(people),
            col(Complaint.owner_id).in_(people),
            col(Complaint.claimed_by).in_(people),
        ),
    )
    complaints = list((await session.exec(statement)).all())
    for complaint in complaints:
        assert complaint.id is not None
        before = lifecycle_of(complaint)

        def successor(staff_id: int | None) -> int | None:
            return to_staff if staff_id == from_staff else staff_id

        _write_lifecycle(
            complaint,
            replace(
                before,
                handler_id=successor(before.handler_id),
                owner_id=successor(before.owner_id),
                claimed_by=successor(before.claimed_by),
            ),
        )
        session.add(complaint)
        await add_complaint_event(
            session=session,
            complaint_id=complaint.id,
            kind=EventKind.HANDED_OVER,
            now=now,
            actor_id=None,
            detail=f"{from_staff}->{to_staff}",
        )
    return len(complaints)


async def add_complaint_detail(
    *,
    session: AsyncSession,
    complaint_id: int,
    staff_id: int,
    text: str,
    now: datetime,
    kind: DetailKind = DetailKind.DETAILS,
) -> None:
    session.add(
        ComplaintDetail(
            complaint_id=complaint_id, staff_id=staff_id, text=text, added_at=now, kind=kind
        )
    )
    await session.flush()


# States of a complaint that was submitted and not withdrawn: what a repeat links to.
_SUBMITTED = sorted(set(State) - {State.DRAFT, State.WITHDRAWN})


async def find_earlier_complaint(
    *,
    session: AsyncSession,
    complaint_id: int,
    tracking_numbers: Collection[str],
    phones: Collection[str],
    since: datetime,
) -> Complaint | None:
    """The latest submitted complaint since `since` about one of the tracking numbers or
    customer phones (重复投诉), other than `complaint_id`."""
    wanted = [("tracking_numbers", n) for n in tracking_numbers] + [("phones", p) for p in phones]
    if not wanted:
        return None
    statement = (
        select(Complaint)
        .where(col(Complaint.status).in_(_SUBMITTED))
        .where(col(Complaint.created_at) >= since, col(Complaint.id) != complaint_id)
        .where(or_(*(col(getattr(Complaint, column)).contains(value) for column, value in wanted)))
        .order_by(col(Complaint.created_at).desc(), col(Complaint.id).desc())
    )
    for row in (await session.exec(statement)).all():
        # LIKE matched a substring: the column holds comma-separated whole numbers.
        if any(value in getattr(row, column).split(",") for column, value in wanted):
            return row
    return None


async def add_complaint_photo(
    *,
    session: AsyncSession,
    reporter_id: int,
    file_id: str,
    now: datetime,
    complaint_id: int | None = None,
    media_group_id: str | None = None,
) -> None:
    session.add(
        ComplaintPhoto(
            complaint_id=complaint_id,
            reporter_id=reporter_id,
            file_id=file_id,
            media_group_id=media_group_id,
            added_at=now,
        )
    )
    await session.flush()


async def find_album_complaint(
    *, session: AsyncSession, reporter_id: int, media_group_id: str, waiting: bool = False
) -> int | None:
    """The complaint an album's captioned photo made (its other photos join it); with
    ``waiting``, whether photos of the album wait for it (any id, or None)."""
    statement = (
        select(ComplaintPhoto.complaint_id if not waiting else ComplaintPhoto.id)
        .where(ComplaintPhoto.reporter_id == reporter_id)
        .where(ComplaintPhoto.media_group_id == media_group_id)
        .where(
            col(ComplaintPhoto.complaint_id).is_(None)
            if waiting
            else col(ComplaintPhoto.complaint_id).is_not(None)
        )
        .limit(1)
    )
    return (await session.exec(statement)).first()


async def attach_waiting_photos(
    *, session: AsyncSession, reporter_id: int, media_group_id: str, complaint_id: int
) -> None:
    """Photos of the album that arrived before its caption join the complaint."""
    await session.exec(
        update(ComplaintPhoto)
        .where(col(ComplaintPhoto.reporter_id) == reporter_id)
        .where(col(ComplaintPhoto.media_group_id) == media_group_id)
        .where(col(ComplaintPhoto.complaint_id).is_(None))
        .values(complaint_id=complaint_id)
    )


_PHOTOS_OF = (
    select(ComplaintPhoto)
    .where(col(ComplaintPhoto.complaint_id).in_(bindparam("complaint_ids", expanding=True)))
    .order_by(col(ComplaintPhoto.id))
)


async def list_complaint_photos(
    *, session: AsyncSession, complaint_ids: Collection[int]
) -> dict[int, list[str]]:
    """The file ids of each complaint's photos, in the order they were sent."""
    found: dict[int, list[str]] = {}
    wanted = sorted(complaint_ids)
    for start in range(0, len(wanted), _CHUNK):
        params = {"complaint_ids": wanted[start : start + _CHUNK]}
        rows = (await session.exec(_PHOTOS_OF, params=params)).all()
        for row in rows:
            assert row.complaint_id is not None
            found.setdefault(row.complaint_id, []).append(row.file_id)
    return found


_DETAILS_OF = (
    select(ComplaintDetail)
    .where(col(ComplaintDetail.complaint_id).in_(bindparam("complaint_ids", expanding=True)))
    .order_by(col(ComplaintDetail.id))
)


async def list_complaint_details(
    *, session: AsyncSession, complaint_ids: Collection[int]
) -> dict[int, list[ComplaintDetail]]:
    """The details added to each complaint, oldest first."""
    found: dict[int, list[ComplaintDetail]] = {}
    wanted = sorted(complaint_ids)
    for start in range(0, len(wanted), _CHUNK):
        params = {"complaint_ids": wanted[start : start + _CHUNK]}
        for row in (await session.exec(_DETAILS_OF, params=params)).all():
            found.setdefault(row.complaint_id, []).append(row)
    return found


# Statements of every complaint update, built once (see db/inbox.py on statements built per
# call); a line of history is a plain insert, past the ORM's unit of work.
_ADD_EVENT = insert(ComplaintEvent).returning(col(ComplaintEvent.id))
_COMPLAINT = select(Complaint).where(col(Complaint.id) == bindparam("complaint_id"))
_COMPLAINT_LOCKED = _COMPLAINT.with_for_update()


async def add_complaint_event(
    *,
    session: AsyncSession,
    complaint_id: int,
    kind: str,
    now: datetime,
    actor_id: int | None = None,
    detail: str = "",
) -> int:
    """Add a line of history; its id (the outbox keys of what the event sends name it).
    What the session holds is written first (the complaint the line is about)."""
    if session.new or session.dirty or session.deleted:
        await session.flush()
    values = {
        "complaint_id": complaint_id,
        "kind": kind,
        "actor_id": actor_id,
        "detail": detail,
        "at": now,
    }
    return int((await run_prebuilt(session, _ADD_EVENT, values)).scalar_one())


async def get_complaint(
    *, session: AsyncSession, complaint_id: int, for_update: bool = False
) -> Complaint | None:
    statement = _COMPLAINT_LOCKED if for_update else _COMPLAINT
    return (await session.exec(statement, params={"complaint_id": complaint_id})).first()


async def list_complaint_events(
    *, session: AsyncSession, complaint_id: int
) -> Sequence[ComplaintEvent]:
    statement = (
        select(ComplaintEvent)
        .where(ComplaintEvent.complaint_id == complaint_id)
        .order_by(col(ComplaintEvent.id))
    )
    return (await session.exec(statement)).all()


async def list_escalated_staff(*, session: AsyncSession, complaint_id: int) -> list[int]:
    """Everyone who received an escalation alert for the complaint (for closing notices)."""
    events = await list_complaint_events(session=session, complaint_id=complaint_id)
    alerted: list[int] = []
    for event in events:
        if event.kind not in ALERT_KINDS or event.actor_id is None:
            continue
        if event.actor_id not in alerted:
            alerted.append(event.actor_id)
    return alerted


async def claim_due_escalations(
    *, session: AsyncSession, now: datetime, limit: int = 500
) -> Sequence[Complaint]:
    """Complaints whose next escalation (or, answered, closing) is due, locked for this
    instance (on PostgreSQL a second instance skips them; SQLite runs a single instance)."""
    statement = (
        select(Complaint)
        .where(col(Complaint.status).in_(sorted(ACTIVE | AWAITING_REPORTER)))
        .where(col(Complaint.next_escalation_at) <= now)
        .order_by(col(Complaint.next_escalation_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.exec(statement)).all()


async def list_overdue_complaints(
    *, session: AsyncSession, now: datetime, unit_ids: Sequence[int]
) -> Sequence[Complaint]:
    """Unanswered complaints (returned ones too) past their deadline whose site or handler
    is in `unit_ids`, oldest deadline first."""
    statement = (
        select(Complaint)
        .where(col(Complaint.status).in_(sorted(ACTIVE)))
        .where(col(Complaint.deadline) <= now)
        .where(
            or_(
                col(Complaint.site_id).in_(unit_ids),
                col(Complaint.handler_unit_id).in_(unit_ids),
            )
        )
        .order_by(col(Complaint.deadline), col(Complaint.id))
    )
    return (await session.exec(statement)).all()


async def add_labelled_example(
    *, session: AsyncSession, text: str, category: str, staff_id: int | None, now: datetime
) -> None:
    session.add(LabelledExample(text=text, category=category, staff_id=staff_id, created_at=now))
    await session.flush()


async def list_labelled_examples(*, session: AsyncSession) -> Sequence[LabelledExample]:
    return (await session.exec(select(LabelledExample).order_by(col(LabelledExample.id)))).all()


async def place_names(
    *, session: AsyncSession
) -> tuple[Sequence[Unit], Sequence[Segment], Sequence[TransferPoint]]:
    sites = (await session.exec(select(Unit))).all()
    segments = (await session.exec(select(Segment))).all()
    points = (await session.exec(select(TransferPoint))).all()
    return sites, segments, points


async def load_transfer_points(
    *, session: AsyncSession, transfer_point_ids: Collection[int]
) -> dict[int, TransferPoint]:
    """Transfer points by id, in one query (none for an empty set): the names on many
    complaint cards at once (units' and segments' names are in the bot's reference cache)."""
    wanted = sorted(transfer_point_ids)
    found: dict[int, TransferPoint] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        statement = select(TransferPoint).where(col(TransferPoint.id).in_(chunk))
        rows = (await session.exec(statement)).all()
        found.update({row.id: row for row in rows if row.id is not None})
    return found
