"""Assignments (the day's checks), their answers, findings and corrective actions."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Row, Select, String, type_coerce, update
from sqlalchemy import select as columns
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Assignment, AssignmentStatus, CorrectiveAction, Staff, TransferPoint
from db.session import read_in_batches
from db.staff import load_org_units
from scheduler.check_flow import Answers
from scheduler.org import (
    OperatingDays,
    OrgInspector,
    OrgSnapshot,
    OrgTransferPoint,
    Role,
    SiteKind,
)
from scheduler.planner import AssignmentStatus as PlannedStatus
from scheduler.planner import HistoryEntry, PlannedAssignment

UNFINISHED = (AssignmentStatus.PLANNED, AssignmentStatus.IN_PROGRESS)


def encode_ids(ids: Sequence[int]) -> str:
    return ",".join(str(i) for i in ids)


def decode_ids(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part)


def read_answers(assignment: Assignment) -> dict[str, str | int | None]:
    loaded: dict[str, str | int | None] = json.loads(assignment.answers)
    return loaded


def write_answers(assignment: Assignment, answers: Answers) -> None:
    assignment.answers = json.dumps(dict(answers), ensure_ascii=False)


async def load_org_snapshot(
    *, session: AsyncSession, opening: Mapping[SiteKind, OperatingDays] | None = None
) -> OrgSnapshot:
    """The organisation as the planner sees it; ``opening``: sites' default operating days
    per kind (see load_org_units)."""
    units = await load_org_units(session=session, opening=opening)
    # Thousands of points and staff: plain columns in batches, not ORM objects at once.
    points = columns(
        col(TransferPoint.id), col(TransferPoint.name), col(TransferPoint.site_id)
    ).order_by(col(TransferPoint.id))
    # Whoever holds a duty performs checks, whatever their role; inspectors without duties
    # do every check of their unit (organisation files from before duties).
    doers = (
        columns(col(Staff.id), col(Staff.unit_id), col(Staff.duties))
        .where(
            or_(Staff.role == Role.INSPECTOR, col(Staff.duties) != ""),
            col(Staff.left_at).is_(None),
        )
        .order_by(col(Staff.id))
    )
    transfer_points: list[OrgTransferPoint] = []
    async for rows in read_in_batches(session, points):
        transfer_points.extend(
            OrgTransferPoint(id=point_id, name=name, site_id=site_id)
            for point_id, name, site_id in rows
        )
    inspectors: list[OrgInspector] = []
    async for rows in read_in_batches(session, doers):
        inspectors.extend(
            OrgInspector(
                staff_id=staff_id,
                unit_id=unit_id,
                duties=frozenset(duty for duty in duties.split(",") if duty),
            )
            for staff_id, unit_id, duties in rows
        )
    return OrgSnapshot(
        units=tuple(units[key] for key in sorted(units)),
        transfer_points=tuple(transfer_points),
        inspectors=tuple(inspectors),
    )


# By the stored value: the history reads the status column as text (see list_history).
_HISTORY_STATUS = {
    AssignmentStatus.PLANNED.value: PlannedStatus.PLANNED,
    AssignmentStatus.IN_PROGRESS.value: PlannedStatus.PLANNED,
    AssignmentStatus.DONE.value: PlannedStatus.DONE,
    AssignmentStatus.MISSED.value: PlannedStatus.MISSED,
}


def _history_statement(
    since: date,
    before: date,
    unit_ids: Collection[int] | None,
    item_ids: Collection[str] | None,
) -> Select[Any]:
    statement = (
        columns(
            col(Assignment.day),
            col(Assignment.item_id),
            col(Assignment.inspector_id),
            col(Assignment.target_site_id),
            # As stored: SQLAlchemy's Enum conversion per row was a sixth of the read.
            type_coerce(col(Assignment.status), String),
            col(Assignment.transfer_point_ids),
            col(Assignment.unit_id),
        )
        .where(col(Assignment.day) >= since, col(Assignment.day) < before)
        .where(col(Assignment.is_recheck).is_(False))
        .order_by(col(Assignment.day), col(Assignment.id))
    )
    if unit_ids is not None:
        scope = sorted(unit_ids)
        statement = statement.where(
            or_(col(Assignment.unit_id).in_(scope), col(Assignment.target_site_id).in_(scope))
        )
    if item_ids is not None:
        statement = statement.where(col(Assignment.item_id).in_(sorted(item_ids)))
    return statement


def _history_entries(rows: Iterable[Row[Any]]) -> Iterator[HistoryEntry]:
    return (
        HistoryEntry(
            day,
            item_id,
            inspector_id,
            target_site_id,
            _HISTORY_STATUS[status],
            decode_ids(points) if points else (),  # most checks visit no transfer point
            unit_id,
        )
        for day, item_id, inspector_id, target_site_id, status, points, unit_id in rows
    )


async def list_history(
    *,
    session: AsyncSession,
    since: date,
    before: date,
    unit_ids: Collection[int] | None = None,
    item_ids: Collection[str] | None = None,
) -> list[HistoryEntry]:
    """Planned checks (not re-checks) in [since, before), as the planner's history; with
    ``unit_ids``, only the checks of those units or on their sites (a report's scope); with
    ``item_ids``, only those catalog items' checks.

    A province's year is hundreds of thousands of rows: read as plain columns (no ORM
    objects) and streamed in batches, handing the event loop back between them, so other
    people's updates are answered while a report reads."""
    history: list[HistoryEntry] = []
    statement = _history_statement(since, before, unit_ids, item_ids)
    async for rows in read_in_batches(session, statement):
        history.extend(_history_entries(rows))
    return history


