"""Report use cases: a unit's monthly inspection report (检查报告书), a month's figures, today's
check progress in a manager's scope, and the automatic monthly send to the level above.

Scopes: managers and admins see their own unit and every unit below it; anyone else (an
inspector) only their own unit. What a scope holds is described in db/reports.py.

Checks in the report, per catalog item of the scope:

* required: what the catalog requires in the month (``evaluate_period``): the frequency
  requirement summed over the scope's inspecting units; for coverage items (spot checks over
  sites) the number of site visits the quotas need (the largest of urban + rural percentages,
  the minimum number of sites, the counties). A period that does not end in the month (a week
  running into the next month) belongs to the next month, as in the planner.
* done / missed: the scope's assignments of the month with that status. The remainder of a
  month still running is "not yet due".
* coverage quotas: every other requirement ``evaluate_period`` reports for the scope, met or not.

Automatic send (第十条 4, 第十五条 6: "在次月10日前"): on the first working day of the next
month, from the morning push time on (or as soon as the bot is back, if it was down), the
report of every county and city unit goes to the managers of the nearest unit above that has
managers; the region's report goes to the region's own managers, who file it themselves (there
is no level above). Sites send nothing: their figures are in their county's report. A unit
whose scope had no checks planned in the month (e.g. before the bot was introduced) has no
inspection report to file and sends nothing. Each unit's report goes out once per month: a
``job_run`` key claims it and the outbox keys name unit, month and recipient, so a second tick,
a restart or a second instance sends nothing again. A report or 通报 that reaches nobody
(nobody holds the receiving post, or its holders have not registered) is told to the admins
over the unit, once, with the same claim.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from enum import Enum
from functools import cache
from typing import Final

from sqlalchemy import Connection
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.heap import free_in_slices, freeze_lasting, pausing_collections
from bot.services import Services
from bot.usecases.coverage import list_gaps
from bot.usecases.messages import enqueue_message
from bot.views import texts
from bot.views.cards import CityCoverage, InspectorProgress, MonthFigures, Progress
from db.checks import load_org_snapshot, read_history, read_org_snapshot
from db.highlights import count_highlights
from db.jobs import claim_job
from db.models import AssignmentStatus, Staff, Unit
from db.reports import (
    CheckCount,
    count_checks,
    get_unit_by_code,
    list_checks_on,
    list_job_keys,
    list_month_actions,
    list_month_complaints,
    list_month_findings,
    list_units_with_checks,
    unit_volumes,
)
from db.staff import (
    first_org_import_at,
    get_staff,
    get_unit,
    list_staff_posts,
    load_org_units,
    reachable_holders,
)
from scheduler.bulletin import Bulletin, UnitMonth, build_bulletin
from scheduler.catalog import Catalog, CatalogItem, Span
from scheduler.complaints import StaffPost, escalation_chain, units_within
from scheduler.monthly_report import (
    CheckTally,
    CorrectiveAction,
    MonthlyReport,
    QuotaResult,
    ReportMonth,
    ReportUnit,
    UncoveredCheck,
    build_monthly_report,
    report_due,
    report_send_day,
)
from scheduler.org import Level, OrgSnapshot, OrgUnit, Role
from scheduler.planner import (
    HistoryEntry,
    Period,
    QuotaStatus,
    Requirement,
    evaluate_period,
    evaluation_start,
    period_containing,
)

logger = logging.getLogger(__name__)

# Units whose report goes up automatically (sites' figures are in their county's report).
REPORTING_LEVELS: Final = (Level.COUNTY, Level.CITY, Level.REGION)
SCOPE_ROLES: Final = (Role.MANAGER, Role.ADMIN)
_COVERAGE_VISITS: Final = (
    Requirement.URBAN_PERCENT,
    Requirement.RURAL_PERCENT,
    Requirement.MIN_SITES,
    Requirement.COUNTIES_PERCENT,
)
_MONTH_PATTERNS: Final = (
    re.compile(r"^(\d{4})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月?$"),
    re.compile(r"^(\d{4})(\d{2})$"),
)


class Refusal(Enum):
    UNKNOWN_UNIT = "unknown_unit"
    OUT_OF_SCOPE = "out_of_scope"
    FUTURE_MONTH = "future_month"
    BEFORE_GO_LIVE = "before_go_live"  # before the year the organisation was first imported


@dataclass(frozen=True)
class ReportFiles:
    figures: MonthFigures
    xlsx: bytes
    chart: bytes

    @property
    def filename(self) -> str:
        report = self.figures.report
        return texts.report_filename(report.unit.name, report.month.year, report.month.month)


def parse_month(text: str) -> ReportMonth | None:
    """ "2026-10", "2026-1", "2026/10", "2026年10月", "202610" → the month; None otherwise."""
    for pattern in _MONTH_PATTERNS:
        match = pattern.match(text.strip())
        if match:
            try:
                return ReportMonth(int(match[1]), int(match[2]))
            except ValueError:
                return None
    return None


def month_key(month: ReportMonth) -> str:
    return f"{month.year}-{month.month:02d}"


# --- computing a report ---------------------------------------------------------------------


def check_tallies(
    catalog: Catalog,
    statuses: Sequence[QuotaStatus],
    counts: Sequence[CheckCount],
    scope: Collection[int],
) -> list[CheckTally]:
    """Per catalog item: required by the catalog, done and missed in the scope (see above)."""
    done: Counter[str] = Counter()
    missed: Counter[str] = Counter()
    for count in counts:
        if count.status is AssignmentStatus.DONE:
            done[count.item_id] += count.count
        elif count.status is AssignmentStatus.MISSED:
            missed[count.item_id] += count.count
    ours = [s for s in statuses if s.unit_id in scope and not s.uncovered]
    tallies: list[CheckTally] = []
    for item in catalog:
        required = _required(item, [s for s in ours if s.item_id == item.id])
        if required or done[item.id] or missed[item.id]:
            tallies.append(
                CheckTally(
                    item_id=item.id,
                    title=item.title,
                    clause=item.clause,
                    required=required,
                    done=done[item.id],
                    missed=missed[item.id],
                    group=texts.SITE_KIND_LABELS[item.site_kind],
                )
            )
    # Checks of an item since removed from the catalog still happened: shown, nothing required.
    known = {item.id for item in catalog}
    for item_id in sorted((set(done) | set(missed)) - known):
        tallies.append(CheckTally(item_id, item_id, "", 0, done[item_id], missed[item_id]))
    return tallies


def _required(item: CatalogItem, statuses: Sequence[QuotaStatus]) -> int:
    frequency = [s for s in statuses if s.requirement is Requirement.FREQUENCY]
    if frequency or item.coverage is None:
        return sum(s.required for s in frequency)
    # Per unit, and per city for a per-city item (each city its own quotas).
    per_unit: dict[tuple[int, int | None], dict[Requirement, int]] = defaultdict(dict)
    for status in statuses:
        if status.requirement in _COVERAGE_VISITS:
            per_unit[status.unit_id, status.city_id][status.requirement] = status.required
    return sum(
        max(
            needs.get(Requirement.URBAN_PERCENT, 0) + needs.get(Requirement.RURAL_PERCENT, 0),
            needs.get(Requirement.MIN_SITES, 0),
            needs.get(Requirement.COUNTIES_PERCENT, 0),
        )
        for needs in per_unit.values()
    )


def quota_results(
    catalog: Catalog,
    statuses: Sequence[QuotaStatus],
    scope: Collection[int],
    units: Mapping[int, OrgUnit],
) -> list[QuotaResult]:
    """Every requirement other than the frequency, for the scope's units, as report rows;
    a per-city item's rows name the city, its frequency too (each city's checks)."""
    items = {item.id: item for item in catalog}
    results: list[QuotaResult] = []
    for status in statuses:
        if status.unit_id not in scope:
            continue
        if status.requirement is Requirement.FREQUENCY and status.city_id is None:
            continue
        if status.uncovered:
            continue  # listed with the checks nobody holds the duty for
        if not status.required and not status.base:
            continue  # nothing was required (e.g. no checks to count transfer points of)
        item = items[status.item_id]
        named = status.unit_id if status.city_id is None else status.city_id
        unit = units[named].name if named in units else ""
        percent = status.percent if status.base else None
        results.append(
            QuotaResult(
                title=item.title,
                clause=item.clause,
                label=texts.report_quota_label(
                    unit, status.requirement.value, item.site_kind, item.area
                ),
                checked=status.done,
                total=status.base if percent is not None and status.base else status.required,
                met=status.met,
                threshold_percent=percent,
                minimum=None if percent is not None else status.required,
            )
        )
    return results


def uncovered_checks(
    catalog: Catalog,
    statuses: Sequence[QuotaStatus],
    scope: Collection[int],
    units: Mapping[int, OrgUnit],
) -> list[UncoveredCheck]:
    """Per unit x item of the scope nobody holds the duty for: what the month required."""
    gaps: dict[tuple[int, str], list[QuotaStatus]] = defaultdict(list)
    for status in statuses:
        if status.uncovered and status.unit_id in scope:
            gaps[status.unit_id, status.item_id].append(status)
    items = {item.id: item for item in catalog}
    rows: list[UncoveredCheck] = []
    for (unit_id, item_id), found in sorted(gaps.items()):
        item = items[item_id]
        rows.append(
            UncoveredCheck(
                unit=units[unit_id].name if unit_id in units else "",
                title=item.title,
                clause=item.clause,
                duty=catalog.duty(item.duty).name if item.duty else "",
                required=_required(item, found),
                quotas=sum(1 for s in found if s.requirement is not Requirement.FREQUENCY),
            )
        )
    return rows


def _as_of(
    actions: Sequence[CorrectiveAction], month: ReportMonth, today: date
) -> list[CorrectiveAction]:
    """A month still running judges deadlines at today, not at its last day: a deadline not
    yet reached moves past the month's end so that it does not count as overdue."""
    if not month.first_day <= today <= month.last_day:
        return list(actions)
    return [
        a if a.deadline < today else replace(a, deadline=max(a.deadline, month.last_day))
        for a in actions
    ]


