"""The monthly inspection report (检查报告书) of one unit: plain figures from plain data.

The caller (database layer) maps its rows to the input dataclasses below, already limited to
the unit and the units below it; ``build_monthly_report`` turns them into a frozen
``MonthlyReport`` that ``bot.views.report_render`` renders. No database, no Telegram, no clock.

Conventions, chosen so that every figure can be checked by hand:

* Ratios (completion, coverage) are fractions (0.4 means 40 %) or ``None`` when the
  denominator is zero; they are not capped, so extra checks show as more than 100 %.
* Response times are in working hours, computed by the caller with the business calendar.
  Median and 90th percentile use the nearest-rank method (``percentile_nearest_rank``): the
  result is always a response time that really occurred, never an interpolation.
* Corrective actions are judged at the end of the month's last day: closed in the month,
  still open, or still open with the deadline already past (overdue).
* Escalations per level count complaints of the month whose escalation reached that level:
  a complaint escalated to level 2 counts once at level 1 and once at level 2.
* The scorecard maps complaint and finding categories to the eight service-quality elements
  of 第五篇 (``ELEMENT_OF_CATEGORY``) and counts issues per element. 硬件 counts equipment
  findings and complaints about broken equipment (whatever their routing category); 管理 adds
  overdue corrective actions, missed checks and unmet quotas; 亮点 counts the highlights
  recorded (a good, not an issue). The 通报 weighs them (scheduler/bulletin.py).
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Final

from scheduler.org import Level

logger = logging.getLogger(__name__)

# The routing categories of complaints (MISSION §2); findings use the same codes so that both
# feed one scorecard. Order is the display order.
CATEGORIES: Final[tuple[str, ...]] = (
    "delay",
    "loss",
    "damage",
    "false_delivery",
    "attitude",
    "forced_sale",
    "counter",
    "tracking",
    "periodical",
    "finance",
    "hotline",
    "other",
)

# 第十条 4 and 第十五条 6: the report reaches the level above "在次月10日前".
REPORT_DEADLINE_DAY: Final = 10


class Element(StrEnum):
    """The eight elements of service quality in 第五篇, in the essay's order."""

    ATTITUDE = "attitude"  # 态度
    SKILL = "skill"  # 技术
    RESPONSIBILITY = "responsibility"  # 责任心
    HARDWARE = "hardware"  # 硬件
    MANAGEMENT = "management"  # 管理
    HIGHLIGHT = "highlight"  # 亮点
    COMPLAINT = "complaint"  # 投诉
    ERROR = "error"  # 差错


# Why each category lands where it does (第五篇's definitions):
#   态度 "热情、周到 … 而不是态度冷漠、顶撞": attitude.
#   技术 "业务水平，包括理论知识和操作技能": counter (违章收寄, 拒办 for not knowing the
#        business, slow windows) and tracking (信息不上网, 无投递日戳: system operation).
#   责任心 "用户事情无小事": delay, false_delivery (虚假妥投, 代签), periodical (报刊晚到/未到).
#   硬件 "设备、用邮环境": findings of equipment questions and complaints about broken
#        equipment (``hardware``), not a category.
#   管理 "有效地利用人力、物力和财力去实现组织目标": forced_sale (搭售 and 违规加办 are
#        driven by targets set by managers) and hotline (11185 打不通: nobody staffed);
#        overdue corrective actions, missed checks and unmet quotas are added too.
#   差错 "是负数，越小越好": loss, damage, finance (代收款未到账): mistakes with a direct loss.
#   投诉: every complaint, whatever its category (count and response time).
#   亮点: nothing in our data records a highlight, so it is reported as "no data".
#   other: deliberately unmapped; shown on its own so nothing disappears.
ELEMENT_OF_CATEGORY: Final[Mapping[str, Element]] = {
    "attitude": Element.ATTITUDE,
    "counter": Element.SKILL,
    "tracking": Element.SKILL,
    "delay": Element.RESPONSIBILITY,
    "false_delivery": Element.RESPONSIBILITY,
    "periodical": Element.RESPONSIBILITY,
    "hotline": Element.MANAGEMENT,
    "forced_sale": Element.MANAGEMENT,
    "loss": Element.ERROR,
    "damage": Element.ERROR,
    "finance": Element.ERROR,
}


