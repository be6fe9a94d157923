"""Managers' views end to end: /report sends the workbook and the chart, scopes are kept,
/progress and /stats, and the monthly report reaches the level above once."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from bot.clock import ManualClock
from bot.sandbox import SandboxServer, SandboxUser, SentMessage
from bot.settings import Settings
from bot.views import texts
from db.models import Assignment, AssignmentStatus, Staff
from nlp.reader import ComplaintReader
from scheduler.catalog import load_catalog
from scheduler.org import Role
from tests.conftest import SHANGHAI
from tests.e2e.harness import Harness, run_bot

COMPLAINT = "东2段信件报刊积压三天了，用户多次打电话投诉"
PNG = b"\x89PNG\r\n\x1a\n"
XLSX_NAME = "检查报告书_{}_2026年10月.xlsx"


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(at(10, 20, 10))


@pytest.fixture
def bot(quiet_bot: Harness) -> Harness:
    return quiet_bot


async def seed_checks(
    bot: Harness, staff_code: str, item_id: str, *rows: tuple[date, AssignmentStatus]
) -> None:
    async with bot.db.session() as session:
        staff = (await session.exec(select(Staff).where(Staff.code == staff_code))).one()
        assert staff.id is not None
        for n, (day, status) in enumerate(rows):
            session.add(
                Assignment(
                    key=f"seed:{staff_code}:{item_id}:{day}:{n}",
                    day=day,
                    item_id=item_id,
                    inspector_id=staff.id,
                    unit_id=staff.unit_id,
                    target_site_id=staff.unit_id,
                    status=status,
                )
            )


async def answered_complaint(bot: Harness) -> None:
    """A delay complaint at 察素齐投递部, answered by the handler the same morning."""
    clerk, handler = await bot.register("C002"), await bot.register("H001")
    await clerk.send(COMPLAINT)
    await clerk.replies(1)
    await clerk.press(texts.BUTTON_CONFIRM)
    await clerk.edits(1)
    await handler.replies(1)
    bot.clock.set(at(10, 20, 11, 30))
    await handler.press("答复")
    await handler.reply()
    await handler.send("已查明原因，今日已安排补投并向用户致歉。")
    await handler.reply()
    await clerk.replies(1)


def workbook_rows(document: SentMessage, sheet: str) -> list[tuple[object, ...]]:
    assert document.file_bytes is not None
    book = load_workbook(BytesIO(document.file_bytes))
    return [tuple(r) for r in book[sheet].iter_rows(min_row=3, values_only=True)]


async def report_pair(user: SandboxUser) -> tuple[SentMessage, SentMessage]:
    document, chart = await user.replies(2, timeout=15)
    assert document.kind == "document" and chart.kind == "photo"
    assert chart.file_bytes is not None and chart.file_bytes.startswith(PNG)
    return document, chart


async def test_report_sends_the_workbook_and_the_chart_to_a_manager(bot: Harness) -> None:
    # The whole catalog counts in the report; nothing is planned since no tick runs.
    bot.services.catalog = load_catalog(bot.services.settings.checks.catalog)
    await answered_complaint(bot)
    done, missed = AssignmentStatus.DONE, AssignmentStatus.MISSED
    await seed_checks(
        bot,
        "I003",
        "delivery_letters_urban",
        (date(2026, 10, 13), done),
        (date(2026, 10, 15), missed),
    )
    county = await bot.register("M003")
    bot.clock.set(at(11, 25, 9))

    await county.send("/report 2026-10")
    document, chart = await report_pair(county)
    assert document.file_name == XLSX_NAME.format("土默特左旗局")
    assert "土默特左旗局 2026年10月检查报告书" in document.content
    assert "投诉 1 件" in document.content
    assert "土默特左旗局 2026年10月" in chart.content
    checks = {row[0]: row[3:6] for row in workbook_rows(document, "检查完成情况")}
    # Twice in each of the four weeks whose Sunday is in October; one done, one missed.
    assert checks["平常商函外部投递检查（城市投递部）"] == (8, 1, 1)
    complaints = workbook_rows(document, "投诉")
    assert complaints[0][:5] == ("投递延误/积压", 1, 1, 0, pytest.approx(1.5, abs=0.05))

    await county.send("/report 2026-10 tz-d1")
    document, _ = await report_pair(county)
    assert document.file_name == XLSX_NAME.format("察素齐投递部")


async def test_an_inspector_gets_only_their_own_units_report(bot: Harness) -> None:
    bot.clock.set(at(11, 25, 9))
    inspector, clerk = await bot.register("I003"), await bot.register("C001")
    county = await bot.register("M003")
    for ask in ("/report 2026-10 TZ", "/report 2026-10 TK-D2", "/report 2026-10 NM"):
        await inspector.send(ask)
        assert (await inspector.reply()).content == texts.REPORT_OUT_OF_SCOPE, ask
    await inspector.send("/report 2026-10")
    document, _ = await report_pair(inspector)
    assert document.file_name == XLSX_NAME.format("察素齐投递部")
    await clerk.send("/report 2026-10")
    assert (await clerk.reply()).content == texts.command_not_for_role(Role.COUNTER_STAFF)

    for ask, answer in (
        ("/report", texts.REPORT_USAGE),
        ("/report 十月", texts.REPORT_USAGE),
        ("/report 2026-13", texts.REPORT_USAGE),
        ("/report 2026-12", texts.REPORT_FUTURE_MONTH),
        ("/report 2026-10 TK", texts.REPORT_OUT_OF_SCOPE),
        ("/report 2026-10 HH", texts.REPORT_OUT_OF_SCOPE),
        ("/report 2026-10 <b>", texts.report_unknown_unit("<b>")),
    ):
        await county.send(ask)
        assert (await county.reply()).source == answer, ask


async def test_progress_and_stats_in_my_scope(bot: Harness) -> None:
    bot.clock.set(at(11, 25, 9))
    today = date(2026, 11, 25)
    status = AssignmentStatus
    await seed_checks(
        bot, "I003", "delivery_express_signoff", (today, status.DONE), (today, status.PLANNED)
    )
    await seed_checks(bot, "I004", "counter_video_review", (today, status.IN_PROGRESS))
    await seed_checks(bot, "I005", "delivery_letters_rural", (today, status.PLANNED))
    await seed_checks(bot, "I003", "delivery_express_signoff", (date(2026, 10, 30), status.DONE))
    county, other, region = [await bot.register(code) for code in ("M003", "M004", "M001")]

    await county.send("/progress")
    text = (await county.reply()).content
    assert "土默特左旗局 今日检查进度" in text and "11月25日" in text
    assert "共 3 项：✅ 已完成 1，⏳ 进行中 1，⬜ 未开始 1" in text
    assert "陈明（察素齐投递部）：✅1 ⏳0 ⬜1" in text
    assert "周晓燕（察素齐营业支局）：✅0 ⏳1 ⬜0" in text
    assert "黄磊" not in text
    await other.send("/progress")
    text = (await other.reply()).content
    assert "黄磊（伍什家投递支局）：✅0 ⏳0 ⬜1" in text and "陈明" not in text
    await region.send("/progress")
    assert "共 4 项" in (await region.reply()).content

    await county.send("/stats 2026-10")
    text = (await county.reply()).content
    assert "土默特左旗局 2026年10月 检查统计" in text and "尚未结束" not in text
    assert "已检 1 次" in text and "投诉：0 件" in text
    await county.send("/stats")
    assert "2026年11月 检查统计（本月尚未结束，截至 11月25日）" in (await county.reply()).content
    for ask, answer in (
        ("/stats 2027-01", texts.REPORT_FUTURE_MONTH),
        ("/stats abc", texts.STATS_USAGE),
        ("/stats 2026-10 TZ", texts.STATS_USAGE),
    ):
        await county.send(ask)
        assert (await county.reply()).content == answer, ask

    await county.send("/help")
    help_text = (await county.reply()).content
    assert all(f"/{c}" in help_text for c in ("progress", "stats", "report", "overdue"))


async def test_the_monthly_report_goes_to_the_level_above_once(
    settings: Settings,
    sandbox: SandboxServer,
    clock: ManualClock,
    reader: ComplaintReader,
    sample_org: None,
) -> None:
    clock.set(at(10, 30, 10))
    async with run_bot(settings, sandbox, clock, reader, checks=False) as bot:
        # Only 察素齐投递部 (county TZ) had checks in October: TK has no report to file.
        await seed_checks(
            bot, "I003", "delivery_letters_urban", (date(2026, 10, 13), AssignmentStatus.DONE)
        )
        city, region, county, other = [
            await bot.register(code) for code in ("M002", "M001", "M003", "M004")
        ]
        # Sunday 1 November is no working day; Monday the 2nd before the morning push time.
        for moment in (at(11, 1, 10), at(11, 2, 7, 59)):
            bot.clock.set(moment)
            await bot.tick()
        await asyncio.gather(*(m.no_reply() for m in (city, region, county, other)))

        bot.clock.set(at(11, 2, 8))
        await bot.tick()
        # Each report comes with its 通报 (the units one level down, ranked), which also goes
        # to the managers of the ranking unit and of the ranked ones.
        received = await city.replies(5, timeout=15)
        assert [m.kind for m in received] == ["text", "document", "photo", "text", "text"]
        county_bulletin, document, _, city_bulletin, region_bulletin = received
        assert document.file_name == XLSX_NAME.format("土默特左旗局")
        assert "月度检查报告书报送" in document.content
        assert county_bulletin.content.startswith("📊 土默特左旗局 2026年10月服务质量通报")
        assert "权重：态度×3" in county_bulletin.content
        assert "察素齐投递部" in county_bulletin.content
        assert city_bulletin.content.startswith("📊 呼和浩特市分公司 2026年10月服务质量通报")
        assert "1. " in city_bulletin.content and "托克托县局" in city_bulletin.content
        assert region_bulletin.content.startswith("📊 内蒙古邮政区公司 2026年10月")
        received = await region.replies(6, timeout=15)
        assert [m.file_name for m in received if m.kind == "document"] == [
            XLSX_NAME.format("呼和浩特市分公司"),
            XLSX_NAME.format("内蒙古邮政区公司"),
        ]
        assert [m.kind for m in received] == ["text", "document", "photo"] * 2
        assert [m.content for m in await county.replies(2)] == [
            county_bulletin.content,
            city_bulletin.content,
        ]
        assert [m.content for m in await other.replies(1)] == [city_bulletin.content]

        await bot.tick()
        bot.clock.set(at(11, 2, 8, 1))
        await bot.tick()
        await asyncio.gather(*(m.no_reply() for m in (city, region, county, other)))

    clock.set(at(11, 3, 9))
    async with run_bot(settings, sandbox, clock, reader, checks=False) as restarted:
        await restarted.tick()  # start-up ran the steps too
        await asyncio.gather(*(m.no_reply() for m in (city, region, county, other)))


async def test_a_highlight_shows_in_the_scorecard_of_the_months_report(bot: Harness) -> None:
    inspector = await bot.register("I002")  # 郑丽, 土默特左旗局
    await inspector.send("/highlight tz-d1 投递员雨天坚持按时投递，用户送来感谢信")
    assert "已记为 察素齐投递部 的服务亮点" in (await inspector.reply()).content
    county = await bot.register("M003")
    await county.send(f"/report {bot.clock.now():%Y-%m}")
    document, _ = await report_pair(county)
    elements = {row[0]: row for row in workbook_rows(document, "服务质量要素")}
    assert elements["亮点"][1] == 1


async def test_an_admin_hears_of_a_report_or_bulletin_that_reaches_nobody(
    settings: Settings,
    sandbox: SandboxServer,
    clock: ManualClock,
    reader: ComplaintReader,
    sample_org: None,
) -> None:
    clock.set(at(10, 30, 10))
    async with run_bot(settings, sandbox, clock, reader, checks=False) as bot:
        await seed_checks(
            bot, "I003", "delivery_letters_urban", (date(2026, 10, 13), AssignmentStatus.DONE)
        )
        # The region's manager has left: nobody holds the post the city's and the region's
        # reports go to. The city's manager never registered: the county's report waits.
        async with bot.db.session() as session:
            region = (await session.exec(select(Staff).where(Staff.code == "M001"))).one()
            region.left_at = at(10, 30, 9)
            session.add(region)
        admin, county = await bot.register("A001"), await bot.register("M003")
        bot.clock.set(at(11, 2, 8))
        await bot.tick()
        # The county's 通报 still reaches its own manager; the city's ranks him too.
        bulletins = await county.replies(2, timeout=15)
        assert [m.content.split("\n")[0] for m in bulletins] == [
            "📊 土默特左旗局 2026年10月服务质量通报",
            "📊 呼和浩特市分公司 2026年10月服务质量通报",
        ]
        # Besides whatever else an admin hears at this tick (the calendar, 无人承担).
        notices: list[str] = []
        while len(notices) < 3:
            message = (await admin.reply(timeout=15)).content
            if "的报送无人接收" in message:
                notices.append(message)
        assert notices == [
            "⚠️ 土默特左旗局 2026年10月的报送无人接收\n"
            "· 检查报告书：接收人 李春梅 尚未注册机器人\n"
            "请在组织文件中配置经理或请接收人注册；报告可用 /report 2026-10 TZ 查看。",
            "⚠️ 呼和浩特市分公司 2026年10月的报送无人接收\n"
            "· 检查报告书：没有人担任接收它的经理岗位\n"
            "请在组织文件中配置经理或请接收人注册；报告可用 /report 2026-10 HH 查看。",
            "⚠️ 内蒙古邮政区公司 2026年10月的报送无人接收\n"
            "· 检查报告书：没有人担任接收它的经理岗位\n"
            "· 服务质量通报：接收人 李春梅 尚未注册机器人\n"
            "请在组织文件中配置经理或请接收人注册；报告可用 /report 2026-10 NM 查看。",
        ]
        # Once: a later tick tells nobody again.
        bot.clock.set(at(11, 2, 9))
        await bot.tick()
        await asyncio.gather(admin.no_reply(), county.no_reply())