def read_history(
    *,
    connection: Connection,
    since: date,
    before: date,
    unit_ids: Collection[int] | None = None,
) -> list[HistoryEntry]:
    """``list_history``, blocking, on a connection of a worker thread
    (``Database.blocking_read``): a region's report reads hundreds of thousands of rows, and
    an async driver builds every one of them on the event loop."""
    rows = connection.execute(_history_statement(since, before, unit_ids, None))
    return list(_history_entries(rows))


async def insert_planned(*, session: AsyncSession, planned: Sequence[PlannedAssignment]) -> None:
    """Store the plan; keys already stored are left alone (planning twice adds nothing)."""
    if not planned:
        return
    assert session.bind is not None
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    rows = [
        {
            "key": p.key,
            "day": p.day,
            "item_id": p.item_id,
            "inspector_id": p.inspector_id,
            "unit_id": p.unit_id,
            "target_site_id": p.target_site_id,
            "transfer_point_ids": encode_ids(p.transfer_point_ids),
            "status": AssignmentStatus.PLANNED,
            "is_recheck": False,
            "answers": "{}",
        }
        for p in planned
    ]
    # Chunks keep each statement under SQLite's bound-parameter limit.
    for start in range(0, len(rows), 500):
        statement = insert(Assignment).values(rows[start : start + 500])
        await session.exec(statement.on_conflict_do_nothing(index_elements=["key"]))


async def list_assignments_on(
    *, session: AsyncSession, day: date, inspector_id: int | None = None
) -> Sequence[Assignment]:
    statement = select(Assignment).where(Assignment.day == day)
    if inspector_id is not None:
        statement = statement.where(Assignment.inspector_id == inspector_id)
    return (await session.exec(statement.order_by(col(Assignment.id)))).all()


async def list_unfinished_chats(*, session: AsyncSession, day: date) -> list[int]:
    """The chats of the inspectors with unfinished assignments of `day` and before."""
    statement = (
        select(Staff.telegram_user_id)
        .join(Assignment, col(Assignment.inspector_id) == col(Staff.id))
        .where(col(Assignment.day) <= day, col(Assignment.status).in_(UNFINISHED))
        .where(col(Staff.telegram_user_id).is_not(None))
        .distinct()
    )
    return [chat for chat in (await session.exec(statement)).all() if chat is not None]


async def list_unfinished_until(*, session: AsyncSession, day: date) -> Sequence[Assignment]:
    """Unfinished assignments of `day` and before (earlier ones if a close was missed)."""
    statement = (
        select(Assignment)
        .where(col(Assignment.day) <= day, col(Assignment.status).in_(UNFINISHED))
        .order_by(col(Assignment.day), col(Assignment.id))
        .with_for_update()
    )
    return (await session.exec(statement)).all()


async def get_assignment(
    *, session: AsyncSession, assignment_id: int, for_update: bool = False
) -> Assignment | None:
    statement = select(Assignment).where(Assignment.id == assignment_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.exec(statement)).first()


async def close_actions_rechecked_by(
    *, session: AsyncSession, assignment: Assignment, now: datetime
) -> None:
    """A re-check found nothing: the corrective actions it re-checked are closed."""
    statement = select(CorrectiveAction).where(
        CorrectiveAction.recheck_assignment_id == assignment.id
    )
    for action in (await session.exec(statement)).all():
        action.closed_at = now
        session.add(action)


async def hand_over_open_checks(
    *, session: AsyncSession, from_staff: int, to_staff: int, since: date
) -> int:
    """Checks not yet done, from ``since`` on, and open corrective actions pass from one
    person to another (someone who left, to their manager); how many checks moved."""
    moved = await session.exec(
        update(Assignment)
        .where(
            col(Assignment.inspector_id) == from_staff,
            col(Assignment.day) >= since,
            col(Assignment.status).in_([AssignmentStatus.PLANNED, AssignmentStatus.IN_PROGRESS]),
        )
        .values(inspector_id=to_staff)
    )
    await session.exec(
        update(CorrectiveAction)
        .where(
            col(CorrectiveAction.owner_id) == from_staff, col(CorrectiveAction.closed_at).is_(None)
        )
        .values(owner_id=to_staff)
    )
    return int(moved.rowcount)