# --- inputs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportUnit:
    id: int
    name: str
    level: Level


@dataclass(frozen=True, order=True)
class ReportMonth:
    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"month must be 1..12, got {self.month}")
        if not 1 <= self.year <= 9998:
            raise ValueError(f"year out of range: {self.year}")

    @classmethod
    def containing(cls, day: date) -> ReportMonth:
        return cls(day.year, day.month)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return self.next().first_day - timedelta(days=1)

    def next(self) -> ReportMonth:
        if self.month == 12:
            return ReportMonth(self.year + 1, 1)
        return ReportMonth(self.year, self.month + 1)

    def previous(self) -> ReportMonth:
        if self.month == 1:
            return ReportMonth(self.year - 1, 12)
        return ReportMonth(self.year, self.month - 1)


@dataclass(frozen=True)
class CheckTally:
    """One catalog item's checks in the month: required by the plan, done, marked missed.

    ``required - done - missed`` may be positive (checks not yet due or still open when the
    report was made); ``group`` gathers items for the chart (e.g. "营业" / "投递"), the title
    is used when it is empty.
    """

    item_id: str
    title: str
    clause: str
    required: int
    done: int
    missed: int
    group: str = ""


@dataclass(frozen=True)
class QuotaResult:
    """A coverage quota over sites, e.g. ≥30% of urban delivery stations checked this month.

    ``met`` is the planner's verdict (it owns the rounding rules); this module only reports it.
    """

    title: str
    clause: str
    label: str
    checked: int
    total: int
    met: bool
    threshold_percent: float | None = None
    minimum: int | None = None

    @property
    def ratio(self) -> float | None:
        return self.checked / self.total if self.total else None


@dataclass(frozen=True)
class UncoveredCheck:
    """A unit's checks of one item that nobody holds the duty for (无人承担): counted apart
    from misses, since no one was ever asked to do them."""

    unit: str
    title: str
    clause: str
    duty: str
    required: int  # checks (or site visits) the month required of the unit
    quotas: int  # coverage quotas of the item the unit could not meet for want of anyone


@dataclass(frozen=True)
class Finding:
    """A problem found by a check; ``category`` uses the complaint category codes."""

    item_id: str
    item_title: str
    site: str
    found_on: date
    category: str = "other"
    hardware: bool = False  # an equipment question (邮资机, 设备): counts under 硬件


@dataclass(frozen=True)
class CorrectiveAction:
    """A 整改: dates are local (Asia/Shanghai) calendar dates; the deadline day itself is
    still in time."""

    opened_on: date
    deadline: date
    closed_on: date | None = None


@dataclass(frozen=True)
class Complaint:
    """A complaint created in the month. ``response_hours`` is None while unanswered;
    ``escalation_level`` is the highest level reached (0 = never escalated)."""

    category: str
    created_at: datetime
    answered_at: datetime | None = None
    response_hours: float | None = None
    escalation_level: int = 0
    hardware: bool = False  # about broken equipment: counts under 硬件, not its category
    # 重复投诉: linked to an earlier one about the same number, or reopened by the reporter.
    repeat: bool = False
    satisfied: bool | None = None  # the reporter's 满意 / 不满意, None while not rated
    justified: bool | None = None  # 有理 / 无理, None while not recorded


# --- outputs --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckRow:
    item_id: str
    title: str
    clause: str
    group: str
    required: int
    done: int
    missed: int

    @property
    def completion(self) -> float | None:
        return self.done / self.required if self.required else None


@dataclass(frozen=True)
class CheckGroupRow:
    group: str
    required: int
    done: int
    missed: int

    @property
    def completion(self) -> float | None:
        return self.done / self.required if self.required else None


