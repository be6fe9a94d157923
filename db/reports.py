"""What the monthly report and the managers' views read: a scope's checks, findings,
corrective actions and complaints of a month, and today's checks.

A scope is a set of unit ids (a unit and the units below it). What belongs to a scope:

* checks: the inspecting unit (``Assignment.unit_id``, the inspector's unit) is in the scope;
  re-checks (复查) are not catalog checks and are left out of the tallies;
* findings and corrective actions: the site where the problem was found is in the scope;
* complaints: where it happened is in the scope: its site, or the reporter's unit when no
  site was recognised. Drafts and cancelled reports are not complaints and are left out.

Month boundaries are local midnights (``tz``). Response times are working hours between the
routing of the complaint (when the handler got it) and the answer, by the business calendar.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Protocol

from sqlalchemy import func
from sqlmodel import and_, col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import (
    Assignment,
    AssignmentStatus,
    Complaint,
    ComplaintStatus,
    CorrectiveAction,
    Finding,
    JobRun,
    Staff,
    Unit,
)
from scheduler import monthly_report as report
from scheduler.catalog import Catalog
from scheduler.finding_categories import (
    finding_category,
    is_equipment_finding,
    mentions_broken_equipment,
)
from scheduler.monthly_report import ReportMonth

_HOUR = timedelta(hours=1)
# Every complaint that was submitted (drafts and withdrawn ones never were handled).
_COMPLAINTS = sorted(set(ComplaintStatus) - {ComplaintStatus.DRAFT, ComplaintStatus.WITHDRAWN})


class WorkingTime(Protocol):
    def working_time_between(self, start: datetime, end: datetime) -> timedelta: ...


@dataclass(frozen=True)
class CheckCount:
    item_id: str
    status: AssignmentStatus
    count: int


def month_bounds(month: ReportMonth, tz: tzinfo) -> tuple[datetime, datetime]:
    """[first local midnight of the month, first local midnight of the next month)."""
    start = datetime.combine(month.first_day, time(), tz)
    return start, datetime.combine(month.next().first_day, time(), tz)


def _local_date(instant: datetime, tz: tzinfo) -> date:
    return instant.astimezone(tz).date()


async def get_unit_by_code(*, session: AsyncSession, code: str) -> Unit | None:
    return (await session.exec(select(Unit).where(Unit.code == code))).first()


async def count_checks(
    *, session: AsyncSession, unit_ids: Collection[int], first_day: date, last_day: date
) -> list[CheckCount]:
    """Catalog checks (not re-checks) of the scope's inspectors per item and status."""
    statement = (
        select(Assignment.item_id, Assignment.status, func.count())
        .where(col(Assignment.unit_id).in_(unit_ids))
        .where(col(Assignment.day) >= first_day, col(Assignment.day) <= last_day)
        .where(col(Assignment.is_recheck).is_(False))
        .group_by(col(Assignment.item_id), col(Assignment.status))
    )
    rows = (await session.exec(statement)).all()
    return [CheckCount(item, AssignmentStatus(status), int(n)) for item, status, n in rows]


async def list_units_with_checks(
    *, session: AsyncSession, first_day: date, last_day: date
) -> set[int]:
    """Inspecting units that had catalog checks planned between the two days."""
    statement = (
        select(Assignment.unit_id)
        .where(col(Assignment.day) >= first_day, col(Assignment.day) <= last_day)
        .where(col(Assignment.is_recheck).is_(False))
        .distinct()
    )
    return set((await session.exec(statement)).all())


async def list_month_findings(
    *,
    session: AsyncSession,
    site_ids: Collection[int],
    month: ReportMonth,
    tz: tzinfo,
    catalog: Catalog,
    unit_names: dict[int, str],
) -> list[report.Finding]:
    """Findings of the month at the scope's sites, each with its category."""
    start, end = month_bounds(month, tz)
    statement = (
        select(Finding)
        .where(col(Finding.site_id).in_(site_ids))
        .where(col(Finding.created_at) >= start, col(Finding.created_at) < end)
        .order_by(col(Finding.created_at), col(Finding.id))
    )
    items = {item.id: item for item in catalog}
    found: list[report.Finding] = []
    for finding in (await session.exec(statement)).all():
        item = items.get(finding.item_id)
        found.append(
            report.Finding(
                item_id=finding.item_id,
                item_title=item.title if item else finding.item_id,
                site=unit_names.get(finding.site_id or 0, ""),
                found_on=_local_date(finding.created_at, tz),
                category=finding_category(item, finding.item_id, finding.question_id.split(",")),
                hardware=is_equipment_finding(finding.item_id, finding.question_id.split(",")),
            )
        )
    return found


