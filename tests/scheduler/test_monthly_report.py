"""The monthly report's figures, computed by hand from one known month (October 2026)."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler.monthly_report import (
    CATEGORIES,
    ELEMENT_OF_CATEGORY,
    CheckGroupRow,
    CheckTally,
    Complaint,
    ComplaintStats,
    CorrectiveAction,
    CorrectiveSummary,
    CountRow,
    Element,
    EscalationRow,
    Finding,
    MonthlyReport,
    QuotaResult,
    ReportMonth,
    ReportUnit,
    build_monthly_report,
    percentile_nearest_rank,
    report_due,
    report_send_day,
)
from scheduler.org import Level

SHANGHAI = ZoneInfo("Asia/Shanghai")
OCTOBER = ReportMonth(2026, 10)
UNIT = ReportUnit(7, "呼和浩特市分公司", Level.CITY)

EXPRESS = "特快、给据邮件投递清单签收质量检查"
VIDEO = "营业终了调取监控录像检查"
TRANSFER = "邮件接转点转投质量检查"
MEETING = "营业质量专项分析会"

CHECKS = (
    CheckTally("delivery_express_signoff", EXPRESS, "第十四条 1(1)", 22, 20, 2, group="投递"),
    CheckTally("counter_video_review", VIDEO, "第九条 1", 22, 22, 0, group="营业"),
    # 2 of 20 neither done nor missed: still open when the report was made.
    CheckTally("transfer_point_visit", TRANSFER, "第十四条 4(2)", 20, 15, 3, group="投递"),
    CheckTally("counter_monthly_meeting", MEETING, "第九条 7(2)", 0, 0, 0),
)
QUOTAS = (
    QuotaResult("投递质量现场检查", "第十五条 1", "城市投递部", 12, 30, True, threshold_percent=30),
    QuotaResult("投递质量现场检查", "第十五条 1", "农村投递部", 2, 20, False, threshold_percent=15),
)
FINDINGS = (
    Finding("delivery_express_signoff", EXPRESS, "新城区投递部", date(2026, 10, 9), "delay"),
    Finding("delivery_express_signoff", EXPRESS, "赛罕区投递部", date(2026, 10, 15), "delay"),
    Finding("transfer_point_visit", TRANSFER, "新城区投递部", date(2026, 10, 20), "damage"),
    Finding("counter_video_review", VIDEO, "中山路支局", date(2026, 10, 21), "forced_sale"),
    Finding("counter_video_review", VIDEO, "中山路支局", date(2026, 10, 22)),
    # September: belongs to last month's report.
    Finding("delivery_express_signoff", EXPRESS, "新城区投递部", date(2026, 9, 30), "delay"),
)
ACTIONS = (
    CorrectiveAction(date(2026, 9, 20), date(2026, 9, 27), date(2026, 9, 25)),  # settled before
    CorrectiveAction(date(2026, 9, 25), date(2026, 10, 9), date(2026, 10, 8)),  # closed in time
    CorrectiveAction(date(2026, 10, 10), date(2026, 10, 16), date(2026, 10, 20)),  # closed late
    CorrectiveAction(date(2026, 10, 20), date(2026, 10, 27)),  # open, overdue
    CorrectiveAction(date(2026, 10, 28), date(2026, 11, 4)),  # open, in time
    CorrectiveAction(date(2026, 10, 25), date(2026, 10, 31)),  # due on the last day: in time
    CorrectiveAction(date(2026, 10, 26), date(2026, 10, 30), date(2026, 11, 2)),  # overdue then
    CorrectiveAction(date(2026, 11, 1), date(2026, 11, 5)),  # next month
)


def _complaint(category: str, hours: float | None, level: int = 0, day: int = 12) -> Complaint:
    created = datetime(2026, 10, day, 9, 30, tzinfo=SHANGHAI)
    answered = None if hours is None else created + timedelta(hours=hours)
    return Complaint(category, created, answered, hours, level)


COMPLAINTS = (
    _complaint("delay", 2.0),
    _complaint("delay", 5.5),
    _complaint("delay", 8.0),
    _complaint("delay", None, level=2),
    _complaint("delay", 1.0),
    _complaint("attitude", 3.0, level=1),
    _complaint("forced_sale", 12.0, level=1),
    _complaint("loss", None, level=3),
    _complaint("other", 0.5),
)


def sample_report() -> MonthlyReport:
    return build_monthly_report(
        UNIT,
        OCTOBER,
        checks=CHECKS,
        quotas=QUOTAS,
        findings=FINDINGS,
        actions=ACTIONS,
        complaints=COMPLAINTS,
    )


# --- checks and quotas ----------------------------------------------------------------------


def test_per_item_completion() -> None:
    rows = {row.item_id: row for row in sample_report().checks}
    assert rows["delivery_express_signoff"].completion == pytest.approx(20 / 22)
    assert rows["counter_video_review"].completion == 1.0
    assert rows["transfer_point_visit"].completion == pytest.approx(0.75)
    assert rows["counter_monthly_meeting"].completion is None  # nothing required
    assert rows["counter_monthly_meeting"].group == MEETING  # no group: the title stands in


def test_check_totals_and_groups() -> None:
    report = sample_report()
    assert report.check_total == CheckGroupRow("", 64, 57, 5)
    assert report.check_total.completion == pytest.approx(57 / 64)
    assert report.check_groups == (
        CheckGroupRow("投递", 42, 35, 5),
        CheckGroupRow("营业", 22, 22, 0),
        CheckGroupRow(MEETING, 0, 0, 0),
    )


def test_quotas() -> None:
    report = sample_report()
    assert [quota.ratio for quota in report.quotas] == [pytest.approx(0.4), pytest.approx(0.1)]
    assert report.quotas_met == 1
    empty = QuotaResult("x", "y", "城市投递部", 0, 0, False, threshold_percent=30)
    assert empty.ratio is None


# --- findings and corrective actions -------------------------------------------------------


def test_findings_by_category_and_item_only_this_month() -> None:
    report = sample_report()
    assert len(report.findings) == 5
    assert report.findings[0].found_on == date(2026, 10, 9)
    assert report.findings_by_category == (
        CountRow("delay", 2),
        CountRow("damage", 1),
        CountRow("forced_sale", 1),
        CountRow("other", 1),
    )
    assert report.findings_by_item == (
        CountRow(EXPRESS, 2),
        CountRow(VIDEO, 2),
        CountRow(TRANSFER, 1),
    )


def test_corrective_actions_at_month_end() -> None:
    assert sample_report().corrective == CorrectiveSummary(
        opened=5, closed=2, closed_late=1, open=4, overdue=2
    )


# --- complaints and escalations -------------------------------------------------------------


def test_complaints_by_category_with_median_and_p90() -> None:
    report = sample_report()
    by_category = {stats.category: stats for stats in report.complaints_by_category}
    assert list(by_category) == ["delay", "loss", "attitude", "forced_sale", "other"]
    # delay answered in [1, 2, 5.5, 8]: median rank ceil(2) = 2nd, p90 rank ceil(3.6) = 4th.
    assert by_category["delay"] == ComplaintStats("delay", 5, 4, 2.0, 8.0)
    assert by_category["delay"].unanswered == 1
    assert by_category["loss"] == ComplaintStats("loss", 1, 0, None, None)
    # all answered [0.5, 1, 2, 3, 5.5, 8, 12]: median rank 4, p90 rank ceil(6.3) = 7.
    assert report.complaint_total == ComplaintStats(None, 9, 7, 3.0, 12.0)


def test_repeats_satisfaction_and_the_justified_rate() -> None:
    created = datetime(2026, 10, 12, 9, 30, tzinfo=SHANGHAI)
    answered = created + timedelta(hours=2)
    complaints = (
        Complaint("delay", created, answered, 2.0, repeat=True, satisfied=False, justified=True),
        Complaint("delay", created, answered, 2.0, satisfied=True, justified=True),
        Complaint("loss", created, answered, 2.0, satisfied=True, justified=False),
        Complaint("loss", created),  # not answered: no verdict, not rated
    )
    report = build_monthly_report(
        UNIT, OCTOBER, checks=(), quotas=(), findings=(), actions=(), complaints=complaints
    )
    total = report.complaint_total
    assert (total.repeats, total.satisfied, total.dissatisfied) == (1, 2, 1)
    assert (total.justified, total.unjustified) == (2, 1)
    assert total.justified_rate == 2 / 3
    assert sample_report().complaint_total.justified_rate is None


def test_escalations_per_level() -> None:
    assert sample_report().escalations == (
        EscalationRow(level=1, complaints=4, unanswered=2),
        EscalationRow(level=2, complaints=2, unanswered=2),
        EscalationRow(level=3, complaints=1, unanswered=1),
    )


@pytest.mark.parametrize(
    ("values", "percent", "expected"),
    [
        ([15, 20, 35, 40, 50], 5, 15),
        ([15, 20, 35, 40, 50], 30, 20),
        ([15, 20, 35, 40, 50], 40, 20),
        ([15, 20, 35, 40, 50], 50, 35),
        ([15, 20, 35, 40, 50], 100, 50),
        ([3, 1, 2, 4], 50, 2),  # unsorted input; an observed value, not 2.5
        (list(range(1, 11)), 90, 9),  # 0.9 * 10 is 9.000000000000002 in floating point
        (list(range(1, 11)), 91, 10),
        ([7.5], 90, 7.5),
        ([], 50, None),
    ],
)
def test_percentile_nearest_rank(values: list[float], percent: float, expected: float) -> None:
    assert percentile_nearest_rank(values, percent) == expected


@pytest.mark.parametrize("percent", [0, -1, 101])
def test_percentile_rejects_bad_percent(percent: float) -> None:
    with pytest.raises(ValueError, match="percent"):
        percentile_nearest_rank([1.0], percent)


# --- scorecard ------------------------------------------------------------------------------


def test_scorecard_counts_issues_per_element() -> None:
    report = sample_report()
    scores = {score.element: score for score in report.scorecard}
    assert list(scores) == list(Element)
    assert scores[Element.ATTITUDE].issues == 1
    assert scores[Element.SKILL].issues == 0
    responsibility = scores[Element.RESPONSIBILITY]
    assert (responsibility.issues, responsibility.complaints, responsibility.findings) == (7, 5, 2)
    assert scores[Element.HARDWARE].issues == 0
    management = scores[Element.MANAGEMENT]
    assert (management.complaints, management.findings, management.overdue_actions) == (1, 1, 2)
    # Missed checks and unmet quotas are lapses of management too.
    assert (management.missed_checks, management.unmet_quotas) == (5, 1)
    assert management.issues == 10
    assert management.categories == ("forced_sale", "hotline")  # 11185 unanswered: staffing
    assert scores[Element.HIGHLIGHT].issues == 0  # recorded highlights: none this month
    assert scores[Element.COMPLAINT].issues == 9
    assert scores[Element.ERROR].issues == 2  # one lost item, one damaged
    assert scores[Element.ERROR].categories == ("loss", "damage", "finance")
    assert report.unmapped_issues == 2


def test_every_category_but_other_maps_to_an_element() -> None:
    assert set(ELEMENT_OF_CATEGORY) == set(CATEGORIES) - {"other"}
    assert Element.HIGHLIGHT not in ELEMENT_OF_CATEGORY.values()
    assert Element.COMPLAINT not in ELEMENT_OF_CATEGORY.values()


def test_empty_month() -> None:
    report = build_monthly_report(UNIT, OCTOBER)
    assert report.check_total == CheckGroupRow("", 0, 0, 0)
    assert report.check_total.completion is None
    assert report.complaint_total == ComplaintStats(None, 0, 0, None, None)
    assert report.escalations == ()
    assert report.corrective == CorrectiveSummary(0, 0, 0, 0, 0)
    assert {score.issues for score in report.scorecard} == {0}


def test_hardware_counts_equipment_findings_and_complaints_whatever_their_category() -> None:
    at = datetime(2026, 10, 5, 10, tzinfo=SHANGHAI)
    report = build_monthly_report(
        UNIT,
        OCTOBER,
        findings=[
            Finding("counter_tickets_meter", "邮资机", "某支局", date(2026, 10, 5), "finance", True)
        ],
        complaints=[Complaint("counter", at, hardware=True), Complaint("hotline", at)],
        highlights=3,
    )
    scores = {score.element: score for score in report.scorecard}
    assert (scores[Element.HARDWARE].complaints, scores[Element.HARDWARE].findings) == (1, 1)
    assert scores[Element.SKILL].issues == 0 and scores[Element.ERROR].issues == 0
    assert scores[Element.MANAGEMENT].complaints == 1
    assert scores[Element.HIGHLIGHT].issues == 3


# --- validation -----------------------------------------------------------------------------


def test_rejects_bad_inputs() -> None:
    with pytest.raises(ValueError, match="unknown category 'lost'"):
        build_monthly_report(UNIT, OCTOBER, complaints=[_complaint("lost", 1.0)])
    with pytest.raises(ValueError, match="finding x at 站"):
        build_monthly_report(
            UNIT, OCTOBER, findings=[Finding("x", "X", "站", date(2026, 10, 1), "bad")]
        )
    with pytest.raises(ValueError, match="missed must not be negative"):
        build_monthly_report(UNIT, OCTOBER, checks=[CheckTally("x", "X", "c", 1, 0, -1)])
    with pytest.raises(ValueError, match="needs threshold_percent or minimum"):
        build_monthly_report(UNIT, OCTOBER, quotas=[QuotaResult("t", "c", "l", 1, 2, True)])
    with pytest.raises(ValueError, match="response_hours"):
        build_monthly_report(UNIT, OCTOBER, complaints=[_complaint("delay", -1.0)])


def test_report_month() -> None:
    assert ReportMonth(2028, 2).last_day == date(2028, 2, 29)
    assert ReportMonth(2026, 12).next() == ReportMonth(2027, 1)
    assert ReportMonth(2027, 1).previous() == ReportMonth(2026, 12)
    assert ReportMonth.containing(date(2026, 11, 2)).previous() == OCTOBER
    with pytest.raises(ValueError, match=r"month must be 1\.\.12"):
        ReportMonth(2026, 13)


# --- when the report is sent ----------------------------------------------------------------

# Just enough of the 2026/2027 official calendar: National Day Oct 1-7 with the make-up
# Saturday Oct 10, and New Year's Day 2027.
HOLIDAYS = {date(2026, 10, d) for d in range(1, 8)} | {date(2027, 1, 1)}
MAKE_UP_DAYS = {date(2026, 10, 10)}


def is_working_day(day: date) -> bool:
    return day in MAKE_UP_DAYS or (day.weekday() < 5 and day not in HOLIDAYS)


@pytest.mark.parametrize(
    ("month", "send_day"),
    [
        (ReportMonth(2026, 10), date(2026, 11, 2)),  # Nov 1 is a Sunday
        (ReportMonth(2026, 9), date(2026, 10, 8)),  # National Day holiday Oct 1-7
        (ReportMonth(2026, 12), date(2027, 1, 4)),  # Jan 1 holiday, then a weekend
        (ReportMonth(2026, 11), date(2026, 12, 1)),
    ],
)
def test_report_send_day(month: ReportMonth, send_day: date) -> None:
    assert report_send_day(month, is_working_day) == send_day
    assert send_day.day < 10


def test_report_due_from_the_send_day_on() -> None:
    assert not report_due(OCTOBER, date(2026, 10, 31), is_working_day)
    assert not report_due(OCTOBER, date(2026, 11, 1), is_working_day)
    assert report_due(OCTOBER, date(2026, 11, 2), is_working_day)
    # The bot was down on the 2nd: it still sends when it is back.
    assert report_due(OCTOBER, date(2026, 11, 3), is_working_day)
    assert not report_due(ReportMonth(2026, 9), date(2026, 10, 7), is_working_day)
    assert report_due(ReportMonth(2026, 9), date(2026, 10, 8), is_working_day)


def test_report_send_day_without_working_days_falls_back_to_the_first(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="scheduler.monthly_report"):
        assert report_send_day(OCTOBER, lambda day: False) == date(2026, 11, 1)
    assert "no working day before the 10th" in caplog.text
