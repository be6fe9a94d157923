"""The planner over simulated months: plan a day, mark it done (or missed), feed it back.

The organisation: one region, one city, two counties; urban and rural counter sites and
delivery stations with transfer points; inspectors at site, county, city and region level.
The calendar: the 2026 official one (National Day Oct 1-7, 调休 Sunday Sep 20 and
Saturday Oct 10), hard-coded because the real one is written elsewhere.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from itertools import pairwise
from typing import Any

import pytest

from scheduler.catalog import Catalog, FrequencyKind, Span, load_catalog, parse_catalog
from scheduler.org import (
    Area,
    Level,
    OrgInspector,
    OrgSnapshot,
    OrgTransferPoint,
    OrgUnit,
    SiteKind,
)
from scheduler.planner import (
    AssignmentStatus,
    HistoryEntry,
    PlannedAssignment,
    QuotaStatus,
    Requirement,
    by_inspector,
    evaluate_period,
    evaluation_start,
    period_containing,
    plan_day,
)

CATALOG = load_catalog()

HOLIDAYS_2026 = {
    date(2026, 1, 1),
    date(2026, 1, 2),
    *(date(2026, 2, day) for day in (16, 17, 18, 19, 20, 23)),
    date(2026, 4, 6),
    date(2026, 5, 1),
    date(2026, 5, 4),
    date(2026, 5, 5),
    date(2026, 6, 19),
    date(2026, 9, 25),
    *(date(2026, 10, day) for day in (1, 2, 5, 6, 7)),
}
MAKE_UP_DAYS_2026 = {
    date(2026, 1, 4),
    date(2026, 2, 14),
    date(2026, 2, 28),
    date(2026, 5, 9),
    date(2026, 9, 20),
    date(2026, 10, 10),
}


class FakeCalendar:
    """The 2026 official calendar; weekdays are working days, weekends not, except these."""

    def __init__(self) -> None:
        self.calls = 0

    def is_working_day(self, day: date) -> bool:
        assert day.year in (2026, 2027), day
        if day in MAKE_UP_DAYS_2026:
            return True
        return day.weekday() < 5 and day not in HOLIDAYS_2026

    def is_holiday(self, day: date) -> bool:
        return day in HOLIDAYS_2026 or date(2026, 10, 1) <= day <= date(2026, 10, 7)

    def working_days(self, start: date, end: date) -> list[date]:
        self.calls += 1
        days = (start + timedelta(days=n) for n in range((end - start).days + 1))
        return [day for day in days if self.is_working_day(day)]


CALENDAR = FakeCalendar()
REGION, CITY, COUNTY_A, COUNTY_B = 1, 10, 100, 200


@dataclass(frozen=True)
class SiteSpec:
    id: int
    county: int
    kind: SiteKind
    area: Area
    inspectors: int = 1
    points: int = 0


def _sites() -> list[SiteSpec]:
    specs: list[SiteSpec] = []
    next_id = 1001
    layout = {
        # county: (urban counters, rural counters, urban delivery, rural delivery)
        COUNTY_A: (4, 3, 3, 3),
        COUNTY_B: (2, 4, 2, 4),
    }
    for county, counts in layout.items():
        kinds = (
            (SiteKind.COUNTER, Area.URBAN),
            (SiteKind.COUNTER, Area.RURAL),
            (SiteKind.DELIVERY, Area.URBAN),
            (SiteKind.DELIVERY, Area.RURAL),
        )
        for (kind, area), count in zip(kinds, counts, strict=True):
            for number in range(count):
                points = 0
                if kind == SiteKind.DELIVERY:
                    # 25 points, fewer than 10, and more than four weekly checks × 5 can cover.
                    points = 25 if area == Area.URBAN else (8, 23, 30, 3)[number % 4]
                if kind == SiteKind.DELIVERY and area == Area.URBAN and number == 0:
                    points = 6
                specs.append(
                    SiteSpec(next_id, county, kind, area, 2 if next_id % 3 == 0 else 1, points)
                )
                next_id += 1
    return specs


SITES = _sites()


def make_org(sites: list[SiteSpec] = SITES) -> OrgSnapshot:
    units = [
        OrgUnit(REGION, "内蒙古区公司", Level.REGION, None),
        OrgUnit(CITY, "呼和浩特市分公司", Level.CITY, REGION),
        OrgUnit(COUNTY_A, "甲旗", Level.COUNTY, CITY),
        OrgUnit(COUNTY_B, "乙县", Level.COUNTY, CITY),
    ]
    inspectors = [
        OrgInspector(1, REGION),
        OrgInspector(2, CITY),
        OrgInspector(3, CITY),
        OrgInspector(4, COUNTY_A),
        OrgInspector(5, COUNTY_A),
        OrgInspector(6, COUNTY_B),
    ]
    points: list[OrgTransferPoint] = []
    staff = 100
    for spec in sites:
        units.append(
            OrgUnit(spec.id, f"网点{spec.id}", Level.SITE, spec.county, spec.kind, spec.area)
        )
        for _ in range(spec.inspectors):
            staff += 1
            inspectors.append(OrgInspector(staff, spec.id))
        for _ in range(spec.points):
            points.append(OrgTransferPoint(len(points) + 1, f"接转点{len(points) + 1}", spec.id))
    return OrgSnapshot(tuple(units), tuple(points), tuple(inspectors))


ORG = make_org()

Plans = dict[date, tuple[PlannedAssignment, ...]]


def simulate(
    start: date,
    end: date,
    *,
    missed: Callable[[PlannedAssignment], bool] = lambda _: False,
    catalog: Catalog = CATALOG,
    org: OrgSnapshot = ORG,
) -> tuple[Plans, list[HistoryEntry]]:
    """Plan each day, mark each assignment done (or missed), feed it back as history."""
    plans: Plans = {}
    history: list[HistoryEntry] = []
    day = start
    while day <= end:
        plan = plan_day(catalog, org, CALENDAR, day, history)
        plans[day] = plan
        for assignment in plan:
            status = AssignmentStatus.MISSED if missed(assignment) else AssignmentStatus.DONE
            history.append(assignment.as_history(status))
        day += timedelta(days=1)
    return plans, history


@cache
def october() -> tuple[Plans, list[HistoryEntry]]:
    # From September 1: the weeks and every-3-days blocks ending in October start earlier.
    return simulate(date(2026, 9, 1), date(2026, 11, 30))


@cache
def half_year() -> tuple[Plans, list[HistoryEntry]]:
    return simulate(date(2026, 6, 22), date(2026, 12, 31))


def month_range(month: int) -> tuple[date, date]:
    period = period_containing(Span.MONTH, date(2026, month, 1))
    return period.start, period.end


def unmet(statuses: list[QuotaStatus]) -> list[str]:
    return [
        f"{s.item_id} unit {s.unit_id} {s.requirement} {s.describe()} {s.start}..{s.end}"
        for s in statuses
        if not s.met
    ]


def assignments(plans: Plans, start: date, end: date) -> list[PlannedAssignment]:
    return [a for day, plan in sorted(plans.items()) if start <= day <= end for a in plan]


# ───────────────────────── every quota of the shipped catalog ─────────────────────────


def test_october_meets_every_frequency_and_quota() -> None:
    _, history = october()
    statuses = evaluate_period(CATALOG, ORG, CALENDAR, history, *month_range(10))
    assert unmet(statuses) == []
    # Not vacuous: every item of the catalog is evaluated in October except the ones whose
    # period does not end in it (quarterly, half-yearly).
    evaluated = {status.item_id for status in statuses}
    monthly_or_shorter = {
        item.id
        for item in CATALOG
        if item.frequency.kind
        not in (FrequencyKind.QUARTERLY, FrequencyKind.HALF_YEARLY, FrequencyKind.YEARLY)
    }
    assert evaluated == monthly_or_shorter
    kinds = {status.requirement for status in statuses}
    assert kinds >= {
        Requirement.FREQUENCY,
        Requirement.URBAN_PERCENT,
        Requirement.RURAL_PERCENT,
        Requirement.MIN_SITES,
        Requirement.ALL_SITES,
        Requirement.TRANSFER_POINTS_PER_CHECK,
        Requirement.TRANSFER_POINTS_PER_MONTH,
        Requirement.ALL_TRANSFER_POINTS,
    }


def test_october_numbers_match_the_regulation() -> None:
    _, history = october()
    statuses = evaluate_period(CATALOG, ORG, CALENDAR, history, *month_range(10))
    by_key = {(s.item_id, s.unit_id, s.requirement): s for s in statuses}
    # County A has 4 urban and 3 rural counter sites: ≥30% → 2, ≥15% → 1.
    urban = by_key[("county_counter_spot_check", COUNTY_A, Requirement.URBAN_PERCENT)]
    assert (urban.required, urban.base, urban.percent) == (2, 4, 30)
    assert urban.describe() == "2/4 = 50% ≥ 30%"
    rural = by_key[("county_counter_spot_check", COUNTY_A, Requirement.RURAL_PERCENT)]
    assert (rural.required, rural.done) == (1, 1)
    # October 2026 has 18 working days (Oct 10 included): a daily item at a site.
    daily = by_key[("delivery_express_signoff", SITES[7].id, Requirement.FREQUENCY)]
    assert (daily.required, daily.done, daily.periods) == (18, 18, 18)
    # County transfer-point checks: every delivery station of the county each month.
    county_points = by_key[("county_transfer_points_check", COUNTY_A, Requirement.ALL_SITES)]
    assert (county_points.required, county_points.done) == (6, 6)
    # The city's letters check: ≥2 urban delivery stations a month.
    city_letters = by_key[("city_letters_field_check", CITY, Requirement.MIN_SITES)]
    assert city_letters.required == 2 and city_letters.met


def test_history_before_the_evaluation_start_changes_nothing() -> None:
    """A month's report reads history from evaluation_start on, not the whole year."""
    _, history = half_year()
    for month in range(7, 13):
        start, end = month_range(month)
        first = evaluation_start(CATALOG, CALENDAR, start, end)
        recent = [entry for entry in history if entry.day >= first]
        found = evaluate_period(CATALOG, ORG, CALENDAR, recent, start, end)
        assert found == evaluate_period(CATALOG, ORG, CALENDAR, history, start, end), month
    # The week of November 1 starts in October; September closes the quarter; December the
    # half-year and the year (every county's stations once in 2026).
    assert evaluation_start(CATALOG, CALENDAR, *month_range(11)) == date(2026, 10, 26)
    assert evaluation_start(CATALOG, CALENDAR, *month_range(9)) == date(2026, 7, 1)
    assert evaluation_start(CATALOG, CALENDAR, *month_range(12)) == date(2026, 1, 1)


