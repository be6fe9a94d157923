"""Daily checks end to end: the morning push, a check answered question by question,
findings, restarts, the reminder and the missed-check summary."""

from __future__ import annotations

import asyncio
import threading
from datetime import date, datetime, time
from typing import Any

import pytest
from sqlmodel import col, select

import bot.usecases.checks as check_usecases
from bot.clock import ManualClock
from bot.sandbox import ApiCall, ApiReply, SandboxServer, SandboxUser, SentMessage
from bot.settings import Settings
from bot.views import texts
from bot.views.buttons import Action, encode
from db.models import Assignment, AssignmentStatus, CorrectiveAction, Finding, Staff, Unit
from db.staff import load_org_units
from nlp.reader import ComplaintReader
from scheduler.catalog import FrequencyKind
from scheduler.complaints import units_within
from scheduler.planner import PlannedAssignment, plan_day
from tests.conftest import SHANGHAI
from tests.e2e.harness import Harness, run_bot

WEDNESDAY = date(2026, 11, 25)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(at(WEDNESDAY, 7, 30))


async def assignments_of(bot: Harness, staff_code: str, day: date) -> list[Assignment]:
    async with bot.db.session() as session:
        staff = (await session.exec(select(Staff).where(Staff.code == staff_code))).one()
        statement = (
            select(Assignment)
            .where(Assignment.inspector_id == staff.id, Assignment.day == day)
            .order_by(col(Assignment.id))
        )
        return list((await session.exec(statement)).all())


async def assignment(bot: Harness, staff_code: str, item_id: str) -> Assignment:
    found = [
        a
        for a in await assignments_of(bot, staff_code, bot.clock.now().date())
        if a.item_id == item_id
    ]
    assert found, f"{staff_code} has no {item_id} today"
    return found[0]


async def morning(bot: Harness, *codes: str) -> dict[str, SentMessage]:
    """Register the staff, move to 08:00 and run the morning push."""
    users = {code: await bot.register(code) for code in codes}
    bot.clock.set(at(bot.clock.now().date(), 8))
    await bot.tick()
    return {code: (await users[code].replies(1))[0] for code in codes}


async def open_check(user: SandboxUser, push: SentMessage, check: Assignment) -> SentMessage:
    assert check.id is not None
    await user.press_data(push.message_id, encode(Action.OPEN_CHECK, check.id))
    (question,) = await user.replies(1)
    return question


async def test_the_morning_push_reaches_only_inspectors_with_checks(bot: Harness) -> None:
    clerk, manager = await bot.register("C001"), await bot.register("M003")
    inspectors = {code: await bot.register(code) for code in ("I001", "I002", "I003", "I004")}
    await bot.tick()  # 07:30: too early
    for user in (*inspectors.values(), clerk, manager):
        await user.no_reply(within=0.2)
    bot.clock.set(at(WEDNESDAY, 8))
    await bot.tick()
    await bot.tick()  # the same morning again: nothing twice
    for code, user in inspectors.items():
        own = await assignments_of(bot, code, WEDNESDAY)
        if not own:
            await user.no_reply(within=0.2)
            continue
        (push,) = await user.replies(1)
        assert f"您有 {len(own)} 项检查任务" in push.content
        assert len(push.buttons) == len(own)
        await user.no_reply(within=0.2)
    assert await assignments_of(bot, "I003", WEDNESDAY), "a delivery station has daily checks"
    await clerk.no_reply(within=0.2)
    await manager.no_reply(within=0.2)


