"""Assignments (the day's checks), their answers, findings and corrective actions."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Row, Select, String, bindparam, type_coerce, update
from sqlalchemy import select as columns
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Assignment, AssignmentStatus, CorrectiveAction, Staff, TransferPoint
from db.session import read_in_batches, run_prebuilt
from db.staff import load_org_units, read_org_units
from scheduler.check_flow import Answers
from scheduler.org import (
    OperatingDays,
    OrgInspector,
    OrgSnapshot,
    OrgTransferPoint,
    OrgUnit,
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


# A check's steps change one row they hold: plain statements built once, past the ORM's unit
# of work (see db/inbox.py); the held row takes the values as stored. Bound names differ from
# the columns: an UPDATE keeps those for the values it sets.
_THIS_ASSIGNMENT = col(Assignment.id) == bindparam("assignment_id")
_SAVE_ANSWERS = update(Assignment).where(_THIS_ASSIGNMENT).values(answers=bindparam("new_answers"))
_START = (
    update(Assignment)
    .where(_THIS_ASSIGNMENT)
    .values(status=bindparam("new_status"), started_at=bindparam("new_started_at"))
)


async def save_answers(*, session: AsyncSession, assignment: Assignment, answers: Answers) -> None:
    stored = json.dumps(dict(answers), ensure_ascii=False)
    values = {"assignment_id": assignment.id, "new_answers": stored}
    await run_prebuilt(session, _SAVE_ANSWERS, values)
    set_committed_value(assignment, "answers", stored)


async def start_assignment(*, session: AsyncSession, assignment: Assignment, now: datetime) -> None:
    """A planned check is begun (in progress since ``now``)."""
    status = AssignmentStatus.IN_PROGRESS
    values = {"assignment_id": assignment.id, "new_status": status, "new_started_at": now}
    await run_prebuilt(session, _START, values)
    set_committed_value(assignment, "status", status)
    set_committed_value(assignment, "started_at", now)


# Thousands of points and staff: plain columns, not ORM objects.
_POINT_COLUMNS = columns(
    col(TransferPoint.id), col(TransferPoint.name), col(TransferPoint.site_id)
).order_by(col(TransferPoint.id))
# Whoever holds a duty performs checks, whatever their role; inspectors without duties do
# every check of their unit (organisation files from before duties).
_DOER_COLUMNS = (
    columns(col(Staff.id), col(Staff.unit_id), col(Staff.duties))
    .where(
        or_(Staff.role == Role.INSPECTOR, col(Staff.duties) != ""),
        col(Staff.left_at).is_(None),
    )
    .order_by(col(Staff.id))
)


def _points(rows: Iterable[Row[Any]]) -> Iterator[OrgTransferPoint]:
    return (
        OrgTransferPoint(id=point_id, name=name, site_id=site_id)
        for point_id, name, site_id in rows
    )


def _doers(rows: Iterable[Row[Any]]) -> Iterator[OrgInspector]:
    return (
        OrgInspector(
            staff_id=staff_id,
            unit_id=unit_id,
            duties=frozenset(duty for duty in duties.split(",") if duty),
        )
        for staff_id, unit_id, duties in rows
    )


def _snapshot(
    units: Mapping[int, OrgUnit],
    transfer_points: Iterable[OrgTransferPoint],
    inspectors: Iterable[OrgInspector],
) -> OrgSnapshot:
    return OrgSnapshot(
        units=tuple(units[key] for key in sorted(units)),
        transfer_points=tuple(transfer_points),
        inspectors=tuple(inspectors),
    )


async def load_org_snapshot(
    *, session: AsyncSession, opening: Mapping[SiteKind, OperatingDays] | None = None
) -> OrgSnapshot:
    """The organisation as the planner sees it; ``opening``: sites' default operating days
    per kind (see load_org_units)."""
    units = await load_org_units(session=session, opening=opening)
    transfer_points: list[OrgTransferPoint] = []
    async for rows in read_in_batches(session, _POINT_COLUMNS):
        transfer_points.extend(_points(rows))
    inspectors: list[OrgInspector] = []
    async for rows in read_in_batches(session, _DOER_COLUMNS):
        inspectors.extend(_doers(rows))
    return _snapshot(units, transfer_points, inspectors)


def read_org_snapshot(
    *, connection: Connection, opening: Mapping[SiteKind, OperatingDays] | None = None
) -> OrgSnapshot:
    """``load_org_snapshot``, blocking, on a connection of a worker thread
    (``Database.blocking_read``): for the morning's planning, which runs there."""
    return _snapshot(
        read_org_units(connection=connection, opening=opening),
        _points(connection.execute(_POINT_COLUMNS)),
        _doers(connection.execute(_DOER_COLUMNS)),
    )


# By the stored value: the history reads the status column as text (see read_history).
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


def read_history(
    *,
    connection: Connection,
    since: date,
    before: date,
    unit_ids: Collection[int] | None = None,
    item_ids: Collection[str] | None = None,
) -> list[HistoryEntry]:
    """Planned checks (not re-checks) in [since, before), as the planner's history; with
    ``unit_ids``, only the checks of those units or on their sites (a report's scope); with
    ``item_ids``, only those catalog items' checks.

    Blocking, on a connection of a worker thread (``Database.blocking_read``): a province's
    year is hundreds of thousands of rows, and an async driver builds every one of them on
    the event loop (a region's report, the morning's plan)."""
    rows = connection.execute(_history_statement(since, before, unit_ids, item_ids))
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
    statement = insert(Assignment).on_conflict_do_nothing(index_elements=["key"])
    # One statement, its parameters a batch at a time: processing them is the event loop's
    # work (a province's day: 7,500 rows), handed back between batches.
    for start in range(0, len(rows), PLANNED_BATCH):
        await session.exec(statement, params=rows[start : start + PLANNED_BATCH])


PLANNED_BATCH = 1000


async def list_assignments_on(
    *, session: AsyncSession, day: date, inspector_id: int
) -> Sequence[Assignment]:
    """One inspector's checks of ``day``."""
    statement = select(Assignment).where(
        Assignment.day == day, Assignment.inspector_id == inspector_id
    )
    return (await session.exec(statement.order_by(col(Assignment.id)))).all()


async def list_day_assignments(*, session: AsyncSession, day: date) -> list[Assignment]:
    """Everyone's checks of ``day``: a province's are 7,500 ORM objects, built in batches,
    handing the event loop back between them (all at once held it a tenth of a second)."""
    statement = select(Assignment).where(Assignment.day == day).order_by(col(Assignment.id))
    assignments: list[Assignment] = []
    async for rows in read_in_batches(session, statement, DAY_BATCH):
        assignments.extend(assignment for (assignment,) in rows)
    return assignments


DAY_BATCH = 500


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


# Every check's update reads its assignment: built once (see db/inbox.py).
_ASSIGNMENT = select(Assignment).where(col(Assignment.id) == bindparam("assignment_id"))
_ASSIGNMENT_LOCKED = _ASSIGNMENT.with_for_update()


async def get_assignment(
    *, session: AsyncSession, assignment_id: int, for_update: bool = False
) -> Assignment | None:
    statement = _ASSIGNMENT_LOCKED if for_update else _ASSIGNMENT
    return (await session.exec(statement, params={"assignment_id": assignment_id})).first()


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
