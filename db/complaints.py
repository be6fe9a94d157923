"""Complaints, their history and the examples reporters labelled."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import (
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
    LabelledExample,
    Segment,
    TransferPoint,
    Unit,
)

# Ids per IN list: under every database's limit on parameters.
_CHUNK = 5000

_Place = TypeVar("_Place", Unit, Segment, TransferPoint)


class EventKind:
    CREATED = "created"
    ROUTED = "routed"
    REROUTED = "rerouted"
    RETURNED = "returned"
    ESCALATED = "escalated"
    CLAIMED = "claimed"
    ANSWERED = "answered"
    CANCELLED = "cancelled"


async def add_complaint_event(
    *,
    session: AsyncSession,
    complaint_id: int,
    kind: str,
    now: datetime,
    actor_id: int | None = None,
    detail: str = "",
) -> None:
    session.add(
        ComplaintEvent(
            complaint_id=complaint_id, kind=kind, actor_id=actor_id, detail=detail, at=now
        )
    )
    await session.flush()


async def get_complaint(
    *, session: AsyncSession, complaint_id: int, for_update: bool = False
) -> Complaint | None:
    statement = select(Complaint).where(Complaint.id == complaint_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.exec(statement)).first()


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
        if event.kind != EventKind.ESCALATED or event.actor_id is None:
            continue
        if event.actor_id not in alerted:
            alerted.append(event.actor_id)
    return alerted


async def claim_due_escalations(
    *, session: AsyncSession, now: datetime, limit: int = 500
) -> Sequence[Complaint]:
    """Open complaints whose next escalation is due, locked for this instance (on PostgreSQL
    a second instance skips them; SQLite runs a single instance)."""
    statement = (
        select(Complaint)
        .where(Complaint.status == ComplaintStatus.OPEN)
        .where(col(Complaint.next_escalation_at) <= now)
        .order_by(col(Complaint.next_escalation_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.exec(statement)).all()


async def list_overdue_complaints(
    *, session: AsyncSession, now: datetime, unit_ids: Sequence[int]
) -> Sequence[Complaint]:
    """Open complaints past their deadline whose site or handler is in `unit_ids`, oldest
    deadline first."""
    statement = (
        select(Complaint)
        .where(Complaint.status == ComplaintStatus.OPEN)
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


@dataclass(frozen=True)
class Places:
    units: dict[int, Unit]
    segments: dict[int, Segment]
    transfer_points: dict[int, TransferPoint]


async def _by_id(
    session: AsyncSession, model: type[_Place], ids: Collection[int]
) -> dict[int, _Place]:
    wanted = sorted(ids)
    found: dict[int, _Place] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        rows = (await session.exec(select(model).where(col(model.id).in_(chunk)))).all()
        found.update({row.id: row for row in rows if row.id is not None})
    return found


async def load_places(
    *,
    session: AsyncSession,
    unit_ids: Collection[int],
    segment_ids: Collection[int],
    transfer_point_ids: Collection[int],
) -> Places:
    """Units, segments and transfer points by id, a query each (none for an empty set):
    the names on many complaint cards at once."""
    return Places(
        units=await _by_id(session, Unit, unit_ids) if unit_ids else {},
        segments=await _by_id(session, Segment, segment_ids) if segment_ids else {},
        transfer_points=(
            await _by_id(session, TransferPoint, transfer_point_ids) if transfer_point_ids else {}
        ),
    )