@dataclass(frozen=True)
class CountRow:
    key: str
    count: int


@dataclass(frozen=True)
class CorrectiveSummary:
    opened: int  # opened in the month
    closed: int  # closed in the month
    closed_late: int  # of those, closed after their deadline
    open: int  # still open at the month's end, overdue ones included
    overdue: int  # of those, past their deadline


@dataclass(frozen=True)
class ComplaintStats:
    """Complaints of one category, or of all when ``category`` is None."""

    category: str | None
    count: int
    answered: int
    median_hours: float | None
    p90_hours: float | None
    repeats: int = 0
    satisfied: int = 0
    dissatisfied: int = 0
    justified: int = 0
    unjustified: int = 0

    @property
    def unanswered(self) -> int:
        return self.count - self.answered

    @property
    def justified_rate(self) -> float | None:
        """有理率 among the complaints whose verdict was recorded."""
        judged = self.justified + self.unjustified
        return self.justified / judged if judged else None


@dataclass(frozen=True)
class EscalationRow:
    level: int
    complaints: int
    unanswered: int


@dataclass(frozen=True)
class ElementScore:
    """Issues counted against one element; ``issues`` is None when no data speaks to it."""

    element: Element
    issues: int | None
    complaints: int
    findings: int
    overdue_actions: int
    categories: tuple[str, ...]
    missed_checks: int = 0
    unmet_quotas: int = 0


@dataclass(frozen=True)
class MonthlyReport:
    unit: ReportUnit
    month: ReportMonth
    checks: tuple[CheckRow, ...]
    check_total: CheckGroupRow
    check_groups: tuple[CheckGroupRow, ...]
    quotas: tuple[QuotaResult, ...]
    findings: tuple[Finding, ...]
    findings_by_category: tuple[CountRow, ...]
    findings_by_item: tuple[CountRow, ...]
    corrective: CorrectiveSummary
    complaints_by_category: tuple[ComplaintStats, ...]
    complaint_total: ComplaintStats
    escalations: tuple[EscalationRow, ...]
    scorecard: tuple[ElementScore, ...]
    unmapped_issues: int  # complaints and findings of category "other"
    uncovered: tuple[UncoveredCheck, ...] = ()

    @property
    def uncovered_required(self) -> int:
        return sum(gap.required for gap in self.uncovered)

    @property
    def quotas_met(self) -> int:
        return sum(1 for quota in self.quotas if quota.met)


# --- computation ----------------------------------------------------------------------------


def percentile_nearest_rank(values: Iterable[float], percent: float) -> float | None:
    """The nearest-rank percentile: the smallest value with at least ``percent`` % of the
    values at or below it (rank ``ceil(p/100 · n)``, at least 1). None for no values."""
    if not 0 < percent <= 100:
        raise ValueError(f"percent must be in (0, 100], got {percent}")
    ordered = sorted(values)
    if not ordered:
        return None
    # round() first so that e.g. 0.9 * 10 = 9.000000000000002 does not become rank 10.
    rank = max(1, math.ceil(round(percent / 100 * len(ordered), 9)))
    return ordered[rank - 1]


