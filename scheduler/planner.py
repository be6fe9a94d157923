"""The daily planner: which inspector does which check at which site today, so that every
frequency and coverage quota of the catalog is met by the end of its period.

Pure functions over frozen data: the catalog, an OrgSnapshot, a working-day calendar, the day
and the history of assignments (planned / done / missed). Same inputs, same plan.

Periods
    Every frequency counts within calendar periods:

    * daily: the day. weekly: the ISO week, Monday to Sunday. A week that spans a month end
      belongs to no month when planning (its count runs across the month end); in
      evaluate_period it belongs to the month (range) that holds its Sunday.
    * monthly, quarterly (Jan-Mar, Apr-Jun, …), half-yearly (Jan-Jun, Jul-Dec), yearly:
      calendar periods. ``by_day`` (monthly) narrows the month to its first N days.
    * every N days: the year's working days are cut into consecutive blocks of N working
      days, starting on the year's first working day (the last block of a year may be shorter
      and a new year starts a new block); one check per block.
    * An item with ``calendar_days = true`` counts calendar days instead of working days
      and is done on the days within them the site opens: 每三天 (14.1(4)) is read as blocks
      of three calendar days from 1 January, each needing one check on a day the station
      opens (none if it is closed all three), so National Day leaves no 10-day gap.
    * An item with ``non_working_days = true`` counts every calendar day instead of the
      working days, in all of the above.
    * Daily site items follow the site's operating days (``OrgUnit.operating``): every
      working day and the weekdays it opens on, holidays only if it opens then (逐日, 每日).

    Otherwise only working days count (make-up working days (调休) are ordinary working
    days); a period's requirement is ``min(times, its working days)``, because the normal
    schedule has at most one occurrence of a check per day and site (a holiday week with one
    working day requires one check, not two). With a go-live date, days before it are no
    days at all: nothing is planned or required on them, and a period it cuts requires only
    its rest (``QuotaStatus.partial``); done checks before it (imported history) still count.

Doers
    Each item names a duty; a unit's tasks go to its staff holding it (``OrgInspector``;
    one in turn, or all, per ``doers``). A unit x item with nobody is never planned and is
    listed by ``uncovered`` (无人承担); its statuses say ``uncovered``.

Spreading
    Each stream (item x unit x target) places its ``R`` required occurrences on the period's
    working days ``d_0 … d_{n-1}`` at ``floor((j + phase) * n / R)``, ``j = 0 … R-1``, where
    ``phase`` in [0, 1) is a fixed hash of item, unit and target: 2x/week falls on e.g. Tue
    and Thu, and the sites' monthly meetings are spread over the month instead of all falling
    on its first day. A stream that is behind (missed checks do not count) spreads its
    backlog over the remaining working days (``ceil(backlog / days left)`` extra a day), so
    it is met by the period's last working day if no further check is missed.

Coverage quotas (county, city and region items)
    The number of distinct sites ``T`` a unit visits in a period is fixed at the period's
    start: the largest of the urban + rural percentages (rounded up), ``min_sites``, the
    counties needed and, for ``all_sites_every``, the sites not yet visited in the long period
    divided by the periods left in it (rounded up; all of them in its last period). ``T`` is
    spread like any stream. Each pick is the site that helps most of the quotas still open
    (area percentage, min_sites area, an unvisited county, a site not yet visited in the long
    period; the period's own quotas weigh more than the long period's, so that 15.3② "每月
    不少于2个城市投递部" is not given up for a rural station unseen this half-year), then the
    least recently visited by this unit for this item, then the lowest id.
    A site already visited in the period is never picked again. If picks fell short of a
    quota the deficit is added to the backlog.

Per-city items (region)
    An item with ``per_city`` is done for each city below the region that has matching
    sites (第十一条 "所有盟市", "每个盟市不少于…"): without site quotas each city is a stream of
    its own, the city the target; with them, each city's sites are a pool of their own and
    every quota is met per city. Statuses name the city (``QuotaStatus.city_id``).

Transfer points (接转点)
    Each check gets at least ``min(sample.min, points of the site)`` points; site-level items
    with a monthly quota get more when needed so that the month's distinct points are reached
    with the checks left in the month; points not visited this month come first, then the
    least recently visited. If no check is left in the month while points are still due, one
    extra check is planned.

History
    Entries dated on or after the planned day are ignored, so planning a day twice gives the
    same plan (and the same keys); missed entries count for nothing; planned entries of past
    days count as done until they are marked missed.
"""

from __future__ import annotations

import logging
import zlib
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Final, Protocol

from scheduler.catalog import (
    Catalog,
    CatalogItem,
    CoverageQuota,
    Doers,
    FrequencyKind,
    Span,
)
from scheduler.org import (
    Area,
    Level,
    OperatingDays,
    OrgInspector,
    OrgSnapshot,
    OrgUnit,
    SiteKind,
)

logger = logging.getLogger(__name__)

_PHASE_SCALE: Final = 1 << 16
_NO_TARGET: Final = -1
_ONE_DAY: Final = timedelta(days=1)


class WorkingCalendar(Protocol):
    """The part of the business calendar the planner needs (inclusive ranges)."""

    def is_working_day(self, day: date) -> bool: ...

    def is_holiday(self, day: date) -> bool:
        """An official holiday (放假), weekends inside a holiday period included."""
        ...

    def working_days(self, start: date, end: date) -> list[date]: ...


class AssignmentStatus(StrEnum):
    PLANNED = "planned"
    DONE = "done"
    MISSED = "missed"


@dataclass(frozen=True)
class HistoryEntry:
    """An assignment already planned, done or missed.

    ``unit_id`` is the inspecting unit; when None it is derived: the target site for
    site-level items, the target's ancestor at the item's level, else the inspector's unit.
    """

    day: date
    item_id: str
    inspector_id: int
    target_site_id: int | None
    status: AssignmentStatus
    transfer_point_ids: tuple[int, ...] = ()
    unit_id: int | None = None


@dataclass(frozen=True)
class PlannedAssignment:
    day: date
    item_id: str
    inspector_id: int
    unit_id: int  # the inspector's unit
    target_site_id: int | None
    transfer_point_ids: tuple[int, ...]
    key: str  # deterministic and unique: day/item/unit/target/occurrence

    def as_history(self, status: AssignmentStatus) -> HistoryEntry:
        return HistoryEntry(
            day=self.day,
            item_id=self.item_id,
            inspector_id=self.inspector_id,
            target_site_id=self.target_site_id,
            status=status,
            transfer_point_ids=self.transfer_point_ids,
            unit_id=self.unit_id,
        )


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive


class Requirement(StrEnum):
    FREQUENCY = "frequency"
    URBAN_PERCENT = "urban_percent"
    RURAL_PERCENT = "rural_percent"
    MIN_SITES = "min_sites"
    COUNTIES_PERCENT = "counties_percent"
    ALL_SITES = "all_sites"
    TRANSFER_POINTS_PER_CHECK = "transfer_points_per_check"
    TRANSFER_POINTS_PER_MONTH = "transfer_points_per_month"
    ALL_TRANSFER_POINTS = "all_transfer_points"


@dataclass(frozen=True)
class QuotaStatus:
    """One requirement of one item for one unit, over the periods evaluated.

    ``required`` and ``done`` are summed over the periods, ``done`` capped per period so that
    extra checks in one week do not hide a missing one in another; ``met`` needs every
    period met. ``base`` is the number of sites (or counties) a percentage is taken of.
    """

    item_id: str
    unit_id: int
    requirement: Requirement
    start: date  # first period's start
    end: date  # last period's end
    periods: int
    periods_met: int
    required: int
    done: int
    base: int | None = None
    percent: int | None = None
    uncovered: bool = False  # nobody at the unit holds the item's duty (无人承担)
    partial: bool = False  # the first period began before go-live: only its rest counted
    city_id: int | None = None  # a per-city item's city (the unit is the region)

    @property
    def met(self) -> bool:
        return self.periods_met == self.periods

    def describe(self) -> str:
        """Numbers for the report, e.g. "12/30 = 40% ≥ 30%" or "7/8"."""
        if self.percent is not None and self.base:
            share = self.done * 100 // self.base
            sign = "≥" if share >= self.percent else "<"
            return f"{self.done}/{self.base} = {share}% {sign} {self.percent}%"
        return f"{self.done}/{self.required}"