async def test_people_are_answered_while_the_morning_is_planned(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Planning a province's day is seconds of CPU: it runs in a worker thread outside any
    session, so a clerk's /help is answered while the planner works (on SQLite the process's
    one writer is free meanwhile), and the plan is stored and pushed once it is done."""
    clerk, inspector = await bot.register("C001"), await bot.register("I003")
    planning, finish = threading.Event(), threading.Event()

    def slow_planner(*args: Any, **kwargs: Any) -> tuple[PlannedAssignment, ...]:
        planning.set()
        # On the event loop (or holding the writer) this would wait here until the timeout:
        # the clerk's answer, which lets it finish, could not come.
        assert finish.wait(timeout=10), "nobody was answered while the day was planned"
        return plan_day(*args, **kwargs)

    monkeypatch.setattr(check_usecases, "plan_day", slow_planner)
    bot.clock.set(at(WEDNESDAY, 8))
    morning = asyncio.create_task(bot.tick())
    assert await asyncio.to_thread(planning.wait, 10)
    await clerk.send("/help")
    (answer,) = await clerk.replies(1)
    assert "可用命令" in answer.content
    assert not morning.done(), "the planning ended before the clerk was answered"
    finish.set()
    await morning
    own = await assignments_of(bot, "I003", WEDNESDAY)
    (push,) = await inspector.replies(1)
    assert own and f"您有 {len(own)} 项检查任务" in push.content


async def test_on_a_sunday_only_sites_open_then_get_their_daily_checks(bot: Harness) -> None:
    counter, delivery = await bot.register("I004"), await bot.register("I003")
    bot.clock.set(at(date(2026, 11, 29), 9))
    await bot.tick()
    # Counters open Monday to Saturday (config.toml): nothing for the 营业支局长.
    await counter.no_reply(within=0.3)
    assert await assignments_of(bot, "I004", date(2026, 11, 29)) == []
    # Delivery stations work every day: the daily checks of 第十四条 (and 每三天, counted in
    # calendar days), nothing weekly.
    (push,) = await delivery.replies(1)
    sunday = await assignments_of(bot, "I003", date(2026, 11, 29))
    items = {bot.services.catalog.get(a.item_id) for a in sunday}
    assert items and all(
        item.frequency.kind is FrequencyKind.DAILY or item.calendar_days for item in items
    )
    assert f"您有 {len(sunday)} 项检查任务" in push.content


async def test_a_full_check_with_reprompts_skip_and_confirm(bot: Harness) -> None:
    push = (await morning(bot, "I003"))["I003"]
    inspector = bot.user("I003")
    check = await assignment(bot, "I003", "delivery_express_signoff")
    question = await open_check(inspector, push, check)
    assert "第 1/4 题" in question.content and "投递清单" in question.content

    await inspector.send("两百多")
    (again,) = await inspector.replies(1)
    assert again.content.startswith("请输入数字") and "第 1/4 题" in again.content
    await inspector.send("200")
    assert "第 2/4 题" in (await inspector.reply()).content
    await inspector.send("10")
    (refused,) = await inspector.replies(1)
    assert "抽查数量不足" in refused.content and "不少于10%" in refused.content
    assert "至少检查 20 件" in refused.content and "第 2/4 题" in refused.content
    await inspector.send("300")
    assert "不能超过总量 200" in (await inspector.reply()).content
    await inspector.send("25")
    assert "第 3/4 题" in (await inspector.reply()).content
    await inspector.send_photo(b"\x89PNG", caption=None)
    assert "第 3/4 题" in (await inspector.reply()).content  # a photo where a number was asked
    await inspector.send("0")
    (optional,) = await inspector.replies(1)
    assert "/skip" in optional.content
    await inspector.send("/skip")
    (summary,) = await inspector.replies(1)
    assert "请核对" in summary.content and "（跳过）" in summary.content and "25" in summary.content
    await inspector.press(texts.BUTTON_SUBMIT_CHECK)
    (submitted,) = await inspector.edits(1)  # the summary turned into the submitted check
    assert submitted.message.message_id == summary.message_id and not submitted.buttons
    assert "已提交的回答" in submitted.content and "（跳过）" in submitted.content
    assert submitted.content.endswith(texts.check_done(0, None))
    await inspector.no_reply(within=0.2)

    done = await assignment(bot, "I003", "delivery_express_signoff")
    assert done.status is AssignmentStatus.DONE
    assert '"lists_checked": 25' in done.answers and '"problem_detail": null' in done.answers
    await inspector.send("/today")
    assert "✅" in (await inspector.reply()).content


async def test_a_problem_found_with_a_photo_opens_a_corrective_action_and_a_recheck(
    bot: Harness,
) -> None:
    push = (await morning(bot, "I004"))["I004"]
    inspector = bot.user("I004")
    check = await assignment(bot, "I004", "counter_illegal_acceptance")
    question = await open_check(inspector, push, check)
    assert question.button_texts == [texts.YES, texts.NO]
    await inspector.press(texts.YES)
    (choice,) = await inspector.edits(1)  # the question answered becomes the next one
    assert choice.message.message_id == question.message_id
    recorded = f"✔️ 今日是否发现跨界揽收、违章收寄、大宗收寄… → {texts.YES}"  # 20 characters
    assert choice.content.startswith(f"{recorded}\n\n")
    assert "第 2/4 题" in choice.content and "违章收寄" in choice.button_texts
    await inspector.press("违章收寄")
    (detail,) = await inspector.edits(1)
    assert "→ 违章收寄" in detail.content and "第 3/4 题" in detail.content
    await inspector.no_reply(within=0.2)
    await inspector.send("收寄一件未验视的包裹，已退回补验")
    (photo_question,) = await inspector.replies(1)
    assert "照片" in photo_question.content
    await inspector.send("这是文字")
    assert "需要发送照片" in (await inspector.reply()).content
    await inspector.send_photo(b"\x89PNG evidence")
    (summary,) = await inspector.replies(1)
    assert "📷 已上传照片" in summary.content
    await inspector.press(texts.BUTTON_SUBMIT_CHECK)
    (done,) = await inspector.edits(1)  # the summary turned into the confirmation
    assert "📷 已上传照片" in done.content
    assert "发现 1 个问题" in done.content and "复查" in done.content
    (notice,) = await inspector.replies(1)  # the owner's notice (herself)
    assert "整改通知" in notice.content
    assert "收寄一件未验视的包裹" in notice.content

    async with bot.db.session() as session:
        (finding,) = (await session.exec(select(Finding))).all()
        (action,) = (await session.exec(select(CorrectiveAction))).all()
        recheck = await session.get(Assignment, action.recheck_assignment_id)
    assert finding.item_id == "counter_illegal_acceptance"
    assert action.deadline == bot.services.calendar.add_working_days(bot.clock.now(), 5)
    assert recheck is not None and recheck.is_recheck and recheck.day == date(2026, 12, 3)
    assert recheck.status is AssignmentStatus.PLANNED

    bot.clock.set(at(date(2026, 12, 3), 8))
    await bot.tick()
    pushes = await inspector.replies(1, timeout=10)
    assert any("【复查】" in p.content for p in pushes)


async def test_a_restart_in_the_middle_resumes_at_the_same_question(
    settings: Settings,
    sandbox: SandboxServer,
    clock: ManualClock,
    reader: ComplaintReader,
    sample_org: None,
) -> None:
    async with run_bot(settings, sandbox, clock, reader) as bot:
        push = (await morning(bot, "I003"))["I003"]
        inspector = bot.user("I003")
        check = await assignment(bot, "I003", "delivery_express_signoff")
        await open_check(inspector, push, check)
        await inspector.send("120")
        assert "第 2/4 题" in (await inspector.reply()).content
    async with run_bot(settings, sandbox, clock, reader) as restarted:
        await inspector.send("12")
        assert "第 3/4 题" in (await inspector.reply()).content
        resumed = await assignment(restarted, "I003", "delivery_express_signoff")
        assert '"lists_total": 120' in resumed.answers and '"lists_checked": 12' in resumed.answers


async def test_cancel_keeps_answers_and_today_resumes(bot: Harness) -> None:
    push = (await morning(bot, "I003"))["I003"]
    inspector = bot.user("I003")
    check = await assignment(bot, "I003", "delivery_express_signoff")
    await open_check(inspector, push, check)
    await inspector.send("50")
    await inspector.reply()
    await inspector.send("/cancel")
    assert (await inspector.reply()).content == texts.CHECK_PAUSED
    await inspector.send("东2段积压严重")  # no check open: read as a complaint report
    assert "问题上报" in (await inspector.reply()).content
    await inspector.send("/today")
    overview = await inspector.reply()
    assert "⏳" in overview.content and "（1/4）" in overview.content
    await inspector.press_data(overview.message_id, encode(Action.OPEN_CHECK, check.id or 0))
    assert "第 2/4 题" in (await inspector.reply()).content


async def test_someone_elses_check_is_refused(bot: Harness) -> None:
    pushes = await morning(bot, "I003", "I004")
    theirs = await assignment(bot, "I004", "counter_illegal_acceptance")
    intruder = bot.user("I003")
    await intruder.press_data(pushes["I003"].message_id, encode(Action.OPEN_CHECK, theirs.id or 0))
    (refusal,) = await intruder.answers(1)
    assert refusal.text == texts.CHECK_NOT_YOURS and refusal.show_alert
    await intruder.press_data(
        pushes["I003"].message_id, encode(Action.ANSWER_CHECK, theirs.id or 0, "0-yes")
    )
    assert (await intruder.answers(1))[0].text == texts.CHECK_NOT_YOURS
    untouched = await assignment(bot, "I004", "counter_illegal_acceptance")
    assert untouched.status is AssignmentStatus.PLANNED and untouched.answers == "{}"


async def test_reminder_then_missed_summary_to_the_manager(bot: Harness) -> None:
    manager = await bot.register("M003")
    push = (await morning(bot, "I003"))["I003"]
    inspector = bot.user("I003")
    own = await assignments_of(bot, "I003", WEDNESDAY)
    done_check = await assignment(bot, "I003", "delivery_registered_balance")
    await open_check(inspector, push, done_check)
    await inspector.press(texts.YES)
    await inspector.edits(1)
    await inspector.press(texts.BUTTON_SUBMIT_CHECK)
    await inspector.edits(1)

    bot.clock.set(at(WEDNESDAY, 15))
    await bot.tick()
    (reminder,) = await inspector.replies(1)
    assert f"还有 {len(own) - 1} 项检查未完成" in reminder.content
    await bot.tick()
    await inspector.no_reply(within=0.2)

    bot.clock.set(at(WEDNESDAY, 18))
    await bot.tick()
    (summary,) = await manager.replies(1)
    async with bot.db.session() as session:
        county = (await session.exec(select(Unit).where(Unit.code == "TZ"))).one()
        county_units = units_within(county.id or 0, await load_org_units(session=session))
        missed = (
            await session.exec(
                select(Assignment).where(
                    Assignment.day == WEDNESDAY,
                    Assignment.status == AssignmentStatus.MISSED,
                    col(Assignment.unit_id).in_(county_units),
                )
            )
        ).all()
    assert "漏检汇总" in summary.content and "陈明" in summary.content
    assert f"共 {len(missed)} 项检查未完成" in summary.content
    assert summary.content.count("• ") == len(missed)
    statuses = {a.item_id: a.status for a in await assignments_of(bot, "I003", WEDNESDAY)}
    assert statuses.pop("delivery_registered_balance") is AssignmentStatus.DONE
    assert set(statuses.values()) == {AssignmentStatus.MISSED}
    bot.clock.set(at(date(2026, 11, 26), 8))
    await bot.tick()
    await manager.no_reply(within=0.3)


async def test_redo_from_the_summary_starts_again(bot: Harness) -> None:
    push = (await morning(bot, "I003"))["I003"]
    inspector = bot.user("I003")
    check = await assignment(bot, "I003", "delivery_registered_balance")
    await open_check(inspector, push, check)
    await inspector.press(texts.NO)
    await inspector.edits(1)
    await inspector.send("给据函件少一件，正在查找")
    (summary,) = await inspector.replies(1)
    assert "正在查找" in summary.content
    await inspector.press(texts.BUTTON_REDO_CHECK)
    (first,) = await inspector.edits(1)  # the summary becomes the first question again
    assert first.message.message_id == summary.message_id
    assert first.content.startswith(texts.CHECK_REDONE) and "第 1/1 题" in first.content
    assert first.button_texts == [texts.YES, texts.NO]
    await inspector.press(texts.YES)
    (summary_again,) = await inspector.edits(1)
    assert "请核对" in summary_again.content and "正在查找" not in summary_again.content
    await inspector.press(texts.BUTTON_SUBMIT_CHECK)
    (done,) = await inspector.edits(1)
    assert done.content.endswith(texts.check_done(0, None))
    await inspector.no_reply(within=0.2)


async def test_today_before_the_push_and_on_a_holiday(bot: Harness) -> None:
    inspector = await bot.register("I003")
    await inspector.send("/today")
    assert (await inspector.reply()).content == texts.checks_not_pushed_yet(time(8, 0))
    counter = await bot.register("I004")
    bot.clock.set(at(date(2026, 10, 3), 10))  # National Day: counters closed, delivery not
    await counter.send("/today")
    assert (await counter.reply()).content == texts.NOT_A_WORKING_DAY


async def test_an_answer_on_a_message_telegram_will_not_edit_comes_anew(
    bot: Harness, sandbox: SandboxServer
) -> None:
    push = (await morning(bot, "I004"))["I004"]
    inspector = bot.user("I004")
    check = await assignment(bot, "I004", "counter_illegal_acceptance")
    question = await open_check(inspector, push, check)

    async def too_old(call: ApiCall) -> ApiReply | None:
        if call.method == "editMessageText":
            return ApiReply.error(400, "Bad Request: message can't be edited")
        return None

    sandbox.policy = too_old
    await inspector.press(texts.YES)
    (dropped,) = await inspector.edits(1)  # the question keeps its text, loses its buttons
    assert dropped.message.message_id == question.message_id and not dropped.buttons
    (choice,) = await inspector.replies(1)
    assert choice.content.startswith("✔️ ") and "第 2/4 题" in choice.content
    assert "违章收寄" in choice.button_texts
    sandbox.policy = None
    await inspector.press("违章收寄")
    (detail,) = await inspector.edits(1)
    assert detail.message.message_id == choice.message_id and "第 3/4 题" in detail.content
    answers = (await assignment(bot, "I004", "counter_illegal_acceptance")).answers
    assert '"problem_found": "yes"' in answers and '"problem_type": "违章收寄"' in answers
