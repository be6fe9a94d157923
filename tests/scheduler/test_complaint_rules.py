"""Routing and escalation rules over a small organisation."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from scheduler.complaints import (
    StaffPost,
    answer_deadline,
    escalation_chain,
    escalation_time,
    resolve_handler,
    units_upwards,
    units_within,
)
from scheduler.org import Area, Department, Level, OrgUnit, SiteKind

TZ = ZoneInfo("Asia/Shanghai")
UNITS = {
    1: OrgUnit(1, "区公司", Level.REGION, None),
    2: OrgUnit(2, "市分公司", Level.CITY, 1),
    3: OrgUnit(3, "甲县局", Level.COUNTY, 2),
    4: OrgUnit(4, "乙县局", Level.COUNTY, 2),
    5: OrgUnit(5, "甲投递部", Level.SITE, 3, SiteKind.DELIVERY, Area.URBAN),
    6: OrgUnit(6, "乙营业所", Level.SITE, 4, SiteKind.COUNTER, Area.RURAL),
}


def test_hierarchy_walks() -> None:
    assert units_upwards(5, UNITS) == [5, 3, 2, 1]
    assert units_within(3, UNITS) == {3, 5}
    assert units_within(2, UNITS) == {2, 3, 4, 5, 6}


def test_the_nearest_handler_of_the_department_gets_it() -> None:
    handlers = [
        StaffPost(10, 3, Department.DELIVERY),
        StaffPost(11, 2, Department.DELIVERY),
        StaffPost(12, 2, Department.FINANCE),
        StaffPost(9, 3, Department.DELIVERY),
    ]
    assert resolve_handler(Department.DELIVERY, 5, UNITS, handlers) == handlers[3]  # lowest id
    assert resolve_handler(Department.DELIVERY, 6, UNITS, handlers) == handlers[1]  # up to city
    assert resolve_handler(Department.FINANCE, 5, UNITS, handlers) == handlers[2]
    assert resolve_handler(Department.MARKET, 5, UNITS, handlers) is None


def test_the_escalation_chain_skips_units_without_managers() -> None:
    managers = [StaffPost(20, 3), StaffPost(21, 1), StaffPost(22, 1)]
    assert escalation_chain(5, UNITS, managers) == [[20], [21, 22]]
    assert escalation_chain(6, UNITS, managers) == [[21, 22]]


class EveryDayCalendar:
    def add_working_days(self, instant: datetime, days: int) -> datetime:
        return instant + timedelta(days=days)


def test_deadline_and_escalation_times() -> None:
    created = datetime(2026, 9, 30, 10, tzinfo=TZ)
    deadline = answer_deadline(created, 2, EveryDayCalendar())
    assert deadline == datetime(2026, 10, 2, 10, tzinfo=TZ)
    assert escalation_time(deadline, 1, EveryDayCalendar()) == deadline
    assert escalation_time(deadline, 3, EveryDayCalendar()) == deadline + timedelta(days=2)