def build_monthly_report(
    unit: ReportUnit,
    month: ReportMonth,
    *,
    checks: Sequence[CheckTally] = (),
    quotas: Sequence[QuotaResult] = (),
    findings: Sequence[Finding] = (),
    actions: Sequence[CorrectiveAction] = (),
    complaints: Sequence[Complaint] = (),
    uncovered: Sequence[UncoveredCheck] = (),
    highlights: int = 0,
) -> MonthlyReport:
    """Compute the month's report. Findings and corrective actions outside the month are
    ignored; complaints are taken as given (the caller picks those created in the month, in
    local time, since only it knows the zone)."""
    for tally in checks:
        _check_tally(tally)
    for quota in quotas:
        _check_quota(quota)
    for finding in findings:
        _check_category(finding.category, f"finding {finding.item_id} at {finding.site}")
    for complaint in complaints:
        _check_complaint(complaint)

    month_findings = tuple(
        sorted(
            (f for f in findings if month.first_day <= f.found_on <= month.last_day),
            key=lambda f: (f.found_on, f.site, f.item_id),
        )
    )
    check_rows = tuple(
        CheckRow(t.item_id, t.title, t.clause, t.group or t.title, t.required, t.done, t.missed)
        for t in checks
    )
    corrective = _corrective_summary(actions, month)
    complaint_stats = tuple(
        _complaint_stats(category, [c for c in complaints if c.category == category])
        for category in CATEGORIES
        if any(c.category == category for c in complaints)
    )
    return MonthlyReport(
        unit=unit,
        month=month,
        checks=check_rows,
        check_total=_sum_rows("", check_rows),
        check_groups=tuple(
            _sum_rows(group, [row for row in check_rows if row.group == group])
            for group in dict.fromkeys(row.group for row in check_rows)
        ),
        quotas=tuple(quotas),
        findings=month_findings,
        findings_by_category=_category_counts(f.category for f in month_findings),
        findings_by_item=tuple(
            CountRow(title, count)
            for title, count in Counter(f.item_title for f in month_findings).most_common()
        ),
        corrective=corrective,
        complaints_by_category=complaint_stats,
        complaint_total=_complaint_stats(None, complaints),
        escalations=_escalations(complaints),
        scorecard=_scorecard(
            month_findings,
            complaints,
            corrective,
            highlights=highlights,
            missed_checks=sum(row.missed for row in check_rows),
            unmet_quotas=sum(1 for quota in quotas if not quota.met),
        ),
        unmapped_issues=sum(1 for f in month_findings if f.category not in ELEMENT_OF_CATEGORY)
        + sum(1 for c in complaints if c.category not in ELEMENT_OF_CATEGORY),
        uncovered=tuple(uncovered),
    )


def report_send_day(month: ReportMonth, is_working_day: Callable[[date], bool]) -> date:
    """The day the report of ``month`` goes to the level above: the next month's first
    working day, which the calendar always puts before the 10th; if a broken calendar has
    none, the 1st, because the 10th is the hard limit."""
    first = month.next().first_day
    for offset in range(REPORT_DEADLINE_DAY - 1):
        day = first + timedelta(days=offset)
        if is_working_day(day):
            return day
    logger.warning("no working day before the 10th of %s; sending the report on the 1st", first)
    return first


def report_due(month: ReportMonth, today: date, is_working_day: Callable[[date], bool]) -> bool:
    """True from the send day on, so a bot that was down that day still sends when it is back;
    the caller records the sending so that it happens once."""
    return today >= report_send_day(month, is_working_day)


# --- helpers --------------------------------------------------------------------------------


def _check_tally(tally: CheckTally) -> None:
    for name in ("required", "done", "missed"):
        if getattr(tally, name) < 0:
            raise ValueError(f"check item {tally.item_id}: {name} must not be negative")


def _check_quota(quota: QuotaResult) -> None:
    if quota.checked < 0 or quota.total < 0:
        raise ValueError(f"quota {quota.title} / {quota.label}: counts must not be negative")
    if quota.threshold_percent is None and quota.minimum is None:
        raise ValueError(f"quota {quota.title} / {quota.label}: needs threshold_percent or minimum")


def _check_category(category: str, where: str) -> None:
    if category not in CATEGORIES:
        raise ValueError(f"{where}: unknown category {category!r}")


def _check_complaint(complaint: Complaint) -> None:
    where = f"complaint of {complaint.created_at.isoformat()}"
    _check_category(complaint.category, where)
    if complaint.response_hours is not None and complaint.response_hours < 0:
        raise ValueError(f"{where}: response_hours must not be negative")
    if complaint.escalation_level < 0:
        raise ValueError(f"{where}: escalation_level must not be negative")