def test_half_year_meets_every_frequency_and_quota() -> None:
    _, history = half_year()
    for month in range(7, 13):
        statuses = evaluate_period(CATALOG, ORG, CALENDAR, history, *month_range(month))
        assert unmet(statuses) == [], month
    whole = evaluate_period(CATALOG, ORG, CALENDAR, history, date(2026, 7, 1), date(2026, 12, 31))
    assert unmet(whole) == []
    by_key = {(s.item_id, s.unit_id, s.requirement): s for s in whole}
    # Quarterly: Q3 and Q4. ≥5 delivery stations and ≥50% of the city's 2 counties.
    parcels = by_key[("city_parcel_quarterly", CITY, Requirement.MIN_SITES)]
    assert (parcels.periods, parcels.required) == (2, 10)
    counties = by_key[("city_parcel_quarterly", CITY, Requirement.COUNTIES_PERCENT)]
    assert counties.periods == 2 and counties.met
    # Every delivery station of the city once in the half-year, and of each county in 2026.
    all_city = by_key[("city_letters_field_check", CITY, Requirement.ALL_SITES)]
    assert (all_city.required, all_city.done) == (12, 12)
    all_county = by_key[("county_letters_field_check", COUNTY_B, Requirement.ALL_SITES)]
    assert (all_county.required, all_county.done) == (6, 6)
    assert by_key[("region_counter_special_inspection", REGION, Requirement.FREQUENCY)].periods == 2


