"""What happened in the database: counts for the demo's summary and the health command."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.complaints import EventKind
from db.models import (
    Assignment,
    AssignmentStatus,
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
    CorrectiveAction,
    Finding,
    JobRun,
    OutboxMessage,
)

# The job_run row whose time is the last run of the scheduled work (any instance).
HEARTBEAT_KEY = "heartbeat"


@dataclass(frozen=True)
class Activity:
    checks_planned: int
    checks_done: int
    checks_missed: int
    findings: int
    corrective_actions: int
    complaints: int
    complaints_answered: int
    escalations: int  # levels reached, over all complaints
    outbox_sent: int


async def _count(session: AsyncSession, statement: object) -> int:
    return int((await session.exec(statement)).one())  # type: ignore[call-overload]


async def count_activity(*, session: AsyncSession) -> Activity:
    """Totals over the whole database (the demo's is a fresh one)."""

    def assignments(status: AssignmentStatus | None = None) -> object:
        statement = select(func.count()).select_from(Assignment)
        return statement if status is None else statement.where(Assignment.status == status)

    answered = select(func.count()).select_from(Complaint)
    escalated = (
        select(func.count())
        .select_from(ComplaintEvent)
        .where(ComplaintEvent.kind == EventKind.ESCALATED)
    )
    sent = select(func.count()).select_from(OutboxMessage)
    return Activity(
        checks_planned=await _count(session, assignments()),
        checks_done=await _count(session, assignments(AssignmentStatus.DONE)),
        checks_missed=await _count(session, assignments(AssignmentStatus.MISSED)),
        findings=await _count(session, select(func.count()).select_from(Finding)),
        corrective_actions=await _count(
            session, select(func.count()).select_from(CorrectiveAction)
        ),
        complaints=await _count(session, select(func.count()).select_from(Complaint)),
        complaints_answered=await _count(
            session,
            answered.where(
                col(Complaint.status).in_([ComplaintStatus.ANSWERED, ComplaintStatus.CLOSED])
            ),
        ),
        escalations=await _count(session, escalated),
        outbox_sent=await _count(session, sent.where(col(OutboxMessage.sent_at).is_not(None))),
    )


@dataclass(frozen=True)
class OutboxBacklog:
    """Messages waiting to be sent, and since when the oldest waits."""

    pending: int
    oldest_created_at: datetime | None
    failed: int


async def outbox_backlog(*, session: AsyncSession) -> OutboxBacklog:
    unsent = (
        select(func.count(), func.min(OutboxMessage.created_at))
        .select_from(OutboxMessage)
        .where(col(OutboxMessage.sent_at).is_(None), col(OutboxMessage.failed_at).is_(None))
    )
    pending, oldest = (await session.exec(unsent)).one()
    failed = select(func.count()).select_from(OutboxMessage)
    return OutboxBacklog(
        pending=int(pending),
        oldest_created_at=oldest,
        failed=await _count(session, failed.where(col(OutboxMessage.failed_at).is_not(None))),
    )


async def record_heartbeat(*, session: AsyncSession, now: datetime) -> None:
    """Note that the scheduled work ran now (one row, updated in place)."""
    assert session.bind is not None
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(JobRun)
        .values(key=HEARTBEAT_KEY, started_at=now)
        .on_conflict_do_update(index_elements=["key"], set_={"started_at": now})
    )
    await session.exec(statement)


async def last_heartbeat(*, session: AsyncSession) -> datetime | None:
    row = await session.get(JobRun, HEARTBEAT_KEY)
    return row.started_at if row else None