# Statuses per (month, the unit whose scope they were evaluated for).
Evaluations = dict[tuple[ReportMonth, int], list[QuotaStatus]]


async def _statuses(
    services: Services, org: OrgSnapshot, month: ReportMonth, scope: Collection[int]
) -> list[QuotaStatus]:
    """What the catalog required in the month, and whether it was met; right for the units
    of ``scope`` (only their checks are read). Outside any session: the history is read and
    evaluated in a worker thread on a connection of its own."""
    first, last = month.first_day, month.last_day
    checks_settings = services.settings.checks
    # Only the checks of the periods the month closes (weeks from the month before, or a
    # quarter, half-year, year: evaluation_start), and only the scope's: a county's report
    # reads its own rows, not the province's. An IN list of a whole province's units is no
    # narrower than none.
    since = evaluation_start(
        services.catalog, services.calendar, first, last, go_live=checks_settings.go_live
    )
    unit_ids = scope if len(scope) <= _SCOPE_FILTER_LIMIT else None

    def read(connection: Connection) -> list[HistoryEntry]:
        before = last + timedelta(days=1)
        return read_history(connection=connection, since=since, before=before, unit_ids=unit_ids)

    def evaluate() -> list[QuotaStatus]:
        # A region's history is hundreds of thousands of rows: built here, not on the event
        # loop (db.session.Database.blocking_read), and evaluated here (CPU work).
        history = services.db.blocking_read(read)
        try:
            return evaluate_period(
                services.catalog,
                org,
                services.calendar,
                history,
                first,
                last,
                go_live=checks_settings.go_live,
            )
        finally:
            free_in_slices(history)

    return await asyncio.to_thread(evaluate)


