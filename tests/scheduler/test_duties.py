"""Duties: each check goes to the staff holding the item's duty at the unit; a unit x item
nobody holds is listed as 无人承担 and never silently dropped."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from functools import cache

from db.province import generate_province, snapshot_of
from scheduler.catalog import Catalog, Doers, load_catalog
from scheduler.org import Area, Level, OrgInspector, OrgSnapshot, OrgUnit, SiteKind
from scheduler.planner import AssignmentStatus, evaluate_period, plan_day, uncovered

CATALOG = load_catalog()
MONDAY = date(2026, 11, 2)


class Weekdays:
    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5

    def is_holiday(self, day: date) -> bool:
        return False

    def working_days(self, start: date, end: date) -> list[date]:
        days = (start + timedelta(days=n) for n in range((end - start).days + 1))
        return [day for day in days if day.weekday() < 5]


@cache
def province() -> OrgSnapshot:
    return snapshot_of(generate_province(), CATALOG.duties)


def small_org(*staff: OrgInspector) -> OrgSnapshot:
    return OrgSnapshot(
        units=(
            OrgUnit(1, "区公司", Level.REGION, None),
            OrgUnit(2, "市", Level.CITY, 1),
            OrgUnit(3, "县", Level.COUNTY, 2),
            OrgUnit(4, "营业支局", Level.SITE, 3, SiteKind.COUNTER, Area.URBAN),
        ),
        inspectors=staff,
    )


def counter_only(catalog: Catalog) -> Catalog:
    items = tuple(item for item in catalog if item.id.startswith("counter_"))
    return replace(catalog, items=items)


def test_each_assignment_goes_to_a_holder_of_the_items_duty() -> None:
    org = province()
    people = {person.staff_id: person for person in org.inspectors}
    plan = plan_day(CATALOG, org, Weekdays(), MONDAY, [])
    assert plan
    for assignment in plan:
        person = people[assignment.inspector_id]
        assert CATALOG.get(assignment.item_id).duty in person.duties
        assert person.unit_id == assignment.unit_id


def test_units_nobody_covers_are_listed_and_get_nothing_planned() -> None:
    org = province()
    gaps = {(gap.item_id, gap.unit_id) for gap in uncovered(CATALOG, org)}
    assert gaps
    plan = plan_day(CATALOG, org, Weekdays(), MONDAY, [])
    assert not {(a.item_id, a.unit_id) for a in plan} & gaps


def test_a_head_of_any_role_gets_the_checks_and_an_inspector_without_duties_too() -> None:
    catalog = counter_only(CATALOG)
    for person in (OrgInspector(7, 4, frozenset({"counter_head"})), OrgInspector(7, 4)):
        plan = plan_day(catalog, small_org(person), Weekdays(), MONDAY, [])
        assert {a.item_id for a in plan} >= {"counter_video_review", "counter_morning_meeting"}
        assert {a.inspector_id for a in plan} == {7}
        assert not uncovered(catalog, small_org(person))


def test_holders_of_another_duty_leave_the_unit_uncovered() -> None:
    catalog = counter_only(CATALOG)
    org = small_org(OrgInspector(7, 4, frozenset({"delivery_head"})))
    assert plan_day(catalog, org, Weekdays(), MONDAY, []) == ()
    site_items = {item.id for item in catalog if item.level is Level.SITE}
    assert {gap.item_id for gap in uncovered(catalog, org) if gap.unit_id == 4} == site_items
    statuses = evaluate_period(catalog, org, Weekdays(), [], date(2026, 11, 1), date(2026, 11, 30))
    site_statuses = [status for status in statuses if status.unit_id == 4]
    assert site_statuses and all(status.uncovered for status in site_statuses)


def test_one_holder_in_turn_or_all_of_them() -> None:
    two = (
        OrgInspector(7, 4, frozenset({"counter_head"})),
        OrgInspector(8, 4, frozenset({"counter_head"})),
    )
    catalog = counter_only(CATALOG)
    one = plan_day(catalog, small_org(*two), Weekdays(), MONDAY, [])
    video = [a for a in one if a.item_id == "counter_video_review"]
    assert len(video) == 1
    everyone = replace(
        catalog,
        items=tuple(
            replace(item, doers=Doers.ALL) if item.id == "counter_video_review" else item
            for item in catalog
        ),
    )
    both = [
        a
        for a in plan_day(everyone, small_org(*two), Weekdays(), MONDAY, [])
        if a.item_id == "counter_video_review"
    ]
    assert {a.inspector_id for a in both} == {7, 8}
    assert len({a.key for a in both}) == 2
    # Both did it on Monday: the unit's Monday counts once, and it is met.
    history = [a.as_history(AssignmentStatus.DONE) for a in both]
    statuses = evaluate_period(everyone, small_org(*two), Weekdays(), history, MONDAY, MONDAY)
    status = next(s for s in statuses if s.item_id == "counter_video_review")
    assert (status.required, status.done, status.met) == (1, 1, True)
