"""Unusual input end to end: very long messages, control characters and emoji, stickers,
voice notes and locations, edited messages, commands in the middle of a conversation,
buttons of old messages and double presses, from staff in every state and from strangers;
a crash in a handler; a seeded fuzz. Each gets a sensible reply or is ignored quietly;
nothing crashes, nothing typed is lost, nothing is done twice."""

from __future__ import annotations

import io
import logging
import random
from collections.abc import Awaitable, Callable, Iterator
from datetime import date, datetime
from typing import NoReturn

import pytest
from sqlmodel import col, func, select

from bot.clock import ManualClock
from bot.logs import ContextFilter, KeyValueFormatter
from bot.presses import PressMemory
from bot.sandbox import SandboxUser, SentMessage, UserAction
from bot.usecases import complaints as bot_complaints
from bot.usecases.complaints import MAX_REPLY, MAX_REPORT
from bot.views import texts
from bot.views.buttons import Action, encode
from db.models import (
    Assignment,
    ChatState,
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
    LabelledExample,
    OutboxMessage,
    Staff,
)
from scheduler.check_flow import MAX_TEXT_ANSWER
from scheduler.org import Role
from tests.conftest import SHANGHAI
from tests.e2e.harness import Harness

WEDNESDAY = date(2026, 11, 25)
REPORT = "东2段信件报刊积压三天了，用户多次打电话投诉"
ANSWER = "已查明：东2段投递员病假，今日已安排人员补投，并向用户致歉。"
HELP_MARK = "您的角色"

Act = Callable[[SandboxUser], Awaitable[UserAction]]
OTHER_KINDS: dict[str, Act] = {
    "sticker": lambda user: user.send_sticker("😡"),
    "voice": lambda user: user.send_voice(4),
    "location": lambda user: user.send_location(40.77, 111.62),
    "contact": lambda user: user.send_contact("13912345678", "王"),
    "document": lambda user: user.send_document(b"%PDF-1.4", "清单.pdf"),
}