# A region's history and statuses are hundreds of thousands of objects without cycles: the
# collector would walk them again and again while they live (bot/heap.py; 0.08 s collections
# on the loop with only the history hidden from it), and once more when it resumes if they
# were still there then.
@pausing_collections
async def _compute(
    services: Services,
    unit: OrgUnit,
    units: Mapping[int, OrgUnit],
    month: ReportMonth,
    today: date,
    evaluated: Evaluations | None = None,
    evaluate_for: int | None = None,
) -> MonthFigures:
    """The unit's report. ``evaluated`` caches the months' statuses over several units,
    evaluated for the scope of ``evaluate_for`` (a unit above, whose scope holds this one's).

    Its session reads only the month's own rows; the quotas are evaluated after it ended: on
    SQLite a session holds the process's one writer, and every other update would wait for
    the evaluation of a region's history."""
    tz = services.settings.time.tz
    scope = units_within(unit.id, units)
    first, last = month.first_day, month.last_day
    evaluated = {} if evaluated is None else evaluated
    key = (month, unit.id if evaluate_for is None else evaluate_for)
    names = {unit_id: u.name for unit_id, u in units.items()}
    month_start = datetime.combine(first, time(0), tzinfo=tz)
    month_end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz)
    async with services.db.session() as session:
        org = (
            None
            if key in evaluated
            else await load_org_snapshot(
                session=session, opening=services.settings.checks.opening()
            )
        )
        counts = await count_checks(session=session, unit_ids=scope, first_day=first, last_day=last)
        findings = await list_month_findings(
            session=session,
            site_ids=scope,
            month=month,
            tz=tz,
            catalog=services.catalog,
            unit_names=names,
        )
        actions = await list_month_actions(session=session, site_ids=scope, month=month, tz=tz)
        complaints = await list_month_complaints(
            session=session, unit_ids=scope, month=month, tz=tz, calendar=services.calendar
        )
        highlights = await count_highlights(
            session=session, unit_ids=scope, start=month_start, end=month_end
        )
    if org is not None:
        evaluated[key] = await _statuses(services, org, month, units_within(key[1], units))
    statuses = evaluated[key]

    def build() -> MonthlyReport:
        return build_monthly_report(
            ReportUnit(unit.id, unit.name, unit.level),
            month,
            checks=check_tallies(services.catalog, statuses, counts, scope),
            quotas=quota_results(services.catalog, statuses, scope, units),
            findings=findings,
            actions=_as_of(actions, month, today),
            complaints=complaints,
            uncovered=uncovered_checks(services.catalog, statuses, scope, units),
            highlights=sum(highlights.values()),
        )

    # Tallying a province's statuses is CPU work too: off the event loop.
    report = await asyncio.to_thread(build)
    running = first <= today <= last
    return MonthFigures(report, as_of=today if running else None)