# ───────────────────────── calendar ─────────────────────────


def test_nothing_on_non_working_days_and_make_up_days_planned() -> None:
    plans, _ = october()
    for day, plan in plans.items():
        if CALENDAR.is_working_day(day):
            assert plan, day
        else:
            assert plan == (), day
    assert plans[date(2026, 10, 10)]  # 调休 Saturday
    for holiday in range(1, 8):
        assert plans[date(2026, 10, holiday)] == ()  # National Day
    assert plans[date(2026, 10, 11)] == ()


def test_sunday_make_up_day_is_an_ordinary_working_day() -> None:
    plans, _ = october()
    items = {a.item_id for a in plans[date(2026, 9, 20)]}
    assert {"counter_video_review", "delivery_express_signoff"} <= items


def test_an_item_may_run_on_non_working_days() -> None:
    document: dict[str, Any] = {
        "version": 1,
        "item": [
            {
                "id": "holiday_watch",
                "title": "节假日值班检查",
                "clause": "第九条 2",
                "quote": "逐日检查。",
                "level": "site",
                "site_kind": "counter",
                "non_working_days": True,
                "frequency": {"kind": "daily"},
                "questions": [{"id": "ok", "text": "正常？", "type": "yes_no"}],
            }
        ],
    }
    catalog = parse_catalog(document)
    plans, history = simulate(date(2026, 10, 1), date(2026, 10, 11), catalog=catalog)
    counters = sum(1 for spec in SITES if spec.kind == SiteKind.COUNTER)
    assert all(len(plan) == counters for plan in plans.values())
    statuses = evaluate_period(
        catalog, ORG, CALENDAR, history, date(2026, 10, 1), date(2026, 10, 11)
    )
    assert unmet(statuses) == []
    assert {s.periods for s in statuses} == {11}


