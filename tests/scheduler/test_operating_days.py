"""Operating days and go-live: daily site checks follow the days a site opens (weekends and
holidays included when it works then); nothing is required before go-live, and the period
go-live cuts requires only its rest."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from itertools import pairwise

import pytest

from scheduler.catalog import FrequencyKind, load_catalog
from scheduler.org import (
    Area,
    Level,
    OperatingDays,
    OrgInspector,
    OrgSnapshot,
    OrgUnit,
    SiteKind,
    parse_open_days,
)
from scheduler.planner import (
    AssignmentStatus,
    HistoryEntry,
    Requirement,
    evaluate_period,
    plan_day,
)
from tests.scheduler.test_planner import FakeCalendar

CATALOG = load_catalog()
COUNTER = replace(CATALOG, items=tuple(i for i in CATALOG if i.id.startswith("counter_")))
DAILY = {i.id for i in COUNTER if i.frequency.kind is FrequencyKind.DAILY}
MON_SAT = OperatingDays(frozenset(range(6)))
CALENDAR = FakeCalendar()


def org(operating: OperatingDays | None) -> OrgSnapshot:
    return OrgSnapshot(
        units=(
            OrgUnit(1, "区公司", Level.REGION, None),
            OrgUnit(2, "市", Level.CITY, 1),
            OrgUnit(3, "县", Level.COUNTY, 2),
            OrgUnit(4, "营业支局", Level.SITE, 3, SiteKind.COUNTER, Area.URBAN, operating),
        ),
        inspectors=(OrgInspector(7, 4, frozenset({"counter_head"})),),
    )


def planned(operating: OperatingDays | None, day: date, go_live: date | None = None) -> set[str]:
    return {
        a.item_id for a in plan_day(COUNTER, org(operating), CALENDAR, day, [], go_live=go_live)
    }


@pytest.mark.parametrize(
    ("day", "operating", "expected"),
    [
        (date(2026, 11, 28), MON_SAT, DAILY),  # an ordinary Saturday: open
        (date(2026, 11, 29), MON_SAT, set()),  # Sunday: closed
        (date(2026, 11, 28), None, set()),  # no operating days: the business calendar
        (date(2026, 10, 3), MON_SAT, set()),  # a Saturday inside National Day: a holiday
        (date(2026, 10, 3), replace(MON_SAT, on_holidays=True), DAILY),
        (date(2026, 10, 10), None, None),  # the make-up Saturday: a working day, all due
    ],
)
def test_daily_checks_on_the_days_the_site_opens(
    day: date, operating: OperatingDays | None, expected: set[str] | None
) -> None:
    found = planned(operating, day)
    if expected is None:
        assert found >= DAILY
    else:
        assert found == expected


def test_evaluation_requires_each_open_day_once() -> None:
    history: list[HistoryEntry] = []
    day = date(2026, 10, 26)  # the week ending Sunday 1 November belongs to November
    while day <= date(2026, 11, 30):
        history += [
            a.as_history(AssignmentStatus.DONE)
            for a in plan_day(COUNTER, org(MON_SAT), CALENDAR, day, history)
        ]
        day += timedelta(days=1)
    statuses = evaluate_period(
        COUNTER, org(MON_SAT), CALENDAR, history, date(2026, 11, 1), date(2026, 11, 30)
    )
    video = next(s for s in statuses if s.item_id == "counter_video_review")
    # November 2026: 30 days, 5 Sundays.
    assert (video.required, video.done, video.met) == (25, 25, True)
    assert all(s.met for s in statuses), [s for s in statuses if not s.met]


def test_nothing_before_go_live_and_the_cut_period_is_partial() -> None:
    go_live = date(2026, 11, 18)  # a Wednesday
    assert planned(MON_SAT, date(2026, 11, 17), go_live) == set()
    assert planned(MON_SAT, go_live, go_live) >= DAILY
    statuses = evaluate_period(
        COUNTER, org(MON_SAT), CALENDAR, [], date(2026, 11, 1), date(2026, 11, 30), go_live=go_live
    )
    by_item = {(s.item_id, s.requirement): s for s in statuses}
    video = by_item["counter_video_review", Requirement.FREQUENCY]
    assert video.required == 11  # 18–30 November without its two Sundays
    assert video.partial
    weekly = by_item["counter_arrears_box", Requirement.FREQUENCY]
    # Weeks ending 22 and 29 November (the one of the 1st–8th lies before go-live).
    assert (weekly.periods, weekly.partial) == (2, True)
    assert by_item["counter_tickets_meter", Requirement.FREQUENCY].required == 1
    before = evaluate_period(
        COUNTER, org(MON_SAT), CALENDAR, [], date(2026, 10, 1), date(2026, 10, 31), go_live=go_live
    )
    assert before == []


@pytest.mark.parametrize(
    ("text", "weekdays"),
    [
        ("1-6", {0, 1, 2, 3, 4, 5}),
        ("1-5,7", {0, 1, 2, 3, 4, 6}),
        ("周一至周六", {0, 1, 2, 3, 4, 5}),
        ("一、三、五", {0, 2, 4}),
        ("每天", set(range(7))),
        ("8", None),
        ("6-1", None),
        ("周八", None),
        ("", None),
    ],
)
def test_open_days_as_written(text: str, weekdays: set[int] | None) -> None:
    found = parse_open_days(text)
    assert (None if found is None else set(found)) == weekdays


def test_every_three_calendar_days_at_a_station_open_every_day() -> None:
    """No 10-day gap over National Day: a station open every day (holidays too) checks
    shortages and damage every three calendar days."""
    every_day = OperatingDays(frozenset(range(7)), on_holidays=True)
    catalog = replace(CATALOG, items=(CATALOG.get("delivery_shortage_damage"),))
    station = OrgSnapshot(
        units=(
            OrgUnit(1, "区公司", Level.REGION, None),
            OrgUnit(2, "市", Level.CITY, 1),
            OrgUnit(3, "县", Level.COUNTY, 2),
            OrgUnit(4, "投递部", Level.SITE, 3, SiteKind.DELIVERY, Area.URBAN, every_day),
        ),
        inspectors=(OrgInspector(7, 4, frozenset({"delivery_head"})),),
    )
    history: list[HistoryEntry] = []
    day = date(2026, 9, 20)
    while day <= date(2026, 10, 31):
        history += [
            a.as_history(AssignmentStatus.DONE)
            for a in plan_day(catalog, station, CALENDAR, day, history)
        ]
        day += timedelta(days=1)
    days = sorted(entry.day for entry in history)
    # One check in each three-day block: never more than five days apart, holidays too.
    assert max((b - a).days for a, b in pairwise(days)) <= 5
    assert any(date(2026, 10, 1) <= day <= date(2026, 10, 7) for day in days)
    statuses = evaluate_period(
        catalog, station, CALENDAR, history, date(2026, 10, 1), date(2026, 10, 31)
    )
    assert all(s.met for s in statuses)