_SCOPE_FILTER_LIMIT = 2000


async def _month_refusal(
    services: Services, session: AsyncSession, month: ReportMonth, today: date
) -> Refusal | None:
    """Months from the go-live year (the first organisation import) to the current one."""
    if month > ReportMonth.containing(today):
        return Refusal.FUTURE_MONTH
    went_live = await first_org_import_at(session=session)
    first_year = (went_live.astimezone(services.settings.time.tz) if went_live else today).year
    if month < ReportMonth(first_year, 1):
        return Refusal.BEFORE_GO_LIVE
    return None


# A region's workbook and chart build tens of thousands of short-lived objects: the
# collector would walk them again and again while they are written (bot/heap.py).
@pausing_collections
async def render(figures: MonthFigures) -> ReportFiles:
    """The workbook and the chart, rendered in a worker thread (CPU-bound, ~0.2 s)."""
    xlsx, chart = await asyncio.to_thread(_render_files, figures.report)
    return ReportFiles(figures, xlsx, chart)


def _render_files(report: MonthlyReport) -> tuple[bytes, bytes]:
    render_xlsx, render_chart_png = _renderers()
    return render_xlsx(report), render_chart_png(report)


@cache
def _renderers() -> tuple[Callable[[MonthlyReport], bytes], Callable[[MonthlyReport], bytes]]:
    # Imported here, in the worker thread, not at start-up: matplotlib and openpyxl take
    # about 40 MB and a second to load, and most processes never render a report. Once
    # loaded they stay: frozen like start-up's objects, or every full collection walks them
    # (bot/heap.py).
    from bot.views.report_render import render_chart_png, render_xlsx

    freeze_lasting()
    return render_xlsx, render_chart_png


# --- what a person may ask for --------------------------------------------------------------


async def _unit_by_code(session: AsyncSession, code: str) -> Unit | None:
    """Codes as imported; "tz-d1" finds "TZ-D1" too, since codes are usually upper case."""
    code = code.strip()
    found = await get_unit_by_code(session=session, code=code)
    if found is None and code != code.upper():
        found = await get_unit_by_code(session=session, code=code.upper())
    return found


def _may_see(viewer: Staff, unit_id: int, units: Mapping[int, OrgUnit]) -> bool:
    if viewer.role in SCOPE_ROLES:
        return unit_id in units_within(viewer.unit_id, units)
    return unit_id == viewer.unit_id


async def _figures_for(
    services: Services, viewer: Staff, month: ReportMonth, unit_code: str | None
) -> MonthFigures | Refusal:
    today = services.clock.now().date()
    async with services.db.session() as session:
        if refusal := await _month_refusal(services, session, month, today):
            return refusal
        units = await load_org_units(session=session)
        unit_id = viewer.unit_id
        if unit_code is not None:
            unit = await _unit_by_code(session, unit_code)
            if unit is None or unit.id is None:
                return Refusal.UNKNOWN_UNIT
            unit_id = unit.id
    if not _may_see(viewer, unit_id, units):
        return Refusal.OUT_OF_SCOPE
    return await _compute(services, units[unit_id], units, month, today)


