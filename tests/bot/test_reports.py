"""A month's report computed from a known October 2026 of the sample organisation, on SQLite
and PostgreSQL: every figure below is counted by hand from the rows this file inserts.

October 2026 has 18 working days: 8, 9, 10 (a make-up Saturday), 12–16, 19–23, 26–30.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from bot.clock import ManualClock
from bot.services import Services
from bot.settings import load_settings
from bot.usecases import reports
from bot.views import texts
from bot.views.cards import InspectorProgress, MonthFigures, Progress
from db.models import (
    Assignment,
    AssignmentStatus,
    Complaint,
    ComplaintStatus,
    CorrectiveAction,
    Finding,
    Staff,
    Unit,
)
from db.org_import import import_org, read_org_file
from scheduler.catalog import load_catalog
from scheduler.finding_categories import finding_category
from scheduler.monthly_report import (
    ComplaintStats,
    CorrectiveSummary,
    CountRow,
    EscalationRow,
    ReportMonth,
)
from tests.conftest import REPO, SAMPLE_ORG, SHANGHAI

OCTOBER = ReportMonth(2026, 10)
ITEMS = ("counter_video_review", "delivery_letters_urban", "county_delivery_spot_check")
VIDEO_DAYS = [date(2026, 10, d) for d in (8, 9, 10, 12, 13, 14, 15, 16, 19, 20, 21, 22)] + [
    date(2026, 10, d) for d in (23, 26, 27, 28, 29, 30)
]


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
async def services(database_url: str, tmp_path: Path) -> AsyncIterator[Services]:
    settings = load_settings(REPO / "config.toml", {"DATABASE_URL": database_url})
    calendar = settings.calendar.model_copy(update={"admin_dir": tmp_path / "calendar"})
    settings = settings.model_copy(update={"calendar": calendar})
    built = Services.create(settings, ManualClock(at(11, 25, 9)))
    # Three items keep the hand count short: a daily counter item, a twice-weekly urban
    # delivery item and a county spot check with coverage quotas.
    built.catalog = replace(built.catalog, items=tuple(i for i in built.catalog if i.id in ITEMS))
    async with built.db.session() as session:
        await import_org(
            read_org_file(SAMPLE_ORG), labels=texts.IMPORT_LABELS, session=session, now=at(9, 1, 9)
        )
    yield built
    await built.db.close()


async def _ids(services: Services) -> tuple[dict[str, int], dict[str, Staff]]:
    async with services.db.session() as session:
        units = {u.code: u.id for u in (await session.exec(select(Unit))).all() if u.id}
        staff = {s.code: s for s in (await session.exec(select(Staff))).all()}
    return units, staff


async def _october(services: Services) -> None:
    """The known month. Comments give where each row lands in the TZ (土默特左旗局) report."""
    u, s = await _ids(services)
    rows: list[Assignment] = []
    done = AssignmentStatus.DONE

    def check(
        key: str,
        day: date,
        item: str,
        who: str,
        target: str,
        status: AssignmentStatus = done,
        recheck: bool = False,
    ) -> Assignment:
        inspector = s[who]
        assert inspector.id is not None
        assignment = Assignment(
            key=key,
            day=day,
            item_id=item,
            inspector_id=inspector.id,
            unit_id=inspector.unit_id,
            target_site_id=u[target],
            status=status,
            is_recheck=recheck,
        )
        rows.append(assignment)
        return assignment

    # 周晓燕 (TZ-C1) reviews the video 18 days: 16 done, 2 missed.
    for n, day in enumerate(VIDEO_DAYS):
        status = AssignmentStatus.MISSED if n in (3, 7) else done
        check(f"v{n}", day, "counter_video_review", "I004", "TZ-C1", status)
    # A re-check (复查) is not a catalog check.
    check("re", date(2026, 10, 13), "counter_video_review", "I004", "TZ-C1", recheck=True)
    # 陈明 (TZ-D1) checks letters twice; 郑丽 (TZ) spot-checks the urban station once.
    check("l1", date(2026, 10, 13), "delivery_letters_urban", "I003", "TZ-D1")
    check("l2", date(2026, 10, 15), "delivery_letters_urban", "I003", "TZ-D1")
    spot = check("s1", date(2026, 10, 15), "county_delivery_spot_check", "I002", "TZ-D1")
    # 黄磊 (TK-D2) is in the other county: not in TZ's report, in HH's.
    check("tk", date(2026, 10, 15), "delivery_letters_urban", "I005", "TK-D2")
    # November is another month.
    check("nov", date(2026, 11, 2), "counter_video_review", "I004", "TZ-C1")
    video = rows[0]
    async with services.db.session() as session:
        session.add_all(rows)
        await session.flush()
        video_id, spot_id = video.id, spot.id
        assert video_id is not None and spot_id is not None

        async def finding(site: str, item: str, question: str, when: datetime) -> Finding:
            row = Finding(
                assignment_id=spot_id if item == "county_delivery_spot_check" else video_id,
                item_id=item,
                site_id=u[site],
                question_id=question,
                created_at=when,
            )
            session.add(row)
            await session.flush()
            return row

        f1 = await finding("TZ-C1", "counter_video_review", "attitude_ok", at(10, 9, 18))
        f2 = await finding(
            "TZ-C1", "counter_video_review", "acceptance_inspection_ok", at(10, 20, 18)
        )
        f3 = await finding("TZ-D1", "county_delivery_spot_check", "periodicals_ok", at(10, 15, 11))
        f4 = await finding("TK-D2", "delivery_letters_urban", "not_delivered", at(10, 15, 11))
        f5 = await finding("TZ-C1", "counter_video_review", "attitude_ok", at(9, 28, 18))
        f6 = await finding("TZ-C1", "counter_video_review", "attitude_ok", at(9, 29, 18))

        def action(row: Finding, deadline: datetime, closed: datetime | None) -> None:
            assert row.id is not None
            session.add(CorrectiveAction(finding_id=row.id, deadline=deadline, closed_at=closed))

        action(f1, at(10, 12, 18), at(10, 12, 15))  # closed in time
        action(f2, at(10, 23, 18), at(10, 26, 10))  # closed late
        action(f3, at(10, 20, 18), None)  # still open, overdue
        action(f4, at(10, 20, 18), None)  # TK: not TZ's
        action(f5, at(10, 9, 18), at(10, 10, 11))  # opened in September, closed late in October
        action(f6, at(9, 30, 18), at(9, 30, 17))  # settled in September: not this report's

        def complaint(
            category: str,
            reporter: str,
            site: str | None,
            routed: datetime,
            answered: datetime | None = None,
            level: int = 0,
            status: ComplaintStatus = ComplaintStatus.ANSWERED,
        ) -> None:
            reporter_id = s[reporter].id
            assert reporter_id is not None
            session.add(
                Complaint(
                    reporter_id=reporter_id,
                    text="测试投诉",
                    status=status,
                    category=category,
                    categories=category,
                    confidence=0.9,
                    site_id=u[site] if site else None,
                    created_at=routed - timedelta(minutes=1),
                    routed_at=routed,
                    answered_at=answered,
                    escalation_level=level,
                )
            )

        # 2.5 working hours.
        complaint("delay", "C002", "TZ-D1", at(10, 8, 9), at(10, 8, 11, 30))
        # Fri 16:00 → Sat (make-up day) → Mon 10:00: 1.5 + 9 + 1.5 = 12 working hours.
        complaint("delay", "C002", "TZ-D1", at(10, 9, 16), at(10, 12, 10), level=2)
        # No site recognised: the reporter's unit (TZ-C1) places it; unanswered.
        complaint("attitude", "C001", None, at(10, 20, 10), level=1, status=ComplaintStatus.OPEN)
        complaint("delay", "C002", "TK-D1", at(10, 21, 10), at(10, 21, 12))  # TK
        complaint("delay", "C002", "TZ-D1", at(10, 22, 10), status=ComplaintStatus.DRAFT)
        complaint("delay", "C002", "TZ-D1", at(9, 30, 10), at(9, 30, 11))  # September


async def _figures(services: Services, viewer: str, unit: str | None = None) -> MonthFigures:
    _, staff = await _ids(services)
    if unit is None:
        figures = await reports.month_figures(services, staff[viewer], OCTOBER)
    else:
        files = await reports.report_files(services, staff[viewer], OCTOBER, unit)
        assert isinstance(files, reports.ReportFiles), files
        figures = files.figures
    assert isinstance(figures, MonthFigures), figures
    return figures


async def test_county_report_of_a_known_month(services: Services) -> None:
    await _october(services)
    figures = await _figures(services, "M003")
    report = figures.report
    assert figures.as_of is None  # October is over on November 25
    assert report.unit.name == "土默特左旗局"

    checks = {row.item_id: (row.required, row.done, row.missed) for row in report.checks}
    assert checks == {
        # Daily on the days TZ-C1 opens (config.toml: Monday to Saturday): October's 18
        # working days and 3 ordinary Saturdays. Nobody at TZ-C2 holds the duty: its 21
        # are listed apart below.
        "counter_video_review": (21, 16, 2),
        # Twice in each week whose Sunday is in October (Oct 4, 11, 18, 25) at TZ-D1.
        "delivery_letters_urban": (8, 2, 0),
        # One urban (30 % of 1) and one rural (15 % of 1) delivery station.
        "county_delivery_spot_check": (2, 1, 0),
    }
    assert [(g.group, g.required, g.done, g.missed) for g in report.check_groups] == [
        ("营业", 21, 16, 2),
        ("投递", 10, 3, 0),
    ]
    assert [(g.unit, g.clause, g.duty, g.required, g.quotas) for g in report.uncovered] == [
        ("毕克齐营业所", "第九条 1", "营业支局长", 21, 0),
    ]
    assert report.uncovered_required == 21
    assert [(q.label, q.checked, q.total, q.met) for q in report.quotas] == [
        ("土默特左旗局 城市投递部", 1, 1, True),
        ("土默特左旗局 农村投递部", 0, 1, False),
    ]
    assert report.findings_by_category == (
        CountRow("attitude", 1),
        CountRow("counter", 1),
        CountRow("periodical", 1),
    )
    assert [(f.site, f.found_on) for f in report.findings] == [
        ("察素齐营业支局", date(2026, 10, 9)),
        ("察素齐投递部", date(2026, 10, 15)),
        ("察素齐营业支局", date(2026, 10, 20)),
    ]
    assert report.corrective == CorrectiveSummary(
        opened=3, closed=3, closed_late=2, open=1, overdue=1
    )
    assert report.complaint_total == ComplaintStats(None, 3, 2, 2.5, 12.0)
    assert report.complaints_by_category == (
        ComplaintStats("delay", 2, 2, 2.5, 12.0),
        ComplaintStats("attitude", 1, 0, None, None),
    )
    assert report.escalations == (EscalationRow(1, 2, 1), EscalationRow(2, 1, 0))


async def test_city_report_holds_both_counties_and_the_other_county_only_its_own(
    services: Services,
) -> None:
    await _october(services)
    city = (await _figures(services, "M002")).report
    assert city.complaint_total.count == 4
    assert dict((r.item_id, r.done) for r in city.checks)["delivery_letters_urban"] == 3
    assert len(city.findings) == 4
    other = (await _figures(services, "M004")).report
    assert other.complaint_total.count == 1
    assert [f.site for f in other.findings] == ["伍什家投递支局"]
    assert other.corrective == CorrectiveSummary(1, 0, 0, 1, 1)


async def test_scope_refusals_and_the_rendered_files(services: Services) -> None:
    await _october(services)
    _, staff = await _ids(services)
    inspector, county = staff["I003"], staff["M003"]
    refused = reports.Refusal.OUT_OF_SCOPE
    assert await reports.report_files(services, inspector, OCTOBER, "TZ") == refused
    assert await reports.report_files(services, inspector, OCTOBER, "TK-D2") == refused
    assert await reports.report_files(services, county, OCTOBER, "TK") == refused
    assert await reports.report_files(services, county, OCTOBER, "HH") == refused
    assert await reports.report_files(services, county, OCTOBER, "NOPE") == (
        reports.Refusal.UNKNOWN_UNIT
    )
    future = ReportMonth(2026, 12)
    assert await reports.report_files(services, county, future) == reports.Refusal.FUTURE_MONTH

    files = await reports.report_files(services, county, OCTOBER, "TZ-D1")
    assert isinstance(files, reports.ReportFiles)
    assert files.filename == "检查报告书_察素齐投递部_2026年10月.xlsx"
    assert files.chart.startswith(b"\x89PNG")
    sheet = load_workbook(BytesIO(files.xlsx))["检查完成情况"]
    rows = [row[:6] for row in sheet.iter_rows(min_row=3, values_only=True)]
    assert ("平常商函外部投递检查（城市投递部）", "第十四条 3(1)", "投递", 8, 2, 0) in rows

    own = await reports.report_files(services, inspector, OCTOBER)
    assert isinstance(own, reports.ReportFiles)
    assert own.figures.report.unit.name == "察素齐投递部"


async def test_a_running_month_judges_deadlines_today(services: Services) -> None:
    await _october(services)
    assert isinstance(services.clock, ManualClock)
    services.clock.set(at(10, 21, 9))
    figures = await _figures(services, "M003")
    assert figures.as_of == date(2026, 10, 21)
    # On the 21st the open action's deadline (the 20th) has passed: overdue. On the 19th it
    # has not: the month's last day must not make it overdue before its time.
    corrective = figures.report.corrective
    assert (corrective.open, corrective.overdue) == (1, 1)
    services.clock.set(at(10, 19, 9))
    corrective = (await _figures(services, "M003")).report.corrective
    assert corrective.overdue == 0


@pytest.mark.parametrize(
    ("item", "questions", "category"),
    [
        ("counter_video_review", ["attitude_ok"], "attitude"),
        ("counter_video_review", ["acceptance_inspection_ok", "attitude_ok"], "counter"),
        ("counter_refusal_forced_sale", ["problem_found"], "forced_sale"),
        ("delivery_express_signoff", ["signoff_problems"], "false_delivery"),
        ("delivery_letters_rural", ["not_delivered", "recorded"], "delay"),
        ("delivery_letters_rural", ["recorded"], "other"),
        ("counter_morning_meeting", ["held"], "other"),
        ("county_delivery_spot_check", ["periodicals_ok"], "periodical"),
        ("county_delivery_spot_check", ["express_ok", "periodicals_ok"], "delay"),
        ("no_such_item", ["x"], "other"),
    ],
)
def test_finding_categories(item: str, questions: list[str], category: str) -> None:
    items = {i.id: i for i in load_catalog()}
    assert finding_category(items.get(item), item, questions) == category


def test_month_argument() -> None:
    assert reports.parse_month("2026-10") == OCTOBER
    assert reports.parse_month("2026-1") == ReportMonth(2026, 1)
    assert reports.parse_month("2026年10月") == OCTOBER
    assert reports.parse_month("202610") == OCTOBER
    for bad in ("2026-13", "2026-00", "10-2026", "十月", "", "2026-10-01"):
        assert reports.parse_month(bad) is None, bad
    assert "/report 2026-10" in texts.REPORT_USAGE


def test_progress_lists_at_most_80_inspectors() -> None:
    rows = tuple(InspectorProgress(f"检查员{n}", "站<1>", 1, 0, 0, 0) for n in range(85))
    text = texts.progress_text(Progress(date(2026, 11, 25), "区公司", rows))
    assert "共 85 项：✅ 已完成 0，⏳ 进行中 0，⬜ 未开始 85" in text
    assert "检查员79（站&lt;1&gt;）" in text and "检查员80" not in text
    assert "另有 5 名检查员未列出" in text
    assert len(text) < 4096
