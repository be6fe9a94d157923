"""Escalation with a moved clock: never during a holiday, one level per working day,
closing notices, catch-up after downtime, exactly once with two instances."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from sqlmodel import col, select

from bot.app.application import build_application, running
from bot.clock import ManualClock
from bot.sandbox import SandboxServer
from bot.services import Services
from bot.settings import Settings
from bot.usecases import complaints as bot_complaints
from bot.usecases.complaints import escalate_overdue
from bot.views import texts
from db.models import Complaint, ComplaintStatus
from db.session import SecondInstanceError
from nlp.reader import ComplaintReader
from tests.conftest import SHANGHAI
from tests.e2e.harness import Harness, run_bot

REPORT = "东2段信件报刊积压三天了，用户多次打电话投诉"
CREATED = datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI)  # Wednesday before National Day


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


async def report_and_confirm(bot: Harness, clerk_code: str = "C002") -> None:
    clerk = bot.user(clerk_code)
    await clerk.send(REPORT)
    await clerk.replies(1)
    await clerk.press(texts.BUTTON_CONFIRM)
    await clerk.edits(1)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(CREATED)


@pytest.fixture
def bot(quiet_bot: Harness) -> Harness:
    return quiet_bot


async def test_levels_follow_working_days_and_answer_closes(bot: Harness) -> None:
    await bot.register("C002")
    handler = await bot.register("H001")
    county, city, region = [await bot.register(code) for code in ("M003", "M002", "M001")]
    await report_and_confirm(bot)
    await handler.replies(1)

    for moment in (at(9, 30, 17), at(10, 1, 10), at(10, 4, 12), at(10, 7, 23), at(10, 8, 9, 59)):
        bot.clock.set(moment)
        await bot.tick()
    await county.no_reply()

    bot.clock.set(at(10, 8, 10))
    await bot.tick()
    (alert,) = await county.replies(1)
    assert "1 级升级" in alert.content and "马建军" in alert.content and "钱志刚" in alert.content
    assert alert.button_texts == ["认领", "转办", "已答复"]
    await bot.tick()  # the same minute again: nothing twice
    await county.no_reply()
    await city.no_reply()

    bot.clock.set(at(10, 9, 9, 59))
    await bot.tick()
    await city.no_reply()
    bot.clock.set(at(10, 9, 10))
    await bot.tick()
    (alert,) = await city.replies(1)
    assert "2 级升级" in alert.content and "1 个工作日" in alert.content

    bot.clock.set(at(10, 10, 10))  # Saturday, a make-up working day (调休)
    await bot.tick()
    (alert,) = await region.replies(1)
    assert "3 级升级" in alert.content

    await handler.press("答复")
    await handler.reply()
    await handler.send("已查明原因并答复用户，已安排补投。")
    await handler.reply()
    for manager in (county, city, region):
        (closing,) = await manager.replies(1)
        assert "已由 马建军 答复，升级结束" in closing.content
    bot.clock.set(at(10, 12, 10))
    await bot.tick()
    for manager in (county, city, region):
        await manager.no_reply()


async def test_an_alerted_manager_can_claim_and_answer(bot: Harness) -> None:
    clerk = await bot.register("C002")
    await bot.register("H001")
    county = await bot.register("M003")
    await report_and_confirm(bot)
    bot.clock.set(at(10, 8, 10))
    await bot.tick()
    await county.replies(1)
    await county.press("认领")
    assert "您已认领" in (await county.reply()).content
    await county.press("已答复")
    assert (await county.reply()).content == texts.ASK_ANSWER
    await county.send("已联系用户并处理完毕。")
    assert (await county.reply()).content == texts.ANSWER_SAVED
    assert "已由 张志强 答复" in (await clerk.reply()).content


async def test_a_bot_down_across_the_deadline_escalates_at_start(
    settings: Settings,
    sandbox: SandboxServer,
    clock: ManualClock,
    reader: ComplaintReader,
    sample_org: None,
) -> None:
    async with run_bot(settings, sandbox, clock, reader, checks=False) as bot:
        await bot.register("C002")
        await bot.register("H001")
        county = await bot.register("M003")
        await report_and_confirm(bot)
    clock.set(at(10, 8, 11))
    async with run_bot(settings, sandbox, clock, reader, checks=False) as restarted:
        # No manual tick: the scheduled scan runs once at start-up.
        (alert,) = await county.replies(1, timeout=10)
        assert "1 级升级" in alert.content
        assert restarted.services.clock.now() == at(10, 8, 11)


async def test_two_instances_send_each_alert_exactly_once(
    bot: Harness, settings: Settings, clock: ManualClock, reader: ComplaintReader
) -> None:
    if bot.services.db.is_sqlite:
        pytest.skip("two instances share PostgreSQL only; SQLite refuses a second instance")
    await bot.register("H001")
    county = await bot.register("M003")
    clerks = [await bot.register(code) for code in ("C001", "C002")]
    for clerk in clerks:
        for _ in range(5):
            await clerk.send(REPORT)
            await clerk.replies(1)
            await clerk.press(texts.BUTTON_CONFIRM)
            await clerk.edits(1)
    clock.set(at(10, 8, 10))
    second = Services.create(settings, clock)
    try:
        results = await asyncio.gather(
            *(escalate_overdue(s) for s in (bot.services, second, bot.services, second))
        )
    finally:
        await second.db.close()
    assert sum(results) == 10
    bot.sender.wake()
    alerts = await county.replies(10, timeout=20)
    assert all("1 级升级" in a.content for a in alerts)
    await county.no_reply(within=1.5)
    async with bot.db.session() as session:
        rows = (await session.exec(select(Complaint).order_by(col(Complaint.id)))).all()
    assert {(c.status, c.escalation_level) for c in rows} == {(ComplaintStatus.OPEN, 1)}


async def test_overdue_list_for_managers(bot: Harness) -> None:
    await bot.register("C002")
    await bot.register("H001")
    county = await bot.register("M003")
    other_county = await bot.register("M004")
    await report_and_confirm(bot)
    bot.clock.set(at(10, 9, 12))
    await county.send("/overdue")
    listing = (await county.reply()).content
    assert "超时未答复" in listing and "#1" in listing and "马建军" in listing
    await other_county.send("/overdue")
    assert (await other_county.reply()).content == texts.NO_OVERDUE


async def test_a_long_overdue_list_fits_one_message(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the oldest are listed (a region can have thousands), with how many more."""
    monkeypatch.setattr(bot_complaints, "OVERDUE_LISTED", 2)
    await bot.register("C002")
    await bot.register("H001")
    county = await bot.register("M003")
    for _ in range(3):
        await report_and_confirm(bot)
    bot.clock.set(at(10, 9, 12))
    await county.send("/overdue")
    listing = (await county.reply()).content
    assert "3 件" in listing and "#1" in listing and "#2" in listing and "#3" not in listing
    assert "另有 1 件未列出" in listing


async def test_a_second_instance_on_one_sqlite_file_refuses_to_start(
    bot: Harness, settings: Settings, clock: ManualClock, reader: ComplaintReader
) -> None:
    if not bot.services.db.is_sqlite:
        pytest.skip("PostgreSQL instances share the database by claiming rows")
    second = build_application(Services.create(settings, clock))
    with pytest.raises(SecondInstanceError):
        async with running(second, poll_timeout=1):
            pass