def _sum_rows(group: str, rows: Sequence[CheckRow]) -> CheckGroupRow:
    return CheckGroupRow(
        group=group,
        required=sum(row.required for row in rows),
        done=sum(row.done for row in rows),
        missed=sum(row.missed for row in rows),
    )


def _category_counts(categories: Iterable[str]) -> tuple[CountRow, ...]:
    counts = Counter(categories)
    return tuple(CountRow(c, counts[c]) for c in CATEGORIES if counts[c])


def _corrective_summary(
    actions: Sequence[CorrectiveAction], month: ReportMonth
) -> CorrectiveSummary:
    start, end = month.first_day, month.last_day
    opened = closed = closed_late = still_open = overdue = 0
    for action in actions:
        if action.opened_on > end:
            continue
        if action.closed_on is not None and action.closed_on < start:
            continue  # settled before this month: not this report's business
        if start <= action.opened_on:
            opened += 1
        if action.closed_on is not None and action.closed_on <= end:
            closed += 1
            closed_late += action.closed_on > action.deadline
        else:
            still_open += 1
            overdue += action.deadline < end
    return CorrectiveSummary(opened, closed, closed_late, still_open, overdue)


def _complaint_stats(category: str | None, complaints: Sequence[Complaint]) -> ComplaintStats:
    hours = [c.response_hours for c in complaints if c.response_hours is not None]
    return ComplaintStats(
        category=category,
        count=len(complaints),
        answered=len(hours),
        median_hours=percentile_nearest_rank(hours, 50),
        p90_hours=percentile_nearest_rank(hours, 90),
        repeats=sum(1 for c in complaints if c.repeat),
        satisfied=sum(1 for c in complaints if c.satisfied is True),
        dissatisfied=sum(1 for c in complaints if c.satisfied is False),
        justified=sum(1 for c in complaints if c.justified is True),
        unjustified=sum(1 for c in complaints if c.justified is False),
    )


def _escalations(complaints: Sequence[Complaint]) -> tuple[EscalationRow, ...]:
    top = max((c.escalation_level for c in complaints), default=0)
    return tuple(
        EscalationRow(
            level=level,
            complaints=sum(1 for c in complaints if c.escalation_level >= level),
            unanswered=sum(
                1 for c in complaints if c.escalation_level >= level and c.response_hours is None
            ),
        )
        for level in range(1, top + 1)
    )


def _scorecard(
    findings: Sequence[Finding],
    complaints: Sequence[Complaint],
    corrective: CorrectiveSummary,
    *,
    highlights: int,
    missed_checks: int,
    unmet_quotas: int,
) -> tuple[ElementScore, ...]:
    complaint_counts = Counter(c.category for c in complaints if not c.hardware)
    finding_counts = Counter(f.category for f in findings if not f.hardware)
    scores: list[ElementScore] = []
    for element in Element:
        if element is Element.HIGHLIGHT:
            scores.append(ElementScore(element, highlights, 0, 0, 0, ()))
            continue
        if element is Element.COMPLAINT:
            total = len(complaints)
            scores.append(ElementScore(element, total, total, 0, 0, ()))
            continue
        categories = tuple(c for c in CATEGORIES if ELEMENT_OF_CATEGORY.get(c) is element)
        from_complaints = sum(complaint_counts[c] for c in categories)
        from_findings = sum(finding_counts[c] for c in categories)
        if element is Element.HARDWARE:
            from_complaints = sum(1 for c in complaints if c.hardware)
            from_findings = sum(1 for f in findings if f.hardware)
        management = element is Element.MANAGEMENT
        overdue = corrective.overdue if management else 0
        missed = missed_checks if management else 0
        unmet = unmet_quotas if management else 0
        scores.append(
            ElementScore(
                element=element,
                issues=from_complaints + from_findings + overdue + missed + unmet,
                complaints=from_complaints,
                findings=from_findings,
                overdue_actions=overdue,
                categories=categories,
                missed_checks=missed,
                unmet_quotas=unmet,
            )
        )
    return tuple(scores)