def at(hour: int, minute: int = 0, day: date = WEDNESDAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(at(7, 30))


@pytest.fixture(autouse=True)
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Whatever a test sends, nothing is logged as an error (no handler crashed, Telegram
    refused nothing). The crash test clears what it provoked."""
    yield
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, "\n".join(f"{r.name}: {r.getMessage()}" for r in errors)


async def said(user: SandboxUser) -> list[str]:
    """What the bot said to the user since the last look, up to the answer to a /help sent
    now. The bot handles updates in order, so by then it has handled all that came before."""
    await user.send("/help")
    contents = []
    while not (message := await user.reply(timeout=10)).content.startswith(HELP_MARK):
        contents.append(message.content)
    return contents


async def first_containing(user: SandboxUser, mark: str) -> SentMessage:
    while mark not in (message := await user.reply(timeout=10)).content:
        pass
    return message


async def complaints_of(bot: Harness, staff_code: str) -> list[Complaint]:
    reporter = await bot.staff(staff_code)
    async with bot.db.session() as session:
        statement = (
            select(Complaint)
            .where(Complaint.reporter_id == reporter.id)
            .order_by(col(Complaint.id))
        )
        return list((await session.exec(statement)).all())


async def event_kinds(bot: Harness, complaint_id: int | None) -> list[str]:
    async with bot.db.session() as session:
        statement = (
            select(ComplaintEvent.kind)
            .where(ComplaintEvent.complaint_id == complaint_id)
            .order_by(col(ComplaintEvent.id))
        )
        return list((await session.exec(statement)).all())


async def outbox_rows(bot: Harness, key_prefix: str) -> int:
    async with bot.db.session() as session:
        statement = select(func.count()).where(col(OutboxMessage.key).startswith(key_prefix))
        return int((await session.exec(statement)).one())


async def chat_flow(bot: Harness, staff_code: str) -> str | None:
    staff = await bot.staff(staff_code)
    async with bot.db.session() as session:
        state = await session.get(ChatState, staff.id)
    return state.flow if state else None


async def check(bot: Harness, staff_code: str, item_id: str) -> Assignment:
    staff = await bot.staff(staff_code)
    async with bot.db.session() as session:
        statement = select(Assignment).where(
            Assignment.inspector_id == staff.id,
            Assignment.item_id == item_id,
            Assignment.day == bot.clock.now().date(),
        )
        return (await session.exec(statement)).one()


async def morning(bot: Harness, *codes: str) -> dict[str, SentMessage]:
    """Register the inspectors and push the day's checks at 08:00."""
    users = {code: await bot.register(code) for code in codes}
    bot.clock.set(at(8))
    await bot.tick()
    return {code: await users[code].reply() for code in codes}


async def open_check(bot: Harness, code: str, push: SentMessage, item_id: str) -> SentMessage:
    assignment = await check(bot, code, item_id)
    inspector = bot.user(code)
    await inspector.press_data(push.message_id, encode(Action.OPEN_CHECK, assignment.id or 0))
    await inspector.answers(1)
    return await inspector.reply()


async def submitted_complaint(
    bot: Harness, clerk: SandboxUser, handler: SandboxUser
) -> tuple[Complaint, SentMessage, SentMessage]:
    """A report confirmed by the clerk: the complaint, the clerk's draft, the handler's card."""
    await clerk.send(REPORT)
    (draft,) = await clerk.replies(1)
    await clerk.press(texts.BUTTON_CONFIRM, draft)
    await clerk.edits(1)
    card = await first_containing(handler, "新投诉")
    complaint = (await complaints_of(bot, "C002"))[-1]
    return complaint, draft, card


async def labelled_examples(bot: Harness) -> list[LabelledExample]:
    async with bot.db.session() as session:
        return list((await session.exec(select(LabelledExample))).all())


# --- long messages ------------------------------------------------------------------------


async def test_too_long_messages_are_refused_whole_and_asked_again(bot: Harness) -> None:
    clerk, handler = await bot.register("C002"), await bot.register("H001")
    await clerk.send("积压" * 2100)  # longer than Telegram's 4096: what a paste can look like
    assert await said(clerk) == [texts.message_too_long(4200, MAX_REPORT)]
    await clerk.send("/complaint")
    await clerk.send("东" * (MAX_REPORT + 1))
    assert await said(clerk) == [
        texts.ASK_COMPLAINT_TEXT,
        texts.message_too_long(MAX_REPORT + 1, MAX_REPORT),
    ]
    assert await complaints_of(bot, "C002") == []
    assert await chat_flow(bot, "C002") == "complaint_text", "still waiting for the report"

    # The longest report that fits, with more tracking numbers than their column holds and
    # every other character an emoji (two UTF-16 units): shown whole, routed whole.
    numbers = [f"EA{n:09d}CN" for n in range(40)]
    head = "东2段信件积压三天了，邮件号 " + " ".join(numbers) + " "
    text = head + "😡" * (MAX_REPORT - len(head))
    await clerk.send(text)
    (draft,) = await clerk.replies(1)
    assert draft.content.endswith("😡" * 50) and numbers[0] in draft.content
    (complaint,) = await complaints_of(bot, "C002")
    assert complaint.text == text and len(complaint.tracking_numbers) <= 500
    assert (
        complaint.tracking_numbers.split(",")
        == numbers[: len(complaint.tracking_numbers) // 14 + 1]
    )
    await clerk.press(texts.BUTTON_CONFIRM, draft)
    card = await first_containing(handler, "新投诉")
    assert numbers[-1] in card.content and card.content.count("😡") == text.count("😡")

    await handler.press(texts.BUTTON_ANSWER, card)
    await handler.send("查" * (MAX_REPLY + 1))
    assert await said(handler) == [
        texts.ASK_ANSWER,
        texts.message_too_long(MAX_REPLY + 1, MAX_REPLY),
    ]
    assert await chat_flow(bot, "H001") == "complaint_answer"
    longest = ANSWER + "。" * (MAX_REPLY - len(ANSWER))
    await handler.send(longest)
    assert await said(handler) == [texts.ANSWER_SAVED]
    notice = await first_containing(clerk, "已由")
    assert longest in notice.content

    # A free-text answer of a check
    push = (await morning(bot, "I003"))["I003"]
    inspector = bot.user("I003")
    await open_check(bot, "I003", push, "delivery_registered_balance")
    await inspector.press(texts.NO)
    await inspector.send("少" * (MAX_TEXT_ANSWER + 1))
    (question,) = await inspector.edits(1)
    (refused,) = await inspector.replies(1)
    assert "第 2/2 题" in question.content
    assert refused.content.startswith(texts.message_too_long(MAX_TEXT_ANSWER + 1, MAX_TEXT_ANSWER))
    assert "第 2/2 题" in refused.content
    await inspector.send("9" * 5000)  # a number no one counted, to the free-text question
    assert "第 2/2 题" in (await inspector.reply()).content
    assert (await check(bot, "I003", "delivery_registered_balance")).answers == (
        '{"balanced": "no"}'
    )
    await inspector.send("给据函件少一件，正在查找" + "。" * (MAX_TEXT_ANSWER - 12))
    (summary,) = await inspector.replies(1)
    assert "请核对" in summary.content and "正在查找" in summary.content


# --- control characters, emoji, markup ----------------------------------------------------


async def test_control_characters_are_replaced_and_emoji_kept(bot: Harness) -> None:
    clerk = await bot.register("C002")
    await clerk.send(
        "东2段\x00信件\x07积压\x1b三天了 😡👨\u200d👩\u200d👧 <b>&amp;</b>\u200b\u202e"
    )
    (draft,) = await clerk.replies(1)
    clean = "东2段 信件 积压 三天了 😡👨\u200d👩\u200d👧 <b>&amp;</b>\u200b\u202e"
    assert draft.content.endswith("原文：" + clean)  # markup shown as typed, not applied
    (complaint,) = await complaints_of(bot, "C002")
    assert complaint.text == clean and complaint.category == "delay"

    stranger = bot.sandbox.user(99, "陌生人")
    await stranger.send("/start \x00abc\x00")
    assert (await stranger.reply()).content == texts.INVITE_UNKNOWN
    await clerk.press_data(draft.message_id, encode(Action.CONFIRM, complaint.id or 0) + "\x00")
    (answer,) = await clerk.answers(1)
    assert answer.text == texts.UNKNOWN_BUTTON
    assert (await complaints_of(bot, "C002"))[0].status is ComplaintStatus.DRAFT


# --- stickers, voice notes, locations … where something else is expected --------------------


async def test_other_kinds_get_what_is_expected_said_again(bot: Harness) -> None:
    pushes = await morning(bot, "I003", "I004")
    clerk, handler = await bot.register("C002"), await bot.register("H001")

    for send in OTHER_KINDS.values():
        await send(clerk)
    await clerk.send_photo(b"\x89PNG")
    assert await said(clerk) == [texts.UNSUPPORTED_MESSAGE] * 5 + [texts.PHOTO_NEEDS_CAPTION]

    await clerk.send("/complaint")
    for send in OTHER_KINDS.values():
        await send(clerk)
    await clerk.send_photo(b"\x89PNG")
    expected = texts.text_expected(texts.ASK_COMPLAINT_TEXT)
    assert await said(clerk) == [
        texts.ASK_COMPLAINT_TEXT,
        *[expected] * 5,
        texts.PHOTO_NEEDS_CAPTION,
    ]
    await clerk.send(REPORT)  # still waiting for it
    (draft,) = await clerk.replies(1)
    assert "问题上报" in draft.content
    await clerk.press(texts.BUTTON_CONFIRM, draft)
    await clerk.edits(1)

    card = await first_containing(handler, "新投诉")
    await handler.press(texts.BUTTON_ANSWER, card)
    for send in OTHER_KINDS.values():
        await send(handler)
    await handler.send_photo(b"\x89PNG")
    expected = texts.text_expected(texts.ASK_ANSWER)
    assert await said(handler) == [texts.ASK_ANSWER, *[expected] * 6]
    assert await chat_flow(bot, "H001") == "complaint_answer"

    inspector = bot.user("I003")
    await open_check(bot, "I003", pushes["I003"], "delivery_express_signoff")  # a number
    for send in OTHER_KINDS.values():
        await send(inspector)
    replies = await said(inspector)
    assert len(replies) == 5
    for reply in replies:
        assert reply.startswith("请输入数字，例如 25。") and "第 1/4 题" in reply
    assert (await check(bot, "I003", "delivery_express_signoff")).answers == "{}"

    inspector = bot.user("I004")
    question = await open_check(bot, "I004", pushes["I004"], "counter_illegal_acceptance")
    await inspector.send_voice()
    (again,) = await inspector.replies(1)
    assert again.content.startswith("请点按钮回答。") and again.button_texts == [
        texts.YES,
        texts.NO,
    ]
    await inspector.press(texts.YES, question)
    await inspector.edits(1)
    await inspector.press("违章收寄")
    await inspector.edits(1)
    await inspector.send_location(40.77, 111.62)  # to the free-text question
    assert (await inspector.reply()).content.startswith("这一题需要文字回答。")
    await inspector.send("收寄一件未验视的包裹，已退回补验")
    await inspector.replies(1)
    await inspector.send_document(b"\x89PNG", "现场.png")  # a photo sent as a file
    assert (await inspector.reply()).content.startswith("这一题需要发送照片作为凭证。")
    await inspector.send_photo(b"\x89PNG evidence")
    assert "请核对" in (await inspector.reply()).content


# --- edited messages ----------------------------------------------------------------------


async def test_edited_messages_get_a_note_and_change_nothing(bot: Harness) -> None:
    push = (await morning(bot, "I003"))["I003"]
    clerk = await bot.register("C002")
    report = await clerk.send(REPORT)
    await clerk.replies(1)
    await clerk.edit(report, "西1段包裹破损")
    await clerk.edit(report, "/complaint")  # edited into a command: not run either
    assert await said(clerk) == [texts.EDITED_MESSAGE_IGNORED] * 2
    (complaint,) = await complaints_of(bot, "C002")
    assert complaint.text == REPORT and complaint.category == "delay"
    assert await chat_flow(bot, "C002") is None

    inspector = bot.user("I003")
    await open_check(bot, "I003", push, "delivery_express_signoff")
    total = await inspector.send("120")
    await inspector.reply()
    await inspector.edit(total, "130")
    assert await said(inspector) == [texts.EDITED_MESSAGE_IGNORED]
    assert (await check(bot, "I003", "delivery_express_signoff")).answers == (
        '{"lists_total": 120}'
    )
    await inspector.send("12")  # the next question is still the second
    assert "第 3/4 题" in (await inspector.reply()).content

    stranger = bot.sandbox.user(99, "陌生人")
    hello = await stranger.send("你好")
    await stranger.reply()
    await stranger.edit(hello, "/start")
    assert (await stranger.reply()).content == texts.STRANGER


# --- commands in the middle of a conversation ---------------------------------------------


async def test_commands_in_the_middle_keep_the_pending_question(bot: Harness) -> None:
    push = (await morning(bot, "I003"))["I003"]
    inspector = bot.user("I003")
    await open_check(bot, "I003", push, "delivery_express_signoff")
    await inspector.send("120")
    await inspector.send("/overdue")
    await inspector.send("/nosuchcommand 1 2")
    await inspector.send("/skip")
    replies = await said(inspector)
    assert "第 2/4 题" in replies[0]
    assert replies[1:3] == [texts.command_not_for_role(Role.INSPECTOR), texts.UNKNOWN_COMMAND]
    assert replies[3].startswith(texts.CANNOT_SKIP) and "第 2/4 题" in replies[3]
    await inspector.send("20")
    assert "第 3/4 题" in (await inspector.reply()).content

    await inspector.send("/complaint")
    assert await said(inspector) == [f"{texts.CHECK_PAUSED}\n{texts.ASK_COMPLAINT_TEXT}"]
    await inspector.send(REPORT)
    assert "问题上报" in (await inspector.reply()).content
    await inspector.send("/today")
    overview = await inspector.reply()
    assert "（2/4）" in overview.content
    assignment = await check(bot, "I003", "delivery_express_signoff")
    await inspector.press_data(overview.message_id, encode(Action.OPEN_CHECK, assignment.id or 0))
    assert "第 3/4 题" in (await inspector.reply()).content

    clerk, handler = await bot.register("C002"), await bot.register("H001")
    submitted, _, _ = await submitted_complaint(bot, clerk, handler)
    await handler.press(texts.BUTTON_ANSWER)
    await handler.send("/start")
    await handler.send("/progress")
    await handler.send(ANSWER)
    replies = await said(handler)
    assert replies[0] == texts.ASK_ANSWER and replies[-1] == texts.ANSWER_SAVED
    complaint = (await complaints_of(bot, "C002"))[0]
    assert complaint.id == submitted.id and complaint.answer == ANSWER
    await first_containing(clerk, "已由")  # the answer reaches the reporter

    await clerk.send("包裹破损了，内件损坏，用户要求赔偿")
    (draft,) = await clerk.replies(1)
    await clerk.send("/cancel")  # nothing pending: the draft waiting to be confirmed stays
    await clerk.send("/complaint")
    await clerk.send("/cancel")
    assert await said(clerk) == [
        texts.INPUT_CANCELLED,
        texts.ASK_COMPLAINT_TEXT,
        texts.INPUT_CANCELLED,
    ]
    await clerk.press(texts.BUTTON_CONFIRM, draft)
    assert "已提交" in (await clerk.edits(1))[0].content


# --- buttons of old messages --------------------------------------------------------------


async def test_buttons_of_old_messages_are_outdated_and_change_nothing(bot: Harness) -> None:
    bot.services.presses = PressMemory(window=0)  # every press counts, however quick
    push = (await morning(bot, "I003"))["I003"]
    inspector = bot.user("I003")
    first = await open_check(bot, "I003", push, "delivery_registered_balance")
    yes, no = first.callback_data(texts.YES), first.callback_data(texts.NO)
    await inspector.press_data(first.message_id, no)
    await inspector.edits(1)
    await inspector.press_data(first.message_id, yes)  # the question answered already
    answers = await inspector.answers(2)
    assert (answers[1].text, answers[1].show_alert) == (texts.BUTTON_OUTDATED, False)
    assert await said(inspector) == []
    assignment = await check(bot, "I003", "delivery_registered_balance")
    assert assignment.answers == '{"balanced": "no"}'

    await inspector.send("给据函件少一件，正在查找")
    (summary,) = await inspector.replies(1)
    redo, submit = (
        summary.callback_data(texts.BUTTON_REDO_CHECK),
        summary.callback_data(texts.BUTTON_SUBMIT_CHECK),
    )
    await inspector.press_data(summary.message_id, redo)
    (again,) = await inspector.edits(1)
    assert "第 1/1 题" in again.content
    await inspector.press_data(summary.message_id, redo)  # the old summary: no second wipe
    await inspector.press_data(summary.message_id, submit)
    answers = await inspector.answers(3)
    assert answers[1].text == texts.BUTTON_OUTDATED
    assert (answers[2].text, answers[2].show_alert) == (texts.CHECK_UNANSWERED, True)
    await inspector.press(texts.YES, again.message)
    await inspector.edits(1)
    await inspector.press(texts.BUTTON_SUBMIT_CHECK)
    assert (await inspector.edits(1))[0].content.endswith(texts.check_done(0, None))
    await inspector.press_data(first.message_id, no)
    await inspector.press_data(push.message_id, encode(Action.OPEN_CHECK, assignment.id or 0))
    answers = await inspector.answers(4)  # 是, submit, then the two old buttons
    assert [a.text for a in answers[2:]] == [texts.CHECK_FINISHED] * 2
    assert await said(inspector) == []

    clerk, handler = await bot.register("C002"), await bot.register("H001")
    complaint, draft, card = await submitted_complaint(bot, clerk, handler)
    complaint_id = complaint.id or 0
    for action, value in ((Action.CHANGE_CATEGORY, ""), (Action.SET_CATEGORY, "loss")):
        await clerk.press_data(draft.message_id, encode(action, complaint_id, value))
    await clerk.press_data(draft.message_id, encode(Action.CANCEL, complaint_id))
    answers = await clerk.answers(4)
    assert [a.text for a in answers[1:]] == [texts.ALREADY_DONE] * 3
    (complaint,) = await complaints_of(bot, "C002")
    assert (complaint.status, complaint.category) == (ComplaintStatus.OPEN, "delay")

    await handler.press(texts.BUTTON_ANSWER, card)
    await handler.send(ANSWER)
    await handler.press(texts.BUTTON_ANSWER, card)
    await handler.press(texts.BUTTON_REROUTE, card)
    answers = await handler.answers(3)
    assert [a.text for a in answers[1:]] == [texts.ALREADY_DONE] * 2
    assert await said(handler) == [texts.ASK_ANSWER, texts.ANSWER_SAVED]
    assert await chat_flow(bot, "H001") is None

    for data in ("zzz:1", "cok:abc", "cok:²", f"kans:{assignment.id}:²-yes", "kans:1", "x" * 300):
        await handler.press_data(card.message_id, data)
    answers = await handler.answers(6)
    assert [a.text for a in answers] == [texts.UNKNOWN_BUTTON] * 6
    assert await said(handler) == []


# --- double presses -----------------------------------------------------------------------


async def press_twice(user: SandboxUser, message: SentMessage, button: str) -> list[str | None]:
    """Two taps in a row on one button; the texts of the two answers."""
    data = message.callback_data(button)
    await user.press_data(message.message_id, data)
    await user.press_data(message.message_id, data)
    return [answer.text for answer in await user.answers(2)]


async def test_a_double_press_does_the_work_once(bot: Harness) -> None:
    push = (await morning(bot, "I003"))["I003"]
    clerk, handler = await bot.register("C002"), await bot.register("H001")
    manager = await bot.register("M003")
    await clerk.send(REPORT)
    (draft,) = await clerk.replies(1)
    assert await press_twice(clerk, draft, texts.BUTTON_CONFIRM) == [None, texts.PRESSED_TOO_OFTEN]
    assert await said(clerk) == []
    (submitted,) = await clerk.edits(1)
    assert submitted.message.message_id == draft.message_id and "已提交" in submitted.content
    (complaint,) = await complaints_of(bot, "C002")
    assert await event_kinds(bot, complaint.id) == ["created", "routed"]
    assert await outbox_rows(bot, f"complaint:{complaint.id}:route") == 1
    await first_containing(handler, "新投诉")

    inspector = bot.user("I003")
    assignment = await check(bot, "I003", "delivery_registered_balance")
    data = encode(Action.OPEN_CHECK, assignment.id or 0)
    await inspector.press_data(push.message_id, data)
    await inspector.press_data(push.message_id, data)
    assert [a.text for a in await inspector.answers(2)] == [None, texts.PRESSED_TOO_OFTEN]
    (question,) = await said(inspector)
    assert "第 1/1 题" in question
    question_message = inspector.messages[-2]
    assert await press_twice(inspector, question_message, texts.NO) == [
        None,
        texts.PRESSED_TOO_OFTEN,
    ]
    assert await said(inspector) == []
    (follow_up,) = await inspector.edits(1)  # once: the question became the next one
    assert follow_up.message.message_id == question_message.message_id
    assert "第 2/2 题" in follow_up.content
    assignment = await check(bot, "I003", "delivery_registered_balance")
    assert assignment.answers == '{"balanced": "no"}'

    # A slower second press (past the double-tap window, or on another instance): the
    # record's own state refuses it.
    bot.services.presses = PressMemory(window=0)
    await clerk.send(REPORT)
    (draft,) = await clerk.replies(1)
    assert await press_twice(clerk, draft, texts.BUTTON_CONFIRM) == [None, texts.ALREADY_DONE]
    second = (await complaints_of(bot, "C002"))[-1]
    assert await outbox_rows(bot, f"complaint:{second.id}:route") == 1
    assert await said(clerk) == []
    (submitted,) = await clerk.edits(1)
    assert submitted.message.message_id == draft.message_id and "已提交" in submitted.content

    bot.clock.set(at(9, day=date(2026, 11, 26)))  # past the one working day to answer
    await bot.tick()
    alert = await first_containing(manager, "升级")
    claimed_id = int(alert.callback_data(texts.BUTTON_CLAIM).split(":")[1])
    assert await press_twice(manager, alert, texts.BUTTON_CLAIM) == [None, texts.ALREADY_DONE]
    assert (await event_kinds(bot, claimed_id)).count("claimed") == 1
    claimed = [m for m in await said(manager) if "认领" in m]
    assert claimed == [texts.complaint_claimed(claimed_id)]

    # The category a reporter picks becomes one training example, however often pressed.
    # (Last: a later tick would retrain the classifier the tests share.)
    bot.services.presses = PressMemory()
    await clerk.send("今天天气不错，挺好的")  # unsure: the reporter picks the category
    (unsure,) = await clerk.replies(1)
    assert await press_twice(clerk, unsure, "其他") == [None, texts.PRESSED_TOO_OFTEN]
    assert len(await labelled_examples(bot)) == 1
    bot.services.presses = PressMemory(window=0)
    await clerk.send("今天天气真不错，挺好的")
    (unsure,) = await clerk.replies(1)
    assert await press_twice(clerk, unsure, "其他") == [None, None]  # the same choice: no-op
    assert len(await labelled_examples(bot)) == 2


# --- strangers ----------------------------------------------------------------------------


async def test_strangers_get_the_explanation_whatever_they_send(bot: Harness) -> None:
    stranger = bot.sandbox.user(99, "陌生人")
    hello = await stranger.send("你好，我要投诉")
    for send in OTHER_KINDS.values():
        await send(stranger)
    await stranger.send("/today")
    await stranger.edit(hello, "/complaint")
    replies = await stranger.replies(8)
    assert [r.content for r in replies] == [texts.STRANGER] * 8
    await stranger.press_data(replies[0].message_id, "cok:1")
    (answer,) = await stranger.answers(1)
    assert (answer.text, answer.show_alert) == (texts.STRANGER_ALERT, True)
    async with bot.db.session() as session:
        bound = (await session.exec(select(Staff).where(Staff.telegram_user_id == 99))).all()
    assert bound == [] and await labelled_examples(bot) == []
    async with bot.db.session() as session:
        assert (await session.exec(select(Complaint))).all() == []


# --- a crash in a handler -----------------------------------------------------------------


async def test_a_crash_is_logged_with_the_update_id_and_the_bot_goes_on(
    bot: Harness, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = io.StringIO()
    log_handler = logging.StreamHandler(lines)  # the production line format
    log_handler.addFilter(ContextFilter())
    log_handler.setFormatter(KeyValueFormatter())
    logging.getLogger("handlers.errors").addHandler(log_handler)
    try:
        manager, clerk = await bot.register("M003"), await bot.register("C002")

        async def broken(*args: object, **kwargs: object) -> NoReturn:
            raise RuntimeError("forced failure")

        monkeypatch.setattr(bot_complaints, "overdue_in_scope", broken)
        command = await manager.send("/overdue")
        assert (await manager.reply()).content == texts.INTERNAL_ERROR
        await clerk.send(REPORT)
        (draft,) = await clerk.replies(1)
        monkeypatch.setattr(bot_complaints, "confirm_complaint", broken)
        press = await clerk.press(texts.BUTTON_CONFIRM, draft)
        assert (await clerk.reply()).content == texts.INTERNAL_ERROR
    finally:
        logging.getLogger("handlers.errors").removeHandler(log_handler)

    records = [r for r in caplog.records if r.name == "handlers.errors"]
    assert [r.getMessage() for r in records] == [
        f"error while handling update {command.update_id}",
        f"error while handling update {press.update_id}",
    ]
    assert all(r.exc_info and isinstance(r.exc_info[1], RuntimeError) for r in records)
    logged = lines.getvalue()
    assert f"update={command.update_id} user={manager.id} staff=M003" in logged
    assert f"update={press.update_id} user={clerk.id} staff=C002" in logged
    assert "RuntimeError: forced failure" in logged

    monkeypatch.undo()  # the bot runs on; nothing typed before the crash is lost
    assert await said(manager) == []
    await manager.send("/overdue")
    assert await said(manager) == [texts.NO_OVERDUE]
    (complaint,) = await complaints_of(bot, "C002")
    assert complaint.status is ComplaintStatus.DRAFT and complaint.text == REPORT
    bot.services.presses = PressMemory(window=0)
    await clerk.press(texts.BUTTON_CONFIRM, draft)
    assert "已提交" in (await clerk.edits(1))[0].content
    caplog.clear()  # the errors provoked here are the point, not a failure


# --- fuzz ---------------------------------------------------------------------------------

FUZZ_SEED = 20261125
FUZZ_INPUTS = 200
PIECES: list[str] = [
    *"东西南北段信件报刊积压丢失破损投诉用户态度包裹三天多次电话营业投递是否的了，。！？",
    "东2段", "察素齐投递部", "EA123456789CN", "1234567890123", "13912345678", "12345", "媒体",
    "😡", "👍🏽", "👨\u200d👩\u200d👧", "🇨🇳", "❤️", "📦",  # emoji, ZWJ sequences, flags
    "\u202e", "\u202b", "\u200f", "مرحبا", "שלום",  # right to left
    "\u200b", "\u200c", "\u200d", "\ufeff", "\u2060", "\u00ad",  # invisible
    *(chr(c) for c in (*range(32), 0x7F, 0x85, 0x9F)),  # control characters, NUL included
    "0", "25", "-3", "２５", "²", "١٢", "9" * 20, "1,000", "二百", "两千三", "万", "25份",
    "<b>", "</i>", "&amp;", "&", "<", ">", '"', "'", "\\", "/", "e\u0301", "\u0300" * 4,
    " ", "\n", "\t",
]  # fmt: skip
COMMANDS = [
    "start", "today", "skip", "cancel", "complaint", "overdue", "progress", "stats",
    "foo", "Today", "CANCEL", "x" * 33, "s_1", "start@other_bot",
]  # fmt: skip


def fuzz_text(rng: random.Random) -> str:
    if rng.random() < 0.06:
        return rng.choice(PIECES) * rng.randint(600, 2500)  # up to 5000 characters
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 25)))