# ───────────────────────── determinism and keys ─────────────────────────


def test_same_inputs_same_plan() -> None:
    _, history = october()
    day = date(2026, 10, 20)
    earlier = [entry for entry in history if entry.day < day]
    first = plan_day(CATALOG, ORG, CALENDAR, day, earlier)
    again = plan_day(load_catalog(), make_org(), FakeCalendar(), day, list(earlier))
    shuffled = list(earlier)
    random.Random(7).shuffle(shuffled)
    assert first == again == plan_day(CATALOG, ORG, CALENDAR, day, shuffled)


def test_planning_a_day_twice_gives_the_same_keys() -> None:
    """Today's entries (already planned or done) are ignored: a re-run reproduces the plan."""
    plans, history = october()
    day = date(2026, 10, 20)
    rerun = plan_day(CATALOG, ORG, CALENDAR, day, history)
    assert rerun == plans[day]


def test_keys_are_unique_and_readable() -> None:
    plans, _ = half_year()
    keys = [a.key for plan in plans.values() for a in plan]
    assert len(keys) == len(set(keys))
    sample = plans[date(2026, 10, 20)][0]
    assert sample.key.startswith("2026-10-20/")
    assert sample.key.split("/")[1] == sample.item_id


def test_plan_is_ordered_by_inspector() -> None:
    plans, _ = october()
    plan = plans[date(2026, 10, 20)]
    assert [a.inspector_id for a in plan] == sorted(a.inspector_id for a in plan)
    grouped = by_inspector(plan)
    assert sum(len(v) for v in grouped.values()) == len(plan)


# ───────────────────────── spreading ─────────────────────────


def test_twice_a_week_falls_on_different_days() -> None:
    plans, _ = october()
    per_week: dict[tuple[str, int, date], list[date]] = defaultdict(list)
    for a in assignments(plans, date(2026, 10, 12), date(2026, 11, 29)):
        if a.item_id in ("delivery_parcel_check", "delivery_letters_urban"):
            monday = a.day - timedelta(days=a.day.weekday())
            per_week[(a.item_id, a.unit_id, monday)].append(a.day)
    assert per_week
    for days in per_week.values():
        assert len(days) == 2
        assert days[0] != days[1]