async def month_figures(
    services: Services, viewer: Staff, month: ReportMonth | None = None
) -> MonthFigures | Refusal:
    """/stats: the figures of the viewer's unit for a month (the current one by default)."""
    month = month or ReportMonth.containing(services.clock.now().date())
    return await _figures_for(services, viewer, month, None)


async def report_files(
    services: Services, viewer: Staff, month: ReportMonth, unit_code: str | None = None
) -> ReportFiles | Refusal:
    """/report: the month's report of the viewer's unit (or a unit in their scope), rendered."""
    figures = await _figures_for(services, viewer, month, unit_code)
    if isinstance(figures, Refusal):
        return figures
    return await render(figures)


async def export_report(
    services: Services, unit_code: str, month: ReportMonth
) -> ReportFiles | Refusal:
    """The CLI export: any unit, any month up to the current one."""
    today = services.clock.now().date()
    async with services.db.session() as session:
        if refusal := await _month_refusal(services, session, month, today):
            return refusal
        unit = await _unit_by_code(session, unit_code)
        if unit is None or unit.id is None:
            return Refusal.UNKNOWN_UNIT
        units = await load_org_units(session=session)
    return await render(await _compute(services, units[unit.id], units, month, today))


async def progress_today(services: Services, viewer: Staff) -> Progress:
    """/progress: today's checks of every inspector in the viewer's scope, by status."""
    today = services.clock.now().date()
    async with services.db.session() as session:
        units = await load_org_units(session=session)
        scope = units_within(viewer.unit_id, units)
        rows = await list_checks_on(session=session, unit_ids=scope, day=today)
        gaps = await list_gaps(services.catalog, session=session, scope=scope)
    cities = await _city_coverage(services, scope, units, today)
    by_inspector: dict[int, tuple[Staff, Counter[AssignmentStatus]]] = {}
    for assignment, inspector in rows:
        assert inspector.id is not None
        by_inspector.setdefault(inspector.id, (inspector, Counter()))[1][assignment.status] += 1
    return Progress(
        day=today,
        unit=units[viewer.unit_id].name,
        inspectors=tuple(
            InspectorProgress(
                name=inspector.name,
                unit=units[inspector.unit_id].name,
                planned=tally[AssignmentStatus.PLANNED],
                in_progress=tally[AssignmentStatus.IN_PROGRESS],
                done=tally[AssignmentStatus.DONE],
                missed=tally[AssignmentStatus.MISSED],
            )
            for inspector, tally in by_inspector.values()
        ),
        uncovered_checks=len(gaps),
        uncovered_units=len({gap.unit_id for gap in gaps}),
        cities=cities,
    )


async def _city_coverage(
    services: Services, scope: Collection[int], units: Mapping[int, OrgUnit], today: date
) -> tuple[CityCoverage, ...]:
    """The scope's per-city region items in their current period: which cities are done.
    Outside any session: read and evaluated in a worker thread on a connection of its own,
    as a report's history is (a province's snapshot and the items' checks of a year)."""
    items = [item for item in services.catalog if item.per_city]
    if not items or not any(units[u].level is Level.REGION for u in scope if u in units):
        return ()
    periods: dict[Span, Period] = {}
    for item in items:
        span = item.frequency.span
        assert span is not None  # validated: per-city items have a calendar frequency
        periods[span] = period_containing(span, today)
    checks_settings = services.settings.checks

    def read(connection: Connection) -> tuple[OrgSnapshot, list[HistoryEntry]]:
        org = read_org_snapshot(connection=connection, opening=checks_settings.opening())
        history = read_history(
            connection=connection,
            since=min(period.start for period in periods.values()),
            before=today + timedelta(days=1),
            item_ids=[item.id for item in items],
        )
        return org, history

    def evaluate() -> list[QuotaStatus]:
        org, history = services.db.blocking_read(read)
        found: list[QuotaStatus] = []
        for span, period in periods.items():
            catalog = Catalog(
                tuple(item for item in items if item.frequency.span is span),
                duties=services.catalog.duties,
            )
            found += evaluate_period(
                catalog,
                org,
                services.calendar,
                history,
                period.start,
                period.end,
                go_live=checks_settings.go_live,
            )
        return found

    statuses = await asyncio.to_thread(evaluate)
    met: dict[str, dict[int, bool]] = defaultdict(dict)
    for status in statuses:
        if status.unit_id in scope and status.city_id is not None and not status.uncovered:
            by_city = met[status.item_id]
            by_city[status.city_id] = by_city.get(status.city_id, True) and status.met
    rows: list[CityCoverage] = []
    for item in items:
        done = met.get(item.id)
        if not done:
            continue
        assert item.frequency.span is not None
        rows.append(
            CityCoverage(
                title=item.title,
                span=item.frequency.span,
                covered=sum(done.values()),
                cities=len(done),
                missing=tuple(units[c].name for c, ok in sorted(done.items()) if not ok),
            )
        )
    return tuple(rows)