def fuzz_command(rng: random.Random) -> str:
    args = [fuzz_text(rng)[:20].replace(" ", "_") for _ in range(rng.randint(0, 2))]
    return " ".join(["/" + rng.choice(COMMANDS), *args])


def fuzz_press(rng: random.Random, user: SandboxUser) -> tuple[int, str] | None:
    """A real button pressed (perhaps long after), forged data, or garbage."""
    messages = [m for m in user.messages if not m.deleted]
    if not messages:
        return None
    buttons = [(m.message_id, data) for m in messages for row in m.buttons for _, data in row]
    roll = rng.random()
    if roll < 0.45 and buttons:
        message_id, data = rng.choice(buttons)
        return message_id, data or "x"
    message_id = rng.choice(messages).message_id
    if roll < 0.75:
        record = rng.choice([0, 1, 2, 3, 5, 8, 13, 2**31 - 1, 2**31, 10**30])
        value = rng.choice(["", "delay", "x", "0-yes", "1-no", "9-yes", "²-yes", "0-", "-1-2"])
        return message_id, encode(rng.choice(list(Action)), record, value)
    return message_id, fuzz_text(rng)[: rng.choice([1, 8, 64, 300])] or "x"


async def test_fuzz_never_crashes_and_the_bot_still_answers(bot: Harness) -> None:
    rng = random.Random(FUZZ_SEED)
    # Every press reaches the features, however quick: the same path on every run, and
    # repeated presses of real buttons test the records' own refusals.
    bot.services.presses = PressMemory(window=0)
    pushes = await morning(bot, "I003", "I004")
    staff = {code: await bot.register(code) for code in ("C001", "C002", "H001", "M003")}
    staff.update({code: bot.user(code) for code in ("I003", "I004")})
    # Everyone somewhere: in a check (a number; yes/no), writing a report, a draft to
    # confirm, an answer to write, idle.
    await open_check(bot, "I003", pushes["I003"], "delivery_express_signoff")
    await open_check(bot, "I004", pushes["I004"], "counter_illegal_acceptance")
    await submitted_complaint(bot, staff["C002"], staff["H001"])
    await staff["H001"].press(texts.BUTTON_ANSWER)
    await staff["C002"].send("/complaint")
    await staff["C001"].send(REPORT)
    people = [*staff.values(), bot.sandbox.user(99, "陌生人")]
    texts_sent: dict[int, list[UserAction]] = {user.id: [] for user in people}

    for _ in range(FUZZ_INPUTS):
        user = rng.choice(people)
        kind = rng.choices(
            ["text", "command", "press", "photo", "other", "edit"], [30, 15, 25, 5, 12, 13]
        )[0]
        if kind == "press" and (press := fuzz_press(rng, user)) is not None:
            await user.press_data(*press)
        elif kind == "command":
            await user.send(fuzz_command(rng))
        elif kind == "photo":
            await user.send_photo(
                b"\x89PNG fuzz", caption=rng.choice([None, fuzz_text(rng)[:1024]])
            )
        elif kind == "other":
            await rng.choice(list(OTHER_KINDS.values()))(user)
        elif kind == "edit" and texts_sent[user.id]:
            await user.edit(rng.choice(texts_sent[user.id]), fuzz_text(rng))
        else:
            texts_sent[user.id].append(await user.send(fuzz_text(rng)))

    for user in staff.values():
        await said(user)  # a normal /help is still answered, after everything else
    for user in people:
        assert texts.INTERNAL_ERROR not in [m.content for m in user.messages], user
    refused = [c for c in bot.sandbox.calls if not c.ok]
    assert all("not modified" in (c.description or "") for c in refused), refused
