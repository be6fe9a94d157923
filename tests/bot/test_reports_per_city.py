"""The region's per-city items (第十一条 1–3, 第十六条 2, 4) in the monthly report's coverage
and in /progress, on SQLite and PostgreSQL: the sample organisation with a second city
(包头市分公司, two urban counters) and a region inspector holding 区公司检查员."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from bot.clock import ManualClock
from bot.services import Services
from bot.settings import load_settings
from bot.usecases import reports
from bot.views import texts
from bot.views.cards import CityCoverage
from db.models import Assignment, AssignmentStatus, Staff, Unit
from db.org_import import import_org, read_org_file
from scheduler.catalog import Span
from scheduler.monthly_report import ReportMonth
from tests.conftest import REPO, SAMPLE_ORG, SHANGHAI

ITEMS = (
    "region_counter_special_inspection",  # quarterly, once per city (the city the target)
    "region_counter_report_review",  # monthly, once per city
    "region_counter_video_review",  # quarterly, 2 urban counter branches per city
)
SECOND_CITY = """\
unit,BT,包头市分公司,NM,city,,,,,,
unit,BT-1,东河区局,BT,county,,,,,,
unit,BT-1-C1,东河营业支局,BT-1,site,counter,urban,,,,
unit,BT-1-C2,南门外营业所,BT-1,site,counter,urban,,,,
staff,R001,区检查员甲,NM,,,,inspector,supervision,13904710099,区公司检查员
"""


def at(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=SHANGHAI)


@pytest.fixture
async def services(database_url: str, tmp_path: Path) -> AsyncIterator[Services]:
    settings = load_settings(REPO / "config.toml", {"DATABASE_URL": database_url})
    calendar = settings.calendar.model_copy(update={"admin_dir": tmp_path / "calendar"})
    settings = settings.model_copy(update={"calendar": calendar})
    built = Services.create(settings, ManualClock(at(11, 25)))
    built.catalog = replace(built.catalog, items=tuple(i for i in built.catalog if i.id in ITEMS))
    org_file = tmp_path / "org.csv"
    org_file.write_text(SAMPLE_ORG.read_text(encoding="utf-8") + SECOND_CITY, encoding="utf-8")
    async with built.db.session() as session:
        await import_org(
            read_org_file(org_file), labels=texts.IMPORT_LABELS, session=session, now=at(9, 1)
        )
    yield built
    await built.db.close()


async def _seed(services: Services, *rows: tuple[str, date, str]) -> dict[str, Staff]:
    """Done checks of the region inspector: (item, day, target unit code)."""
    async with services.db.session() as session:
        units = {u.code: u.id for u in (await session.exec(select(Unit))).all()}
        staff = {s.code: s for s in (await session.exec(select(Staff))).all()}
        inspector = staff["R001"]
        assert inspector.id is not None
        for n, (item, day, target) in enumerate(rows):
            session.add(
                Assignment(
                    key=f"seed:{n}",
                    day=day,
                    item_id=item,
                    inspector_id=inspector.id,
                    unit_id=inspector.unit_id,
                    target_site_id=units[target],
                    status=AssignmentStatus.DONE,
                )
            )
    return staff


async def test_the_region_report_shows_each_citys_coverage(services: Services) -> None:
    staff = await _seed(services, ("region_counter_report_review", date(2026, 10, 20), "HH"))
    files = await reports.report_files(services, staff["M001"], ReportMonth(2026, 10))
    assert isinstance(files, reports.ReportFiles)
    report = files.figures.report
    # Each city its own row: 呼和浩特 reviewed in October, 包头 not.
    assert [(q.label, q.checked, q.total, q.met) for q in report.quotas] == [
        ("呼和浩特市分公司 检查次数", 1, 1, True),
        ("包头市分公司 检查次数", 0, 1, False),
    ]
    checks = {row.item_id: (row.required, row.done) for row in report.checks}
    assert checks == {"region_counter_report_review": (2, 1)}


async def test_progress_shows_which_cities_are_covered_this_period(services: Services) -> None:
    staff = await _seed(
        services,
        ("region_counter_special_inspection", date(2026, 10, 20), "HH"),
        ("region_counter_special_inspection", date(2026, 11, 3), "BT"),
        ("region_counter_video_review", date(2026, 10, 21), "TZ-C1"),
        ("region_counter_video_review", date(2026, 11, 4), "TK-C1"),
        ("region_counter_video_review", date(2026, 11, 5), "BT-1-C1"),
        # Last quarter: not this quarter's.
        ("region_counter_video_review", date(2026, 9, 5), "BT-1-C2"),
        ("region_counter_report_review", date(2026, 10, 20), "HH"),  # October, not November
    )
    progress = await reports.progress_today(services, staff["M001"])
    assert progress.cities == (
        CityCoverage("区公司各盟市营业网点服务质量专项检查", Span.QUARTER, 2, 2, ()),
        CityCoverage(
            "区公司调审盟市营业检查报告书", Span.MONTH, 0, 2, ("呼和浩特市分公司", "包头市分公司")
        ),
        CityCoverage("区公司调审城市支局监控录像", Span.QUARTER, 1, 2, ("包头市分公司",)),
    )
    text = texts.progress_text(progress)
    assert "区公司各盟市检查覆盖" in text
    assert "· 区公司调审城市支局监控录像（本季度）：1/2 个盟市，未完成：包头市分公司" in text
    assert "· 区公司各盟市营业网点服务质量专项检查（本季度）：2/2 个盟市 ✅" in text
    # A county manager's scope holds no region: nothing about cities.
    county = await reports.progress_today(services, staff["M003"])
    assert county.cities == ()
    assert "各盟市" not in texts.progress_text(county)