async def list_month_actions(
    *, session: AsyncSession, site_ids: Collection[int], month: ReportMonth, tz: tzinfo
) -> list[report.CorrectiveAction]:
    """Corrective actions at the scope's sites that the month can see: opened before its
    end and not closed before its start."""
    start, end = month_bounds(month, tz)
    statement = (
        select(CorrectiveAction, Finding)
        .join(Finding, col(Finding.id) == col(CorrectiveAction.finding_id))
        .where(col(Finding.site_id).in_(site_ids))
        .where(col(Finding.created_at) < end)
        .where(
            or_(col(CorrectiveAction.closed_at).is_(None), col(CorrectiveAction.closed_at) >= start)
        )
        .order_by(col(CorrectiveAction.id))
    )
    return [
        report.CorrectiveAction(
            opened_on=_local_date(finding.created_at, tz),
            deadline=_local_date(action.deadline, tz),
            closed_on=_local_date(action.closed_at, tz) if action.closed_at else None,
        )
        for action, finding in (await session.exec(statement)).all()
    ]


async def list_month_complaints(
    *,
    session: AsyncSession,
    unit_ids: Collection[int],
    month: ReportMonth,
    tz: tzinfo,
    calendar: WorkingTime,
) -> list[report.Complaint]:
    """Complaints created in the month where the scope is; response time in working hours."""
    start, end = month_bounds(month, tz)
    statement = (
        select(Complaint)
        .join(Staff, col(Staff.id) == col(Complaint.reporter_id))
        .where(col(Complaint.status).in_(_COMPLAINTS))
        .where(col(Complaint.created_at) >= start, col(Complaint.created_at) < end)
        .where(
            or_(
                col(Complaint.site_id).in_(unit_ids),
                and_(col(Complaint.site_id).is_(None), col(Staff.unit_id).in_(unit_ids)),
            )
        )
        .order_by(col(Complaint.created_at), col(Complaint.id))
    )
    complaints: list[report.Complaint] = []
    for row in (await session.exec(statement)).all():
        hours = None
        if row.answered_at is not None:
            worked = calendar.working_time_between(row.routed_at or row.created_at, row.answered_at)
            hours = worked / _HOUR
        category = row.category if row.category in report.CATEGORIES else "other"
        complaints.append(
            report.Complaint(
                category=category,
                created_at=row.created_at,
                answered_at=row.answered_at,
                response_hours=hours,
                escalation_level=row.escalation_level,
                hardware=mentions_broken_equipment(row.text),
                repeat=row.repeat_of_id is not None or row.reopened > 0,
                # Dissatisfied once counts even when a later answer satisfied them.
                satisfied=(
                    False
                    if row.reopened or row.satisfaction == "dissatisfied"
                    else True
                    if row.satisfaction == "satisfied"
                    else None
                ),
                justified=row.justified,
            )
        )
    return complaints


async def unit_volumes(*, session: AsyncSession, unit_ids: Collection[int]) -> dict[int, int]:
    """The monthly volume (items handled) of those of the units that have one."""
    wanted = sorted(set(unit_ids))
    statement = select(Unit.id, Unit.volume).where(
        col(Unit.id).in_(wanted), col(Unit.volume).is_not(None)
    )
    return {
        unit_id: volume
        for unit_id, volume in (await session.exec(statement)).all()
        if unit_id and volume
    }


async def list_checks_on(
    *, session: AsyncSession, unit_ids: Collection[int], day: date
) -> Sequence[tuple[Assignment, Staff]]:
    """The day's assignments (re-checks included) of the scope's inspectors, with them."""
    statement = (
        select(Assignment, Staff)
        .join(Staff, col(Staff.id) == col(Assignment.inspector_id))
        .where(Assignment.day == day)
        .where(col(Assignment.unit_id).in_(unit_ids))
        .order_by(col(Staff.unit_id), col(Staff.code), col(Assignment.id))
    )
    return (await session.exec(statement)).all()


async def list_job_keys(*, session: AsyncSession, prefix: str) -> set[str]:
    """Once-only work already claimed whose key starts with ``prefix``."""
    statement = select(JobRun.key).where(col(JobRun.key).startswith(prefix, autoescape=True))
    return set((await session.exec(statement)).all())
