"""The monthly 通报: units of one level ranked on the eight elements, with last month's."""

from __future__ import annotations

from datetime import datetime

from scheduler.bulletin import BASE_SCORE, UnitMonth, build_bulletin, unit_score
from scheduler.monthly_report import (
    Complaint,
    Element,
    MonthlyReport,
    ReportMonth,
    ReportUnit,
    build_monthly_report,
)
from scheduler.org import Level
from tests.conftest import SHANGHAI

OCTOBER, SEPTEMBER = ReportMonth(2026, 10), ReportMonth(2026, 9)
WEIGHTS = {element: 1.0 for element in Element} | {Element.ATTITUDE: 3.0, Element.HIGHLIGHT: 2.0}


def report(name: str, month: ReportMonth, *categories: str, highlights: int = 0) -> MonthlyReport:
    at = datetime(month.year, month.month, 5, 10, tzinfo=SHANGHAI)
    return build_monthly_report(
        ReportUnit(hash(name) % 1000, name, Level.COUNTY),
        month,
        complaints=[Complaint(category, at) for category in categories],
        highlights=highlights,
    )


def test_units_rank_on_weighted_elements_with_last_months_change() -> None:
    units = [
        UnitMonth(report("甲旗局", OCTOBER, "attitude"), report("甲旗局", SEPTEMBER)),
        UnitMonth(
            report("乙县局", OCTOBER, "delay", highlights=1),
            report("乙县局", SEPTEMBER, "attitude", "attitude"),
        ),
        UnitMonth(report("丙旗局", OCTOBER)),
    ]
    bulletin = build_bulletin("某市分公司", units, WEIGHTS)
    assert bulletin is not None and not bulletin.per_items
    rows = {row.unit: row for row in bulletin.rows}
    # 丙: nothing → 100. 乙: delay (1 responsibility + 1 complaint) - 2 + highlight 2 → 100,
    # ranked by name after 丙. 甲: attitude 3 + complaint 1 → 96.
    assert [row.unit for row in bulletin.rows] == ["丙旗局", "乙县局", "甲旗局"]
    assert rows["丙旗局"].score == BASE_SCORE and rows["丙旗局"].previous_score is None
    assert rows["乙县局"].score == 100.0
    assert rows["乙县局"].previous_score == 100 - 2 * 3 - 2 and rows["乙县局"].change == 8
    assert (rows["甲旗局"].score, rows["甲旗局"].previous_rank) == (96.0, 1)


def test_volume_known_for_all_turns_counts_into_rates_per_10k() -> None:
    big = UnitMonth(report("大站", OCTOBER, "delay", "delay"), volume=200_000)
    small = UnitMonth(report("小站", OCTOBER, "delay"), volume=10_000)
    bulletin = build_bulletin("县局", [big, small], WEIGHTS)
    assert bulletin is not None and bulletin.per_items
    assert [row.unit for row in bulletin.rows] == ["大站", "小站"]
    assert bulletin.rows[0].issues[Element.RESPONSIBILITY] == 0.1
    unknown = build_bulletin("县局", [big, UnitMonth(small.report)], WEIGHTS)
    assert unknown is not None and not unknown.per_items


def test_score_formula() -> None:
    assert unit_score({Element.ERROR: 2, Element.HIGHLIGHT: 1}, WEIGHTS) == 100 - 2 + 2
    assert build_bulletin("无", [], WEIGHTS) is None