def test_monthly_quota_is_spread_over_the_month() -> None:
    plans, _ = october()
    weekly: dict[tuple[str, int], Counter[date]] = defaultdict(Counter)
    for a in assignments(plans, date(2026, 11, 1), date(2026, 11, 30)):
        if a.item_id in ("county_transfer_points_check", "city_delivery_spot_check"):
            weekly[(a.item_id, a.unit_id)][period_containing_week(a.day)] += 1
    assert weekly
    for (item_id, unit_id), per_week in weekly.items():
        total = sum(per_week.values())
        if total >= 3:
            assert len(per_week) >= 3, (item_id, unit_id, per_week)
            assert max(per_week.values()) <= -(-total // 2), (item_id, unit_id, per_week)


def period_containing_week(day: date) -> date:
    return day - timedelta(days=day.weekday())


def test_monthly_site_items_are_spread_over_sites() -> None:
    plans, _ = october()
    days = {
        a.day
        for a in assignments(plans, date(2026, 11, 1), date(2026, 11, 30))
        if a.item_id in ("counter_monthly_analysis", "delivery_monthly_analysis")
    }
    assert len(days) >= 8


def test_daily_load_is_even() -> None:
    plans, _ = october()
    per_day = [
        len(plan)
        for day, plan in plans.items()
        if date(2026, 11, 1) <= day <= date(2026, 11, 30) and plan
    ]
    assert max(per_day) <= 1.3 * min(per_day)


def test_inspectors_of_one_unit_share_the_load() -> None:
    plans, _ = october()
    counts: dict[int, Counter[int]] = defaultdict(Counter)
    for a in assignments(plans, date(2026, 10, 1), date(2026, 10, 31)):
        counts[a.unit_id][a.inspector_id] += 1
    shared = {unit: c for unit, c in counts.items() if len(c) > 1}
    assert shared
    for unit, per_inspector in shared.items():
        low, high = min(per_inspector.values()), max(per_inspector.values())
        assert high - low <= max(3, high // 10), (unit, per_inspector)


# ───────────────────────── rotation ─────────────────────────


def test_no_site_twice_in_a_period_and_least_recent_first() -> None:
    plans, _ = half_year()
    visits: dict[tuple[str, int, date], list[int]] = defaultdict(list)
    for a in assignments(plans, date(2026, 7, 1), date(2026, 12, 31)):
        if a.target_site_id is not None and a.unit_id != a.target_site_id:
            item = CATALOG.get(a.item_id)
            assert item.frequency.span is not None
            period = period_containing(item.frequency.span, a.day)
            visits[(a.item_id, a.unit_id, period.start)].append(a.target_site_id)
    for key, sites in visits.items():
        assert len(sites) == len(set(sites)), key
    # County A's urban counter sites: 4 of them, 2 a month → alternate pairs month by month.
    urban = {s.id for s in SITES if s.county == COUNTY_A and s.kind == SiteKind.COUNTER}
    urban &= {s.id for s in SITES if s.area == Area.URBAN}
    months = [
        set(visits[("county_counter_spot_check", COUNTY_A, date(2026, m, 1))]) & urban
        for m in range(7, 13)
    ]
    for earlier, later in pairwise(months):
        assert len(earlier) == len(later) == 2
        assert not earlier & later


def test_transfer_points_rotate() -> None:
    plans, _ = october()
    by_site: dict[int, list[tuple[int, ...]]] = defaultdict(list)
    for a in assignments(plans, date(2026, 10, 1), date(2026, 10, 31)):
        if a.item_id == "delivery_transfer_points_urban":
            by_site[a.unit_id].append(a.transfer_point_ids)
    points_of = Counter(p.site_id for p in ORG.transfer_points)
    for site_id, checks in by_site.items():
        total = points_of[site_id]
        seen: set[int] = set()
        for points in checks:
            assert len(points) == len(set(points)) == min(10, total)
            fresh = set(points) - seen
            # A point is visited again only once every point of the station has been.
            assert len(fresh) == min(len(points), total - len(seen)), (site_id, checks)
            seen |= set(points)
            if len(seen) == total:
                seen = set()


def test_rural_transfer_points_all_visited_each_month() -> None:
    plans, _ = half_year()
    for month in range(7, 13):
        start, end = month_range(month)
        seen: dict[int, set[int]] = defaultdict(set)
        points_of = Counter(p.site_id for p in ORG.transfer_points)
        for a in assignments(plans, start, end):
            if a.item_id == "delivery_transfer_points_rural":
                assert len(a.transfer_point_ids) >= min(5, points_of[a.unit_id])
                seen[a.unit_id].update(a.transfer_point_ids)
        rural = [s.id for s in SITES if s.kind == SiteKind.DELIVERY and s.area == Area.RURAL]
        for site_id in rural:
            assert len(seen[site_id]) == points_of[site_id], (month, site_id)


def test_every_three_calendar_days_on_the_days_the_site_opens() -> None:
    """每三天 reads as blocks of three calendar days from 1 January; a station that follows
    the business calendar checks once in each block that holds a working day of it."""
    plans, _ = october()
    site = next(s.id for s in SITES if s.kind == SiteKind.DELIVERY)
    days = [
        a.day
        for a in assignments(plans, date(2026, 10, 1), date(2026, 11, 30))
        if a.item_id == "delivery_shortage_damage" and a.unit_id == site
    ]
    assert all(CALENDAR.is_working_day(day) for day in days)
    blocks = Counter((day - date(2026, 1, 1)).days // 3 for day in days)
    assert set(blocks.values()) == {1}
    first, last = (
        (date(2026, 10, 1) - date(2026, 1, 1)).days // 3,
        (date(2026, 11, 30) - date(2026, 1, 1)).days // 3,
    )
    with_a_working_day = {
        block
        for block in range(first + 1, last)
        if any(
            CALENDAR.is_working_day(date(2026, 1, 1) + timedelta(days=3 * block + n))
            for n in range(3)
        )
    }
    assert with_a_working_day <= set(blocks)


# ───────────────────────── misses ─────────────────────────


def _monday_sickness(assignment: PlannedAssignment) -> bool:
    return assignment.day.weekday() == 0


@cache
def october_with_misses() -> tuple[Plans, list[HistoryEntry]]:
    return simulate(date(2026, 9, 1), date(2026, 10, 31), missed=_monday_sickness)


def test_catch_up_after_misses_meets_weekly_and_longer_quotas() -> None:
    _, history = october_with_misses()
    statuses = evaluate_period(CATALOG, ORG, CALENDAR, history, *month_range(10))
    # A missed daily check, or one on the last day of its every-3-days block, cannot be made
    # up; everything with a longer period can.
    catchable = [
        s
        for s in statuses
        if CATALOG.get(s.item_id).frequency.kind
        not in (FrequencyKind.DAILY, FrequencyKind.EVERY_N_DAYS)
    ]
    assert unmet(catchable) == []
    daily = [s for s in statuses if s.item_id == "counter_video_review"]
    mondays = sum(1 for d in CALENDAR.working_days(*month_range(10)) if d.weekday() == 0)
    assert all(s.required - s.done == mondays for s in daily)


def test_a_missed_check_is_not_doubled_up_on_one_day_while_days_are_left() -> None:
    """Planning starts on a Wednesday (the bot went live mid-week) and the first check of
    each week is missed; the backlog goes one a day over the days left, so the same check
    of the same site comes twice on a day only at the week's end."""
    weekly = {i.id for i in CATALOG.items if i.frequency.kind == FrequencyKind.WEEKLY}
    seen: set[tuple[str, int, date]] = set()

    def first_of_the_week(assignment: PlannedAssignment) -> bool:
        monday = assignment.day - timedelta(days=assignment.day.weekday())
        key = (assignment.item_id, assignment.unit_id, monday)
        if assignment.item_id not in weekly or key in seen:
            return False
        seen.add(key)
        return True

    plans, _ = simulate(date(2026, 10, 14), date(2026, 11, 27), missed=first_of_the_week)
    per_day = Counter(
        (a.item_id, a.target_site_id, a.day)
        for a in assignments(plans, date(2026, 10, 14), date(2026, 11, 27))
        if a.item_id in weekly
    )

    def last_working_day_of_its_week(day: date) -> bool:
        monday = day - timedelta(days=day.weekday())
        return day == max(CALENDAR.working_days(monday, monday + timedelta(days=6)))

    assert seen
    doubled = [key for key, count in per_day.items() if count > 1]
    assert [key for key in doubled if not last_working_day_of_its_week(key[2])] == []


def test_missed_checks_do_not_count() -> None:
    plans, history = october_with_misses()
    missed = [e for e in history if e.status == AssignmentStatus.MISSED]
    assert missed
    # A weekly check missed on Monday comes back later in the same week.
    entry = next(e for e in missed if e.item_id == "counter_arrears_box")
    later = [
        a
        for a in assignments(plans, entry.day + timedelta(days=1), entry.day + timedelta(days=6))
        if a.item_id == entry.item_id and a.unit_id == entry.unit_id
    ]
    assert later


def test_a_planned_entry_of_a_past_day_counts_until_marked_missed() -> None:
    day = date(2026, 10, 14)
    planned = plan_day(CATALOG, ORG, CALENDAR, date(2026, 10, 12), [])
    weekly = [a for a in planned if a.item_id == "counter_arrears_box"]
    assert weekly
    pending = [a.as_history(AssignmentStatus.PLANNED) for a in weekly]
    missed = [a.as_history(AssignmentStatus.MISSED) for a in weekly]
    again_if_pending = {
        a.unit_id
        for a in plan_day(CATALOG, ORG, CALENDAR, day, pending)
        if a.item_id == "counter_arrears_box"
    }
    again_if_missed = {
        a.unit_id
        for a in plan_day(CATALOG, ORG, CALENDAR, day, missed)
        if a.item_id == "counter_arrears_box"
    }
    assert not again_if_pending & {a.unit_id for a in weekly}
    assert {a.unit_id for a in weekly} <= again_if_missed


# ───────────────────────── odd organisations and history ─────────────────────────


def test_unit_without_inspectors_gets_nothing_and_is_reported() -> None:
    lonely = SiteSpec(9001, COUNTY_A, SiteKind.COUNTER, Area.URBAN, inspectors=0)
    org = make_org([*SITES, lonely])
    plan = plan_day(CATALOG, org, CALENDAR, date(2026, 10, 12), [])
    assert all(a.unit_id != lonely.id for a in plan)
    statuses = evaluate_period(CATALOG, org, CALENDAR, [], date(2026, 10, 12), date(2026, 10, 12))
    assert any(s.unit_id == lonely.id and not s.met for s in statuses)


def test_history_without_unit_is_attributed() -> None:
    day = date(2026, 10, 20)
    visits = [
        HistoryEntry(
            day=date(2026, 10, 13),
            item_id="county_transfer_points_check",
            inspector_id=4,
            target_site_id=spec.id,
            status=AssignmentStatus.DONE,
            transfer_point_ids=(),
        )
        for spec in SITES
        if spec.county == COUNTY_A and spec.kind == SiteKind.DELIVERY
    ]
    plan = plan_day(CATALOG, ORG, CALENDAR, day, visits)
    assert not [
        a for a in plan if a.item_id == "county_transfer_points_check" and a.unit_id == COUNTY_A
    ]


def test_unknown_items_in_history_are_ignored() -> None:
    day = date(2026, 10, 20)
    ghost = HistoryEntry(date(2026, 10, 19), "retired_item", 4, None, AssignmentStatus.DONE)
    assert plan_day(CATALOG, ORG, CALENDAR, day, [ghost]) == plan_day(
        CATALOG, ORG, CALENDAR, day, []
    )


def test_calendar_is_asked_once_per_period() -> None:
    calendar = FakeCalendar()
    plan_day(CATALOG, ORG, calendar, date(2026, 10, 20), [])
    assert calendar.calls < 20


@pytest.mark.parametrize(
    ("done", "base", "percent", "text"),
    [(12, 30, 30, "12/30 = 40% ≥ 30%"), (4, 30, 15, "4/30 = 13% < 15%")],
)
def test_describe(done: int, base: int, percent: int, text: str) -> None:
    status = QuotaStatus(
        item_id="x",
        unit_id=1,
        requirement=Requirement.URBAN_PERCENT,
        start=date(2026, 10, 1),
        end=date(2026, 10, 31),
        periods=1,
        periods_met=1,
        required=-(-percent * base // 100),
        done=done,
        base=base,
        percent=percent,
    )
    assert status.describe() == text


def test_random_misses_never_make_the_planner_give_up() -> None:
    """With 15% of assignments missed at random, a period can still end unmet, but only
    because its last chance was missed too: the stream is always planned on the period's last
    working day while it is behind."""
    chance = random.Random(3)
    plans, history = simulate(
        date(2026, 9, 1), date(2026, 10, 31), missed=lambda _: chance.random() < 0.15
    )
    planned = {(a.item_id, a.unit_id, a.day) for plan in plans.values() for a in plan}
    working = CALENDAR.working_days(date(2026, 9, 1), date(2026, 10, 31))
    unmet_periods = 0
    for day in [date(2026, 10, d) for d in range(1, 32)]:
        # A one-day range evaluates exactly the periods that end on that day.
        for status in evaluate_period(CATALOG, ORG, CALENDAR, history, day, day):
            item = CATALOG.get(status.item_id)
            if status.met or item.frequency.kind == FrequencyKind.DAILY:
                continue
            unmet_periods += 1
            last_chance = max(d for d in working if status.start <= d <= status.end)
            if item.frequency.by_day is not None:
                continue  # its window closes before the period ends
            assert (status.item_id, status.unit_id, last_chance) in planned, status
    assert unmet_periods  # the misses did bite