# --- the automatic monthly send -------------------------------------------------------------


def report_recipients(
    unit: OrgUnit, units: Mapping[int, OrgUnit], managers: Sequence[StaffPost]
) -> list[int]:
    """Managers of the nearest unit above that has managers; the region's own managers for
    the region's report."""
    start = unit.parent_id if unit.parent_id is not None else unit.id
    chain = escalation_chain(start, units, managers)
    return chain[0] if chain else []


def _send_time_reached(services: Services, now: datetime, month: ReportMonth) -> bool:
    today = now.date()
    if not report_due(month, today, services.calendar.is_working_day):
        return False
    if today > report_send_day(month, services.calendar.is_working_day):
        return True
    return now.timetz().replace(tzinfo=None) >= services.settings.time.morning_push


async def send_monthly_reports(services: Services) -> int:
    """Scheduled step: last month's reports to the level above, once per unit; returns how
    many messages were queued."""
    now = services.clock.now()
    today = now.date()
    month = ReportMonth.containing(today).previous()
    if not _send_time_reached(services, now, month):
        return 0
    prefix = f"report:{month_key(month)}:"
    async with services.db.session() as session:
        claimed = await list_job_keys(session=session, prefix=prefix)
        units = await load_org_units(session=session)
        active = await list_units_with_checks(
            session=session, first_day=month.first_day, last_day=month.last_day
        )
        managers = await list_staff_posts(session=session, role=Role.MANAGER)
        admins = await list_staff_posts(session=session, role=Role.ADMIN)
    due = sorted(
        (
            unit
            for unit in units.values()
            if unit.level in REPORTING_LEVELS
            and f"{prefix}{unit.id}" not in claimed
            and units_within(unit.id, units) & active
        ),
        # Counties first, the region last: the order the level above reads them in.
        key=lambda unit: (-list(Level).index(unit.level), unit.id),
    )
    queued = 0
    for unit in due:
        try:
            queued += await _send_one(
                services, unit, units, (managers, admins), month, f"{prefix}{unit.id}"
            )
        except Exception:
            # One unit's failure must not hold back the others; it is retried next tick.
            logger.exception("monthly report of unit %s for %s failed", unit.id, month_key(month))
    return queued


async def _bulletin(
    services: Services,
    unit: OrgUnit,
    ranked: Sequence[OrgUnit],
    units: Mapping[int, OrgUnit],
    month: ReportMonth,
    evaluated: Evaluations,
) -> Bulletin | None:
    """The month's 通报 of the units directly below ``unit``, with last month's change
    (none for a month before go-live)."""
    go_live = services.settings.checks.go_live
    before = month.previous()
    compare = go_live is None or before.last_day >= go_live
    async with services.db.session() as session:
        volumes = await unit_volumes(session=session, unit_ids=[u.id for u in ranked])
    rows: list[UnitMonth] = []
    for child in sorted(ranked, key=lambda u: u.id):
        today = month.last_day + timedelta(days=1)
        this = await _compute(services, child, units, month, today, evaluated, unit.id)
        previous = (
            await _compute(services, child, units, before, today, evaluated, unit.id)
            if compare
            else None
        )
        rows.append(
            UnitMonth(
                this.report, None if previous is None else previous.report, volumes.get(child.id)
            )
        )
    return build_bulletin(unit.name, rows, services.settings.bulletin.weights())