def period_containing(span: Span, day: date) -> Period:
    """The calendar period of ``span`` that holds ``day``."""
    match span:
        case Span.DAY:
            return Period(day, day)
        case Span.WEEK:
            monday = day - timedelta(days=day.weekday())
            return Period(monday, monday + timedelta(days=6))
        case Span.MONTH:
            return Period(day.replace(day=1), _month_end(day.year, day.month))
        case Span.QUARTER:
            first = 3 * ((day.month - 1) // 3) + 1
            return Period(date(day.year, first, 1), _month_end(day.year, first + 2))
        case Span.HALF_YEAR:
            first = 1 if day.month <= 6 else 7
            return Period(date(day.year, first, 1), _month_end(day.year, first + 5))
        case Span.YEAR:
            return Period(date(day.year, 1, 1), date(day.year, 12, 31))
    raise AssertionError(span)  # pragma: no cover - exhaustive match


def _month_end(year: int, month: int) -> date:
    if month == 12:
        return date(year, 12, 31)
    return date(year, month + 1, 1) - _ONE_DAY


def by_inspector(
    assignments: Iterable[PlannedAssignment],
) -> dict[int, tuple[PlannedAssignment, ...]]:
    """Group a plan per inspector, keeping the plan's order."""
    grouped: dict[int, list[PlannedAssignment]] = defaultdict(list)
    for assignment in assignments:
        grouped[assignment.inspector_id].append(assignment)
    return {inspector: tuple(items) for inspector, items in grouped.items()}


@dataclass(frozen=True)
class Uncovered:
    """A unit with an item to do and nobody holding its duty (无人承担)."""

    item_id: str
    unit_id: int


def uncovered(catalog: Catalog, org: OrgSnapshot) -> list[Uncovered]:
    """Every unit x item the plan cannot give anyone, in catalog order, then by unit id."""
    return _uncovered(catalog, _Org(org))


def _uncovered(catalog: Catalog, org: _Org) -> list[Uncovered]:
    found: list[Uncovered] = []
    for item in catalog.items:
        if item.level == Level.SITE:
            units = [
                site.id
                for site in org.sites_for(item)
                if not item.uses_transfer_points or org.points.get(site.id)
            ]
        else:
            units = [
                unit_id
                for unit_id in org.units_at_level.get(item.level, ())
                if any(sites for _, sites in org.pools(unit_id, item))
            ]
        found.extend(
            Uncovered(item.id, unit_id) for unit_id in units if not org.doers(unit_id, item)
        )
    return found


# ───────────────────────────── indexes ─────────────────────────────


@dataclass(frozen=True)
class _Site:
    id: int
    kind: SiteKind
    area: Area
    county_id: int | None
    city_id: int | None
    region_id: int | None
    operating: OperatingDays | None = None


class _Org:
    """Lookups over the snapshot, built once per call."""

    def __init__(self, org: OrgSnapshot) -> None:
        self.units: dict[int, OrgUnit] = {unit.id: unit for unit in org.units}
        self._ancestors: dict[int, dict[Level, int]] = {}
        self.sites: dict[int, _Site] = {}
        self.units_at_level: dict[Level, list[int]] = defaultdict(list)
        self.sites_under: dict[int, list[_Site]] = defaultdict(list)
        incomplete = 0
        for unit in sorted(org.units, key=lambda u: u.id):
            self.units_at_level[unit.level].append(unit.id)
            if unit.level != Level.SITE:
                continue
            if unit.site_kind is None or unit.area is None:
                incomplete += 1
                continue
            ancestors = self.ancestors(unit.id)
            site = _Site(
                id=unit.id,
                kind=unit.site_kind,
                area=unit.area,
                county_id=ancestors.get(Level.COUNTY),
                city_id=ancestors.get(Level.CITY),
                region_id=ancestors.get(Level.REGION),
                operating=unit.operating,
            )
            self.sites[unit.id] = site
            for level, ancestor_id in ancestors.items():
                if level != Level.SITE:
                    self.sites_under[ancestor_id].append(site)
        if incomplete:
            logger.warning("%d sites without site kind or area are not planned", incomplete)

        self._staff: dict[int, list[OrgInspector]] = defaultdict(list)
        self.unit_of_inspector: dict[int, int] = {}
        for inspector in sorted(org.inspectors, key=lambda i: i.staff_id):
            self._staff[inspector.unit_id].append(inspector)
            self.unit_of_inspector[inspector.staff_id] = inspector.unit_id
        self._doers: dict[tuple[int, str | None], tuple[int, ...]] = {}
        points: dict[int, list[int]] = defaultdict(list)
        for point in org.transfer_points:
            points[point.site_id].append(point.id)
        self.points: dict[int, tuple[int, ...]] = {
            site_id: tuple(sorted(ids)) for site_id, ids in points.items()
        }
        self._matching: dict[tuple[int, SiteKind, Area | None], list[_Site]] = {}

    def doers(self, unit_id: int, item: CatalogItem) -> tuple[int, ...]:
        """The staff of ``unit_id`` who perform ``item`` (its duty), by staff id."""
        key = (unit_id, item.duty)
        found = self._doers.get(key)
        if found is None:
            found = tuple(
                dict.fromkeys(
                    person.staff_id
                    for person in self._staff.get(unit_id, ())
                    if person.holds(item.duty)
                )
            )
            self._doers[key] = found
        return found

    def ancestors(self, unit_id: int) -> dict[Level, int]:
        """The unit itself and its ancestors, by level (iterative: deep trees, cycles)."""
        cached = self._ancestors.get(unit_id)
        if cached is not None:
            return cached
        chain: list[int] = []
        current: int | None = unit_id
        result: dict[Level, int] = {}
        while current is not None:
            if current in self._ancestors:
                result = dict(self._ancestors[current])
                break
            if current in chain:
                raise ValueError(f"organisation has a cycle through unit {current}")
            chain.append(current)
            unit = self.units.get(current)
            current = None if unit is None else unit.parent_id
        for member in reversed(chain):
            unit = self.units.get(member)
            if unit is not None:
                result = {**result, unit.level: member}
            self._ancestors[member] = result
        return self._ancestors[unit_id]

    def matching_sites(self, unit_id: int, item: CatalogItem) -> list[_Site]:
        """The sites under ``unit_id`` the item concerns, by id."""
        key = (unit_id, item.site_kind, item.area)
        found = self._matching.get(key)
        if found is None:
            found = [
                site
                for site in self.sites_under.get(unit_id, ())
                if site.kind == item.site_kind and (item.area is None or site.area == item.area)
            ]
            self._matching[key] = found
        return found

    def pools(self, unit_id: int, item: CatalogItem) -> list[tuple[int, list[_Site]]]:
        """The unit's streams of a unit-level item: (target, its matching sites). One with
        no target; for a per-city item, one per city below the unit with matching sites."""
        if not item.per_city:
            return [(_NO_TARGET, self.matching_sites(unit_id, item))]
        return [
            (city_id, sites)
            for city_id in self.units_at_level.get(Level.CITY, ())
            if self.ancestors(city_id).get(item.level) == unit_id
            and (sites := self.matching_sites(city_id, item))
        ]

    def sites_for(self, item: CatalogItem) -> list[_Site]:
        key = (_NO_TARGET, item.site_kind, item.area)
        found = self._matching.get(key)
        if found is None:
            found = [
                site
                for site in self.sites.values()
                if site.kind == item.site_kind and (item.area is None or site.area == item.area)
            ]
            found.sort(key=lambda site: site.id)
            self._matching[key] = found
        return found


class _Days:
    """The calendar, cached: the real one may be slow and each period is asked for often.
    Days before ``go_live`` are never active: nothing is required on them."""

    def __init__(self, calendar: WorkingCalendar, go_live: date | None = None) -> None:
        self._calendar = calendar
        self.go_live = go_live
        self._ranges: dict[tuple[date, date, bool], tuple[date, ...]] = {}
        self._years: dict[tuple[int, bool], tuple[tuple[date, ...], dict[date, int]]] = {}
        self._open: dict[tuple[date, date, OperatingDays | None], tuple[date, ...]] = {}

    def is_working_day(self, day: date) -> bool:
        return self._calendar.is_working_day(day)

    def site_open(self, site: _Site, day: date) -> bool:
        """Whether the site works on ``day`` (daily items follow this)."""
        working = self._calendar.is_working_day(day)
        if site.operating is None or working:
            return working
        return site.operating.is_open(day, working=False, holiday=self._calendar.is_holiday(day))

    def open_days(self, site: _Site, start: date, end: date) -> tuple[date, ...]:
        """The days of [start, end] the site is open on, from go-live on."""
        key = (start, end, site.operating)
        found = self._open.get(key)
        if found is None:
            if site.operating is None:
                found = self.active(start, end, False)
            else:
                found = tuple(
                    day for day in self.active(start, end, True) if self.site_open(site, day)
                )
            self._open[key] = found
        return found

    def open_within(self, site: _Site, days: tuple[date, ...]) -> tuple[date, ...]:
        """The days of ``days`` (consecutive calendar days) the site opens on."""
        if not days:
            return days
        return self.open_days(site, days[0], days[-1])

    def active(self, start: date, end: date, all_days: bool) -> tuple[date, ...]:
        key = (start, end, all_days)
        found = self._ranges.get(key)
        if found is None:
            if self.go_live is not None:
                start = max(start, self.go_live)
            if end < start:
                found = ()
            elif all_days:
                found = tuple(start + timedelta(days=i) for i in range((end - start).days + 1))
            else:
                found = tuple(self._calendar.working_days(start, end))
            self._ranges[key] = found
        return found

    def year(self, year: int, all_days: bool) -> tuple[tuple[date, ...], dict[date, int]]:
        key = (year, all_days)
        found = self._years.get(key)
        if found is None:
            days = self.active(date(year, 1, 1), date(year, 12, 31), all_days)
            found = (days, {day: index for index, day in enumerate(days)})
            self._years[key] = found
        return found

    def item_period(self, item: CatalogItem, day: date) -> Period | None:
        """The frequency period of ``item`` holding ``day``; None for a day outside every
        every-N-days block (a non-working day)."""
        span = item.frequency.span
        if span is not None:
            return period_containing(span, day)
        days, index = self.year(day.year, item.counts_calendar_days)
        position = index.get(day)
        if position is None:
            return None
        size = item.frequency.days or 1
        first = position - position % size
        block = days[first : first + size]
        return Period(block[0], block[-1])

    def next_item_period(self, item: CatalogItem, period: Period) -> Period | None:
        span = item.frequency.span
        if span is not None:
            return period_containing(span, period.end + _ONE_DAY)
        day = period.end + _ONE_DAY
        for year in (day.year, day.year + 1):
            days, _ = self.year(year, item.counts_calendar_days)
            start = bisect_left(days, day)
            if start < len(days):
                return self.item_period(item, days[start])
        return None

    def item_days(self, item: CatalogItem, period: Period) -> tuple[date, ...]:
        """The days of ``period`` on which ``item`` may be done."""
        end = period.end
        if item.frequency.by_day is not None:
            end = min(end, period.start + timedelta(days=item.frequency.by_day - 1))
        return self.active(period.start, end, item.counts_calendar_days)


class _History:
    """History entries that count, by (item, unit, target (-1: none)), days sorted."""

    def __init__(
        self,
        entries: Iterable[HistoryEntry],
        catalog: Catalog,
        org: _Org,
        *,
        before: date | None,
        done_only: bool,
    ) -> None:
        items = {item.id: item for item in catalog.items}
        # Planning never looks back at daily items (their period is today): skipping them
        # saves most of the indexing on a large organisation.
        skipped = {
            item.id
            for item in catalog.items
            if before is not None and item.frequency.kind == FrequencyKind.DAILY
        }
        days: dict[tuple[str, int, int], list[date]] = defaultdict(list)
        points: dict[tuple[str, int, int], list[tuple[date, tuple[int, ...]]]] = defaultdict(list)
        ignored = 0
        for entry in entries:
            if entry.item_id in skipped or (before is not None and entry.day >= before):
                continue
            if entry.status == AssignmentStatus.MISSED:
                continue
            if done_only and entry.status != AssignmentStatus.DONE:
                continue
            item = items.get(entry.item_id)
            unit_id = None if item is None else self._unit_of(entry, item, org)
            if item is None or unit_id is None:
                ignored += 1
                continue
            target = _NO_TARGET if entry.target_site_id is None else entry.target_site_id
            key = (entry.item_id, unit_id, target)
            days[key].append(entry.day)
            if entry.transfer_point_ids:
                points[key].append((entry.day, entry.transfer_point_ids))
        if ignored:
            logger.debug("ignored %d history entries of unknown items or units", ignored)
        for key, day_list in days.items():
            if items[key[0]].doers == Doers.ALL:
                # Each holder does it; the unit's check of the day counts once.
                day_list[:] = sorted(set(day_list))
        self.days = dict(days)
        self.targets: dict[tuple[str, int], dict[int, list[date]]] = defaultdict(dict)
        for (item_id, unit_id, target), day_list in self.days.items():
            day_list.sort()
            if items[item_id].level != Level.SITE:
                self.targets[(item_id, unit_id)][target] = day_list
        self.points = dict(points)

    @staticmethod
    def _unit_of(entry: HistoryEntry, item: CatalogItem, org: _Org) -> int | None:
        if entry.unit_id is not None:
            return entry.unit_id
        if entry.target_site_id is not None:
            if item.level == Level.SITE:
                return entry.target_site_id
            return org.ancestors(entry.target_site_id).get(item.level)
        return org.unit_of_inspector.get(entry.inspector_id)

    def checks(self, item_id: str, unit_id: int, target: int) -> Sequence[date]:
        return self.days.get((item_id, unit_id, target), ())

    def stream(self, item_id: str, unit_id: int) -> Mapping[int, list[date]]:
        """Visits per target site of a unit-level item."""
        return self.targets.get((item_id, unit_id), _EMPTY_TARGETS)


_EMPTY_TARGETS: Final[Mapping[int, list[date]]] = {}


def _count_between(days: Sequence[date], start: date, end: date) -> int:
    """How many of the sorted ``days`` fall in [start, end]."""
    return bisect_left(days, end + _ONE_DAY) - bisect_left(days, start)


# ───────────────────────────── spreading ─────────────────────────────


def _phase(item_hash: int, unit_id: int, target: int) -> int:
    """A fixed pseudo-random phase in [0, _PHASE_SCALE): no Python hash(), which is salted."""
    x = (item_hash * 0x9E3779B1 + unit_id * 0x85EBCA77 + (target + 1) * 0xC2B2AE3D) & 0xFFFFFFFF
    x ^= x >> 16
    x = (x * 0x7FEB352D) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x846CA68B) & 0xFFFFFFFF
    x ^= x >> 16
    return x % _PHASE_SCALE


def _due(index: int, n: int, required: int, phase: int) -> int:
    """Occurrences scheduled on days 0..index: slots j sit at floor((j + phase) * n / R).

    Exact integer arithmetic, so that the same inputs give the same plan everywhere.
    """
    if index < 0 or required <= 0:
        return 0
    scale = _PHASE_SCALE * n
    x = (index + 1) * required * _PHASE_SCALE - phase * n
    if x <= 0:
        return 0
    return min(required, (x + scale - 1) // scale)


def _slot_indices(n: int, required: int, phase: int) -> list[int]:
    return [((j * _PHASE_SCALE + phase) * n) // (required * _PHASE_SCALE) for j in range(required)]


def _occurrences_today(
    index: int, n: int, required: int, done: int, phase: int, extra: int = 0
) -> int:
    """How many occurrences to plan on day ``index`` of ``n``: today's slots not already
    covered by checks done ahead, plus an even share of the backlog over the days left."""
    due_today = _due(index, n, required, phase)
    due_before = _due(index - 1, n, required, phase)
    backlog = max(0, due_before - done) + extra
    slots = max(0, due_today - max(done, due_before))
    days_left = n - index
    return slots + -(-backlog // days_left)


def _once_a_day_when_possible(count: int, index: int, n: int, required: int, done: int) -> int:
    """The same check of the same target twice on one day is one visit in practice: a
    backlog is spread over the days left, doubling up only when they are too few."""
    remaining = required - done
    if remaining <= 0:
        return 0
    days_left = n - index
    return min(count, -(-remaining // days_left))


# ───────────────────────────── planning ─────────────────────────────


@dataclass(frozen=True)
class _Task:
    item_index: int
    target: int
    occurrence: int
    points: tuple[int, ...] = ()


def plan_day(
    catalog: Catalog,
    org: OrgSnapshot,
    calendar: WorkingCalendar,
    day: date,
    history: Iterable[HistoryEntry],
    *,
    go_live: date | None = None,
) -> tuple[PlannedAssignment, ...]:
    """The assignments of ``day``, ordered by inspector, catalog order, target, occurrence.
    Before ``go_live`` nothing is planned; a period it cuts requires only its days from then
    on (as a holiday week requires only its working days)."""
    if go_live is not None and day < go_live:
        return ()
    planner = _Planner(catalog, _Org(org), _Days(calendar, go_live), day, history)
    return planner.plan()


class _Planner:
    def __init__(
        self,
        catalog: Catalog,
        org: _Org,
        days: _Days,
        day: date,
        history: Iterable[HistoryEntry],
    ) -> None:
        self.catalog = catalog
        self.org = org
        self.days = days
        self.day = day
        self.history = _History(history, catalog, org, before=day, done_only=False)
        self.tasks: dict[int, list[_Task]] = defaultdict(list)

    def plan(self) -> tuple[PlannedAssignment, ...]:
        working = self.days.is_working_day(self.day)
        for index, item in enumerate(self.catalog.items):
            if _follows_opening(item):
                self._plan_open_sites(index, item)
                continue
            if not working and not item.counts_calendar_days:
                continue
            period = self.days.item_period(item, self.day)
            if period is None:
                continue
            period_days = self.days.item_days(item, period)
            position = bisect_left(period_days, self.day)
            if position == len(period_days) or period_days[position] != self.day:
                continue
            if item.level == Level.SITE:
                self._plan_site_item(index, item, period, period_days, position)
            elif item.selects_sites:
                self._plan_coverage_item(index, item, period, period_days, position)
            else:
                self._plan_unit_item(index, item, period, period_days, position)
        plan = self._distribute()
        logger.debug("planned %d assignments for %s", len(plan), self.day)
        return plan

    def _plan_site_item(
        self,
        index: int,
        item: CatalogItem,
        period: Period,
        period_days: tuple[date, ...],
        position: int,
    ) -> None:
        item_hash = zlib.crc32(item.id.encode())
        daily = item.frequency.kind == FrequencyKind.DAILY
        uses_points = item.uses_transfer_points
        yesterday = self.day - _ONE_DAY
        phase = 0
        all_days, all_position = period_days, position
        for site in self.org.sites_for(item):
            if not self.org.doers(site.id, item):
                continue  # nobody to do it: reported by uncovered(), not planned
            if uses_points and not self.org.points.get(site.id):
                continue  # nothing to visit: no transfer points registered
            if item.calendar_days:
                # Counted in calendar days: done on the days within them the site opens.
                period_days = self.days.open_within(site, all_days)
                position = bisect_left(period_days, self.day)
                if position == len(period_days) or period_days[position] != self.day:
                    continue
            else:
                period_days, position = all_days, all_position
            n = len(period_days)
            required = min(item.frequency.times, n)
            if daily:
                count = 1  # the period is today and history before today is outside it
            else:
                phase = _phase(item_hash, site.id, site.id)
                done_days = self.history.checks(item.id, site.id, site.id)
                done = _count_between(done_days, period.start, yesterday)
                count = _once_a_day_when_possible(
                    _occurrences_today(position, n, required, done, phase),
                    position,
                    n,
                    required,
                    done,
                )
            if uses_points:
                for occurrence, points in enumerate(
                    self._site_points(item, site.id, period, period_days, position, count, phase)
                ):
                    self.tasks[site.id].append(_Task(index, site.id, occurrence, points))
            else:
                for occurrence in range(count):
                    self.tasks[site.id].append(_Task(index, site.id, occurrence))

    def _plan_open_sites(self, index: int, item: CatalogItem) -> None:
        """A daily site item: once at every site open today that has someone to do it."""
        for site in self.org.sites_for(item):
            if self.org.doers(site.id, item) and self.days.site_open(site, self.day):
                self.tasks[site.id].append(_Task(index, site.id, 0))

    def _plan_unit_item(
        self,
        index: int,
        item: CatalogItem,
        period: Period,
        period_days: tuple[date, ...],
        position: int,
    ) -> None:
        n = len(period_days)
        required = min(item.frequency.times, n)
        item_hash = zlib.crc32(item.id.encode())
        for unit_id in self.org.units_at_level.get(item.level, ()):
            if not self.org.doers(unit_id, item):
                continue
            for target, sites in self.org.pools(unit_id, item):
                if not sites:
                    continue
                done_days = self.history.checks(item.id, unit_id, target)
                done = _count_between(done_days, period.start, self.day - _ONE_DAY)
                phase = _phase(item_hash, unit_id, target)
                count = _once_a_day_when_possible(
                    _occurrences_today(position, n, required, done, phase),
                    position,
                    n,
                    required,
                    done,
                )
                for occurrence in range(count):
                    self.tasks[unit_id].append(_Task(index, target, occurrence))

    def _plan_coverage_item(
        self,
        index: int,
        item: CatalogItem,
        period: Period,
        period_days: tuple[date, ...],
        position: int,
    ) -> None:
        coverage = item.coverage
        assert coverage is not None
        item_hash = zlib.crc32(item.id.encode())
        yesterday = self.day - _ONE_DAY
        for unit_id in self.org.units_at_level.get(item.level, ()):
            if not self.org.doers(unit_id, item):
                continue
            visits = self.history.stream(item.id, unit_id)
            for pool, sites in self.org.pools(unit_id, item):
                if not sites:
                    continue
                quota = _CoverageState(item, coverage, sites, visits, period, yesterday)
                required = quota.target_at_start()
                done = len(quota.visited)
                extra = max(0, quota.open_picks() - max(0, required - done))
                phase = _phase(item_hash, unit_id, pool)
                count = _occurrences_today(position, len(period_days), required, done, phase, extra)
                count = min(count, len(sites) - done)
                for occurrence, site in enumerate(quota.pick(count)):
                    points: tuple[int, ...] = ()
                    if item.uses_transfer_points:
                        points = self._points_for_check(item, unit_id, site.id, ())
                    self.tasks[unit_id].append(_Task(index, site.id, occurrence, points))

    def _site_points(
        self,
        item: CatalogItem,
        site_id: int,
        period: Period,
        period_days: tuple[date, ...],
        position: int,
        count: int,
        phase: int,
    ) -> list[tuple[int, ...]]:
        """The transfer points of each of today's ``count`` checks (maybe one extra)."""
        coverage = item.coverage
        points = self.org.points[site_id]
        month = period_containing(Span.MONTH, self.day)
        visits = self.history.points.get((item.id, site_id, site_id), [])
        visited = {
            point
            for visit_day, visit_points in visits
            if visit_day >= month.start
            for point in visit_points
        }
        goal = 0
        if coverage is not None:
            if coverage.all_transfer_points_monthly:
                goal = len(points)
            elif coverage.transfer_points_per_month is not None:
                goal = min(coverage.transfer_points_per_month, len(points))
        needed = max(0, goal - len(visited.intersection(points)))
        checks_left = count
        if needed:
            checks_left += self._future_slots(item, site_id, period, period_days, position, phase)
            if checks_left == 0:
                count = checks_left = 1  # no check left this month: one more, today
        plan: list[tuple[int, ...]] = []
        for _ in range(count):
            share = -(-needed // checks_left) if needed else 0
            chosen = self._points_for_check(item, site_id, site_id, visited, extra=share)
            fresh = len(set(chosen).difference(visited))
            visited.update(chosen)
            needed = max(0, needed - fresh)
            checks_left -= 1
            plan.append(chosen)
        return plan

    def _future_slots(
        self,
        item: CatalogItem,
        site_id: int,
        period: Period,
        period_days: tuple[date, ...],
        position: int,
        phase: int,
    ) -> int:
        """Scheduled checks of this stream after today and within today's month."""
        month_end = period_containing(Span.MONTH, self.day).end
        required = min(item.frequency.times, len(period_days))
        future = sum(
            1
            for slot in _slot_indices(len(period_days), required, phase)
            if slot > position and period_days[slot] <= month_end
        )
        following = self.days.next_item_period(item, period)
        while following is not None and following.start <= month_end:
            days = self.days.item_days(item, following)
            if days:
                slots = _slot_indices(len(days), min(item.frequency.times, len(days)), phase)
                future += sum(1 for slot in slots if days[slot] <= month_end)
            following = self.days.next_item_period(item, following)
        return future

    def _points_for_check(
        self,
        item: CatalogItem,
        unit_id: int,
        site_id: int,
        visited: Iterable[int],
        extra: int = 0,
    ) -> tuple[int, ...]:
        """Points not visited this month first, then the least recently visited, by id."""
        points = self.org.points.get(site_id, ())
        if not points:
            return ()
        assert item.sample is not None
        wanted = min(len(points), max(item.sample.min, extra))
        last: dict[int, date] = {}
        for visit_day, visit_points in self.history.points.get((item.id, unit_id, site_id), []):
            for point in visit_points:
                last[point] = max(last.get(point, visit_day), visit_day)
        seen = set(visited)
        order = sorted(points, key=lambda p: (p in seen, last.get(p, date.min), p))
        return tuple(sorted(order[:wanted]))

    def _distribute(self) -> tuple[PlannedAssignment, ...]:
        """Each task to the staff of the unit holding the item's duty: round-robin, starting
        one further each day so that they share the load evenly over time; or to each of
        them for items done by all."""
        day_text = self.day.isoformat()
        offset = self.day.toordinal()
        plan: list[tuple[int, int, int, int, PlannedAssignment]] = []
        for unit_id, tasks in self.tasks.items():
            tasks.sort(key=lambda t: (t.item_index, t.target, t.occurrence))
            for number, task in enumerate(tasks):
                item = self.catalog.items[task.item_index]
                staff = self.org.doers(unit_id, item)
                target = None if task.target == _NO_TARGET else task.target
                target_text = "-" if target is None else str(target)
                key = f"{day_text}/{item.id}/{unit_id}/{target_text}/{task.occurrence}"
                if item.doers == Doers.ALL:
                    chosen = [(inspector, f"{key}/{inspector}") for inspector in staff]
                else:
                    chosen = [(staff[(offset + number) % len(staff)], key)]
                for inspector, inspector_key in chosen:
                    assignment = PlannedAssignment(
                        day=self.day,
                        item_id=item.id,
                        inspector_id=inspector,
                        unit_id=unit_id,
                        target_site_id=target,
                        transfer_point_ids=task.points,
                        key=inspector_key,
                    )
                    row = (inspector, task.item_index, task.target, task.occurrence, assignment)
                    plan.append(row)
        plan.sort(key=lambda row: row[:4])
        return tuple(row[4] for row in plan)


class _CoverageState:
    """One unit's progress on one coverage item within the current period.

    Counters are kept incrementally: a city can have thousands of sites and tens of picks a
    day, so recounting per pick would be quadratic.
    """

    def __init__(
        self,
        item: CatalogItem,
        coverage: CoverageQuota,
        sites: list[_Site],
        visits: Mapping[int, list[date]],
        period: Period,
        until: date,
    ) -> None:
        self.coverage = coverage
        self.sites = sites
        self.visits = visits
        self.period = period
        assert item.frequency.span is not None  # validated: coverage needs a calendar span
        self.span = item.frequency.span
        self.visited: set[int] = set()
        self.urban = sum(1 for site in sites if site.area == Area.URBAN)
        self.rural = len(sites) - self.urban
        self.need_urban = _percent_of(coverage.urban_percent, self.urban)
        self.need_rural = _percent_of(coverage.rural_percent, self.rural)
        self.need_min = min(coverage.min_sites or 0, sum(1 for s in sites if self._in_min_area(s)))
        self.counties = {site.county_id for site in sites if site.county_id is not None}
        self.need_counties = _percent_of(coverage.counties_percent, len(self.counties))
        self.unvisited_long: set[int] = set()
        self.long_share = 0
        self.done_urban = self.done_rural = self.done_min = self.done_fresh = 0
        self.visited_counties: set[int] = set()
        self._visited_sites = [
            site for site in sites if _count_between(visits.get(site.id, ()), period.start, until)
        ]

    def _in_min_area(self, site: _Site) -> bool:
        area = self.coverage.min_sites_area
        return area is None or site.area == area

    def _record(self, site: _Site) -> None:
        self.visited.add(site.id)
        if site.area == Area.URBAN:
            self.done_urban += 1
        else:
            self.done_rural += 1
        if self._in_min_area(site):
            self.done_min += 1
        if site.county_id is not None:
            self.visited_counties.add(site.county_id)
        if site.id in self.unvisited_long:
            self.done_fresh += 1

    def target_at_start(self) -> int:
        """T: distinct sites to visit this period, from the state at the period's start."""
        long_span = self.coverage.all_sites_every
        if long_span == self.span:
            self.long_share = len(self.sites)
            self.unvisited_long = {site.id for site in self.sites}
        elif long_span is not None:
            long = period_containing(long_span, self.period.start)
            before = self.period.start - _ONE_DAY
            self.unvisited_long = {
                site.id
                for site in self.sites
                if not _count_between(self.visits.get(site.id, ()), long.start, before)
            }
            periods_left = 0
            cursor = self.period
            while cursor.start <= long.end:
                periods_left += 1
                cursor = period_containing(self.span, cursor.end + _ONE_DAY)
            self.long_share = -(-len(self.unvisited_long) // periods_left)
        for site in self._visited_sites:
            self._record(site)
        target = max(
            self.need_urban + self.need_rural,
            self.need_min,
            self.need_counties,
            self.long_share,
        )
        return min(target, len(self.sites))

    def _deficits(self) -> tuple[int, int, int, int, int]:
        return (
            max(0, self.need_urban - self.done_urban),
            max(0, self.need_rural - self.done_rural),
            max(0, self.need_min - self.done_min),
            max(0, self.need_counties - len(self.visited_counties)),
            max(0, self.long_share - self.done_fresh),
        )

    def open_picks(self) -> int:
        """A lower bound of the picks still needed this period to meet every quota."""
        urban, rural, minimum, counties, long = self._deficits()
        return max(urban + rural, minimum, counties, long)

    def pick(self, count: int) -> list[_Site]:
        """The next ``count`` sites: most open quotas helped, then least recently visited."""
        if count <= 0:
            return []
        candidates = sorted(
            (site for site in self.sites if site.id not in self.visited),
            key=lambda site: (self._last_visit(site.id), site.id),
        )
        picked: list[_Site] = []
        for _ in range(count):
            if not candidates:
                break
            urban, rural, minimum, counties, long = self._deficits()
            # The area further behind its share goes first, so both progress together.
            urban_first = urban * max(1, self.need_rural) >= rural * max(1, self.need_urban)
            # This period's quotas must be met in it: they outweigh the long period's
            # (15.3②: the month's second urban station before a rural one unseen this year).
            ceiling = (3 if urban + rural else 0) + 2 * sum(1 for d in (minimum, counties) if d)
            ceiling += 1 if long else 0
            best_score = -1
            best_at = 0
            for at, site in enumerate(candidates):
                score = 0
                if (urban if site.area == Area.URBAN else rural) > 0:
                    score += 3 if (site.area == Area.URBAN) == urban_first else 2
                if minimum and self._in_min_area(site):
                    score += 2
                if (
                    counties
                    and site.county_id is not None
                    and site.county_id not in self.visited_counties
                ):
                    score += 2
                if long and site.id in self.unvisited_long:
                    score += 1
                if score > best_score:
                    best_score, best_at = score, at
                    if score >= ceiling:
                        break
            site = candidates.pop(best_at)
            picked.append(site)
            self._record(site)
        return picked

    def _last_visit(self, site_id: int) -> date:
        days = self.visits.get(site_id)
        return days[-1] if days else date.min


def _percent_of(percent: int | None, base: int) -> int:
    if percent is None:
        return 0
    return -(-percent * base // 100)


# ───────────────────────────── evaluation ─────────────────────────────


@dataclass
class _Tally:
    start: date
    end: date
    periods: int = 0
    periods_met: int = 0
    required: int = 0
    done: int = 0
    base: int | None = None
    percent: int | None = None


class _Tallies:
    """Rows by (item, unit, pool: a per-city item's city, else _NO_TARGET, requirement)."""

    def __init__(self) -> None:
        self._rows: dict[tuple[int, int, int, Requirement], tuple[str, _Tally]] = {}

    def add(
        self,
        item_index: int,
        item_id: str,
        unit_id: int,
        requirement: Requirement,
        period: Period,
        required: int,
        done: int,
        *,
        base: int | None = None,
        percent: int | None = None,
        pool: int = _NO_TARGET,
    ) -> None:
        key = (item_index, unit_id, pool, requirement)
        row = self._rows.get(key)
        if row is None:
            row = (item_id, _Tally(start=period.start, end=period.end, percent=percent))
            self._rows[key] = row
        tally = row[1]
        tally.start = min(tally.start, period.start)
        tally.end = max(tally.end, period.end)
        tally.periods += 1
        tally.periods_met += done >= required
        tally.required += required
        tally.done += min(done, required) if percent is None else done
        if base is not None:
            tally.base = (tally.base or 0) + base

    def statuses(
        self, uncovered: set[tuple[str, int]], go_live: date | None, cut: bool
    ) -> list[QuotaStatus]:
        return [
            QuotaStatus(
                item_id=item_id,
                unit_id=unit_id,
                requirement=requirement,
                start=tally.start,
                end=tally.end,
                periods=tally.periods,
                periods_met=tally.periods_met,
                required=tally.required,
                done=tally.done,
                base=tally.base,
                percent=tally.percent,
                uncovered=(item_id, unit_id) in uncovered,
                partial=cut or (go_live is not None and tally.start < go_live),
                city_id=None if pool == _NO_TARGET else pool,
            )
            for (_, unit_id, pool, requirement), (item_id, tally) in sorted(
                self._rows.items(),
                key=lambda row: (*row[0][:3], _REQUIREMENT_ORDER[row[0][3]]),
            )
        ]


_REQUIREMENT_ORDER: Final = {requirement: rank for rank, requirement in enumerate(Requirement)}


def evaluate_period(
    catalog: Catalog,
    org: OrgSnapshot,
    calendar: WorkingCalendar,
    history: Iterable[HistoryEntry],
    start: date,
    end: date,
    *,
    go_live: date | None = None,
) -> list[QuotaStatus]:
    """Whether each item's frequency and quotas were met, per unit, for [start, end].

    Nothing is required before ``go_live``; a period it cuts is ``partial`` (it requires
    only its days from go-live on). Done checks before it still count (imported history).

    A period is evaluated in the range that holds its last day (a week in the month of its
    Sunday, a quarter in its last month, an every-N-days block in the month of its last
    working day), so a monthly report sees only complete periods. Only done checks count.
    Every matching site and unit is evaluated, also those without anyone to do the checks:
    their statuses say ``uncovered`` (无人承担), to be counted apart from misses.
    """
    org_index = _Org(org)
    days = _Days(calendar, go_live)
    done = _History(history, catalog, org_index, before=None, done_only=True)
    tallies = _Tallies()
    for index, item in enumerate(catalog.items):
        periods = [
            (period, period_days)
            for period in _periods_ending_in(item, days, start, end)
            if (period_days := days.item_days(item, period))
        ]
        if item.level == Level.SITE:
            _evaluate_site_item(index, item, periods, days, org_index, done, tallies, start, end)
        elif item.selects_sites:
            _evaluate_coverage_item(index, item, periods, org_index, done, tallies, start, end)
        else:
            for unit_id in org_index.units_at_level.get(item.level, ()):
                for pool, sites in org_index.pools(unit_id, item):
                    if sites:
                        checks = done.checks(item.id, unit_id, pool)
                        _tally_frequency(index, item, unit_id, periods, checks, tallies, pool)
    gaps = {(gap.item_id, gap.unit_id) for gap in _uncovered(catalog, org_index)}
    # The range go-live cuts is partial for every item; a longer period it cuts, too.
    cut = go_live is not None and start < go_live <= end
    return tallies.statuses(gaps, go_live, cut)


def evaluation_start(
    catalog: Catalog,
    calendar: WorkingCalendar,
    start: date,
    end: date,
    *,
    go_live: date | None = None,
) -> date:
    """The first day whose checks ``evaluate_period`` (same arguments) can count: the
    earliest start of the periods it evaluates (those ending in [start, end]: a week from
    the month before, a quarter or a half-year from months before). History before it
    changes nothing, so a month's report reads weeks, not the whole year."""
    days = _Days(calendar, go_live)
    first = start
    for item in catalog.items:
        periods = _periods_ending_in(item, days, start, end)
        if item.coverage is not None and item.coverage.all_sites_every is not None:
            periods += _spans_ending_in(item.coverage.all_sites_every, start, end)
        if item.level == Level.SITE and item.uses_transfer_points and item.coverage is not None:
            periods.append(period_containing(Span.MONTH, start))  # transfer points by month
        first = min([first, *(period.start for period in periods)])
    return first


def _follows_opening(item: CatalogItem) -> bool:
    """Daily site items are done on the days the site opens (逐日 / 每日: 第九条, 第十四条),
    weekends and holidays included when it works then; other items follow the business
    calendar (or every day, with ``non_working_days``)."""
    return (
        item.level == Level.SITE
        and item.frequency.kind == FrequencyKind.DAILY
        and not item.non_working_days
        and not item.uses_transfer_points
    )


def _periods_ending_in(item: CatalogItem, days: _Days, start: date, end: date) -> list[Period]:
    span = item.frequency.span
    if span is not None:
        return _spans_ending_in(span, start, end)
    found: list[Period] = []
    size = item.frequency.days or 1
    for year in range(start.year, end.year + 1):
        year_days, _ = days.year(year, item.counts_calendar_days)
        for first in range(0, len(year_days), size):
            block = year_days[first : first + size]
            if start <= block[-1] <= end:
                found.append(Period(block[0], block[-1]))
    return found


def _spans_ending_in(span: Span, start: date, end: date) -> list[Period]:
    """The calendar periods of ``span`` whose last day is in [start, end]."""
    found: list[Period] = []
    period = period_containing(span, start)
    while period.start <= end:
        if start <= period.end <= end:
            found.append(period)
        period = period_containing(span, period.end + _ONE_DAY)
    return found


def _tally_frequency(
    index: int,
    item: CatalogItem,
    unit_id: int,
    periods: list[tuple[Period, tuple[date, ...]]],
    checks: Sequence[date],
    tallies: _Tallies,
    pool: int = _NO_TARGET,
) -> None:
    for period, period_days in periods:
        required = min(item.frequency.times, len(period_days))
        # A check outside the allowed window (after a by_day deadline) does not count.
        count = _count_between(checks, period.start, period_days[-1])
        tallies.add(
            index, item.id, unit_id, Requirement.FREQUENCY, period, required, count, pool=pool
        )


def _evaluate_site_item(
    index: int,
    item: CatalogItem,
    periods: list[tuple[Period, tuple[date, ...]]],
    days: _Days,
    org: _Org,
    done: _History,
    tallies: _Tallies,
    start: date,
    end: date,
) -> None:
    follows_opening = _follows_opening(item)
    for site in org.sites_for(item):
        points = org.points.get(site.id, ())
        if item.uses_transfer_points and not points:
            continue
        checks = done.checks(item.id, site.id, site.id)
        if follows_opening:
            site_periods: list[tuple[Period, tuple[date, ...]]] = [
                (Period(d, d), (d,)) for d in days.open_days(site, start, end)
            ]
            _tally_frequency(index, item, site.id, site_periods, checks, tallies)
            continue
        if item.calendar_days:
            site_periods = [
                (period, open_days)
                for period, period_days in periods
                if (open_days := days.open_within(site, period_days))
            ]
            _tally_frequency(index, item, site.id, site_periods, checks, tallies)
        else:
            _tally_frequency(index, item, site.id, periods, checks, tallies)
        if not item.uses_transfer_points:
            continue
        visits = done.points.get((item.id, site.id, site.id), [])
        _tally_points_per_check(index, item, site.id, periods, visits, points, tallies)
        coverage = item.coverage
        if coverage is None:
            continue
        month = period_containing(Span.MONTH, start)
        while month.start <= end:
            if month.end <= end:
                distinct = {
                    point
                    for day, visit_points in visits
                    if month.start <= day <= month.end
                    for point in visit_points
                }
                distinct &= set(points)
                if coverage.transfer_points_per_month is not None:
                    goal = min(coverage.transfer_points_per_month, len(points))
                    tallies.add(
                        index,
                        item.id,
                        site.id,
                        Requirement.TRANSFER_POINTS_PER_MONTH,
                        month,
                        goal,
                        len(distinct),
                    )
                if coverage.all_transfer_points_monthly:
                    tallies.add(
                        index,
                        item.id,
                        site.id,
                        Requirement.ALL_TRANSFER_POINTS,
                        month,
                        len(points),
                        len(distinct),
                    )
            month = period_containing(Span.MONTH, month.end + _ONE_DAY)


def _tally_points_per_check(
    index: int,
    item: CatalogItem,
    unit_id: int,
    periods: list[tuple[Period, tuple[date, ...]]],
    visits: Sequence[tuple[date, tuple[int, ...]]],
    points: Sequence[int],
    tallies: _Tallies,
    pool: int = _NO_TARGET,
) -> None:
    """Checks of the period vs those that visited the minimum number of the site's points."""
    assert item.sample is not None
    minimum = min(item.sample.min, len(points))
    known = set(points)
    for period, _ in periods:
        checks = [pts for day, pts in visits if period.start <= day <= period.end]
        good = sum(1 for pts in checks if len(known.intersection(pts)) >= minimum)
        tallies.add(
            index,
            item.id,
            unit_id,
            Requirement.TRANSFER_POINTS_PER_CHECK,
            period,
            len(checks),
            good,
            pool=pool,
        )


def _evaluate_coverage_item(
    index: int,
    item: CatalogItem,
    periods: list[tuple[Period, tuple[date, ...]]],
    org: _Org,
    done: _History,
    tallies: _Tallies,
    start: date,
    end: date,
) -> None:
    for unit_id in org.units_at_level.get(item.level, ()):
        for pool, sites in org.pools(unit_id, item):
            if sites:
                _evaluate_pool(
                    index, item, periods, org, done, tallies, (start, end), unit_id, pool, sites
                )


def _evaluate_pool(
    index: int,
    item: CatalogItem,
    periods: list[tuple[Period, tuple[date, ...]]],
    org: _Org,
    done: _History,
    tallies: _Tallies,
    bounds: tuple[date, date],
    unit_id: int,
    pool: int,
    sites: list[_Site],
) -> None:
    """One unit's quotas over one pool of sites (all its matching sites, or a city's)."""
    coverage = item.coverage
    assert coverage is not None
    start, end = bounds
    visits = done.stream(item.id, unit_id)
    area_percents = [
        (requirement, percent, [site for site in sites if site.area == area])
        for requirement, percent, area in (
            (Requirement.URBAN_PERCENT, coverage.urban_percent, Area.URBAN),
            (Requirement.RURAL_PERCENT, coverage.rural_percent, Area.RURAL),
        )
        if percent is not None
    ]
    min_pool = [
        site
        for site in sites
        if coverage.min_sites_area is None or site.area == coverage.min_sites_area
    ]
    counties = {site.county_id for site in sites if site.county_id is not None}

    def add(requirement: Requirement, period: Period, required: int, count: int, **kw: int) -> None:
        tallies.add(index, item.id, unit_id, requirement, period, required, count, pool=pool, **kw)

    for period, _ in periods:
        for requirement, percent, area_sites in area_percents:
            if area_sites:
                add(
                    requirement,
                    period,
                    _percent_of(percent, len(area_sites)),
                    len(_visited(area_sites, visits, period)),
                    base=len(area_sites),
                    percent=percent,
                )
        if coverage.min_sites is not None:
            required = min(coverage.min_sites, len(min_pool))
            add(Requirement.MIN_SITES, period, required, len(_visited(min_pool, visits, period)))
        if coverage.counties_percent is not None and counties:
            seen = {site.county_id for site in _visited(sites, visits, period)} & counties
            add(
                Requirement.COUNTIES_PERCENT,
                period,
                _percent_of(coverage.counties_percent, len(counties)),
                len(seen),
                base=len(counties),
                percent=coverage.counties_percent,
            )
        if item.uses_transfer_points:
            for site in sites:
                site_visits = done.points.get((item.id, unit_id, site.id), [])
                _tally_points_per_check(
                    index,
                    item,
                    unit_id,
                    [(period, ())],
                    site_visits,
                    org.points.get(site.id, ()),
                    tallies,
                    pool,
                )
    if coverage.all_sites_every is not None:
        for long in _spans_ending_in(coverage.all_sites_every, start, end):
            add(Requirement.ALL_SITES, long, len(sites), len(_visited(sites, visits, long)))


def _visited(
    pool: Sequence[_Site], visits: Mapping[int, list[date]], period: Period
) -> list[_Site]:
    return [
        site for site in pool if _count_between(visits.get(site.id, ()), period.start, period.end)
    ]