async def _send_one(
    services: Services,
    unit: OrgUnit,
    units: Mapping[int, OrgUnit],
    posts: tuple[Sequence[StaffPost], Sequence[StaffPost]],
    month: ReportMonth,
    job_key: str,
) -> int:
    """One unit's report to the level above and its 通报; what reaches nobody (nobody holds
    the receiving post, or its holders have not registered) is told to the admins."""
    now = services.clock.now()
    managers, admins = posts
    recipient_ids = report_recipients(unit, units, managers)
    # The 通报 ranks the units one level down; it goes with the report, and to them.
    ranked = [u for u in units.values() if u.parent_id == unit.id]
    ranked_ids = {u.id for u in ranked} | {unit.id}
    bulletin_ids = list(
        dict.fromkeys([*recipient_ids, *(m.staff_id for m in managers if m.unit_id in ranked_ids)])
    )
    async with services.db.session() as session:
        recipients = [await get_staff(session=session, staff_id=i) for i in recipient_ids]
        chats = [(r.id, r.telegram_user_id) for r in recipients if r.telegram_user_id]
        readers = [await get_staff(session=session, staff_id=i) for i in bulletin_ids]
        bulletin_chats = [(r.id, r.telegram_user_id) for r in readers if r.telegram_user_id]
    evaluated: Evaluations = {}
    figures = await _compute(services, unit, units, month, now.date(), evaluated) if chats else None
    bulletin = (
        await _bulletin(services, unit, ranked, units, month, evaluated) if bulletin_chats else None
    )
    # Rendering happens outside any transaction: a SQLite write lock is never held meanwhile.
    files = await render(figures) if figures is not None else None
    async with services.db.session() as session:
        if not await claim_job(session=session, key=job_key, now=now):
            return 0  # another instance (or an earlier tick) sent it
        queued = 0
        if not chats or (ranked and not bulletin_chats):
            queued += await _tell_admins_unreceived(
                services,
                session,
                unit,
                units,
                admins,
                month,
                job_key,
                report=None if chats else [r.name for r in recipients],
                bulletin=None if bulletin_chats or not ranked else [r.name for r in readers],
            )
        if bulletin is not None:
            for staff_id, chat_id in bulletin_chats:
                assert chat_id is not None
                queued += await enqueue_message(
                    session=session,
                    key=f"{job_key}:{staff_id}:bulletin",
                    chat_id=chat_id,
                    text=texts.bulletin_text(bulletin),
                    now=now,
                )
        if files is None:
            return queued
        report = files.figures.report
        for staff_id, chat_id in chats:
            assert chat_id is not None
            queued += await enqueue_message(
                session=session,
                key=f"{job_key}:{staff_id}:xlsx",
                chat_id=chat_id,
                text=texts.report_auto_caption(report),
                document=files.xlsx,
                document_name=files.filename,
                now=now,
            )
            queued += await enqueue_message(
                session=session,
                key=f"{job_key}:{staff_id}:chart",
                chat_id=chat_id,
                text=texts.report_chart_caption(report.unit.name, month.year, month.month),
                photo=files.chart,
                now=now,
            )
        return queued


async def _tell_admins_unreceived(
    services: Services,
    session: AsyncSession,
    unit: OrgUnit,
    units: Mapping[int, OrgUnit],
    admins: Sequence[StaffPost],
    month: ReportMonth,
    job_key: str,
    *,
    report: Sequence[str] | None,
    bulletin: Sequence[str] | None,
) -> int:
    """The admins over ``unit`` hear that its report or 通报 reached nobody: None for what
    was delivered, else the names of the receiving post's holders (none: nobody holds it)."""
    now = services.clock.now()
    code = (await get_unit(session=session, unit_id=unit.id)).code
    text = texts.report_unreceived_notice(
        unit.name, code, month.year, month.month, report=report, bulletin=bulletin
    )
    queued = 0
    for admin in await reachable_holders(session=session, posts=admins):
        if unit.id not in units_within(admin.post.unit_id, units):
            continue
        queued += await enqueue_message(
            session=session,
            key=f"{job_key}:{admin.post.staff_id}:unreceived",
            chat_id=admin.chat_id,
            text=text,
            now=now,
        )
    lost = [name for name, part in (("report", report), ("bulletin", bulletin)) if part is not None]
    logger.warning("monthly report %s: the %s reached nobody", job_key, " and the ".join(lost))
    if not queued:
        logger.error(
            "monthly report %s: no admin can be told that it reached nobody: none registered "
            "over the unit, or all blocked the bot",
            job_key,
        )
    return queued
