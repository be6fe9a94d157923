"""Simulated users: acting, and waiting for the bot with clear failures."""

from __future__ import annotations

import asyncio
import datetime as dtm
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.clock import ManualClock
from bot.sandbox import SandboxServer, SandboxUser
from bot.sandbox.samples import png

USER_ID = 4004


@pytest.fixture
async def bot(sandbox: SandboxServer) -> AsyncIterator[telegram.Bot]:
    async with telegram.Bot(
        sandbox.token, base_url=sandbox.base_url, base_file_url=sandbox.base_file_url
    ) as connected:
        yield connected


@pytest.fixture
def user(sandbox: SandboxServer) -> SandboxUser:
    return sandbox.user(USER_ID, "赵六", username="zhaoliu")


def buttons(*labels: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=t) for t in labels]])


async def test_same_id_gives_the_same_user(sandbox: SandboxServer, user: SandboxUser) -> None:
    assert sandbox.user(USER_ID, "别的名字") is user
    assert user.as_json == {
        "id": USER_ID,
        "is_bot": False,
        "first_name": "赵六",
        "username": "zhaoliu",
        "language_code": "zh-hans",
    }


async def test_replies_returns_new_messages_in_order(user: SandboxUser, bot: telegram.Bot) -> None:
    for text in ("一", "二", "三"):
        await bot.send_message(USER_ID, text)
    assert [m.text for m in await user.replies(1)] == ["一"]
    assert [m.text for m in await user.replies(2)] == ["二", "三"]
    assert [m.text for m in user.messages] == ["一", "二", "三"]
    assert user.last_message is not None and user.last_message.text == "三"


async def test_replies_waits_for_messages_sent_later(user: SandboxUser, bot: telegram.Bot) -> None:
    waiting = asyncio.create_task(user.replies(2, timeout=2))
    await bot.send_message(USER_ID, "稍后一")
    await asyncio.sleep(0)
    assert not waiting.done()
    await bot.send_message(USER_ID, "稍后二")
    assert [m.text for m in await waiting] == ["稍后一", "稍后二"]


async def test_replies_timeout_lists_what_arrived(user: SandboxUser, bot: telegram.Bot) -> None:
    await bot.send_message(USER_ID, "只有一条", reply_markup=buttons("好"))
    with pytest.raises(AssertionError) as failure:
        await user.replies(2, timeout=0.1)
    report = str(failure.value)
    assert "expected 2 new replies" in report
    assert "got 1" in report
    assert "只有一条" in report and "好" in report
    # A failed wait consumes nothing.
    assert [m.text for m in await user.replies(1)] == ["只有一条"]


async def test_no_reply(user: SandboxUser, bot: telegram.Bot) -> None:
    await user.no_reply(within=0.05)
    await bot.send_message(USER_ID, "意外")
    with pytest.raises(AssertionError, match="expected no reply, got"):
        await user.no_reply(within=0.05)
    await user.replies(1)
    await user.no_reply(within=0.05)


async def test_edits_can_be_awaited(user: SandboxUser, bot: telegram.Bot) -> None:
    message = await bot.send_message(USER_ID, "处理中…")
    waiting = asyncio.create_task(user.edits(1, timeout=2))
    await asyncio.sleep(0)
    await bot.edit_message_text("已完成", USER_ID, message.message_id)
    (edit,) = await waiting
    assert edit.text == "已完成"
    assert edit.message.message_id == message.message_id
    with pytest.raises(AssertionError, match="expected 1 new edits"):
        await user.edits(1, timeout=0.05)


async def test_press_finds_the_newest_message_with_the_button(
    sandbox: SandboxServer, user: SandboxUser, bot: telegram.Bot
) -> None:
    older = await bot.send_message(USER_ID, "旧", reply_markup=buttons("是", "否"))
    newer = await bot.send_message(USER_ID, "新", reply_markup=buttons("是"))
    await bot.send_message(USER_ID, "无按钮")

    pressed = await user.press("是")
    assert pressed.message_id == newer.message_id
    assert (await user.press("否")).message_id == older.message_id
    assert (await user.press("是", message=older.message_id)).message_id == older.message_id

    (first, second, third) = await bot.get_updates()
    assert first.callback_query is not None and first.callback_query.data == "是"
    assert second.callback_query is not None and second.callback_query.data == "否"
    assert third.callback_query is not None
    assert third.callback_query.chat_instance == first.callback_query.chat_instance


async def test_press_by_callback_data(user: SandboxUser, bot: telegram.Bot) -> None:
    await bot.send_message(
        USER_ID,
        "评分",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("⭐ 5", callback_data="rate:5")]]),
    )
    pressed = await user.press("rate:5")
    assert pressed.update["callback_query"]["data"] == "rate:5"


async def test_pressing_a_missing_button_fails_the_test(
    user: SandboxUser, bot: telegram.Bot
) -> None:
    with pytest.raises(AssertionError, match="no inline buttons"):
        await user.press("确认")
    await bot.send_message(USER_ID, "请选择", reply_markup=buttons("A", "B"))
    with pytest.raises(AssertionError, match=r"cannot press '确认'(.|\n)*\('A', 'A'\)"):
        await user.press("确认")


async def test_press_data_forges_any_payload(user: SandboxUser, bot: telegram.Bot) -> None:
    message = await bot.send_message(USER_ID, "请选择", reply_markup=buttons("A"))
    await user.press_data(message.message_id, "admin:delete_all")
    (update,) = await bot.get_updates()
    assert update.callback_query is not None
    assert update.callback_query.data == "admin:delete_all"
    with pytest.raises(AssertionError, match="no message #999"):
        await user.press_data(999, "x")


async def test_press_on_a_deleted_message_fails(user: SandboxUser, bot: telegram.Bot) -> None:
    message = await bot.send_message(USER_ID, "过期", reply_markup=buttons("A"))
    await bot.delete_message(USER_ID, message.message_id)
    with pytest.raises(AssertionError):
        await user.press("A")
    with pytest.raises(AssertionError, match="no live bot message"):
        await user.press("A", message=message.message_id)


async def test_user_photo_and_document_are_downloadable(
    user: SandboxUser, bot: telegram.Bot
) -> None:
    image = png(1280, 720)
    await user.send_photo(image, caption="破损包裹")
    await user.send_document("投诉详情".encode(), "详情.txt")
    photo_update, document_update = await bot.get_updates()

    photo_message = photo_update.message
    assert photo_message is not None
    assert photo_message.caption == "破损包裹"
    sizes = photo_message.photo
    assert sizes[-1].width == 1280 and sizes[-1].height == 720
    assert all(s.file_id and s.file_unique_id and s.file_size for s in sizes)
    assert sizes[0].width <= 90
    file = await bot.get_file(sizes[-1].file_id)
    assert bytes(await file.download_as_bytearray()) == image

    document = document_update.message.document if document_update.message else None
    assert document is not None
    assert (document.file_name, document.mime_type) == ("详情.txt", "text/plain")
    file = await document.get_file()
    assert bytes(await file.download_as_bytearray()) == "投诉详情".encode()


async def test_commands_get_entities_anywhere(user: SandboxUser, bot: telegram.Bot) -> None:
    await user.send("/report@sandbox_inspection_bot 本周")
    await user.send("先 /help 再说")
    await user.send("路径 a/b 不是命令")
    first, second, third = (u.message for u in await bot.get_updates())
    assert first is not None and second is not None and third is not None
    assert list(first.parse_entities().values()) == ["/report@sandbox_inspection_bot"]
    assert list(second.parse_entities().values()) == ["/help"]
    assert third.entities == ()


async def test_answers_are_observable(user: SandboxUser, bot: telegram.Bot) -> None:
    await bot.send_message(USER_ID, "确认？", reply_markup=buttons("确认"))
    await user.press("确认")
    (update,) = await bot.get_updates()
    assert update.callback_query is not None
    await update.callback_query.answer()
    (answer,) = await user.answers(1)
    assert (answer.text, answer.show_alert, answer.data) == (None, False, "确认")


async def test_message_dates_follow_an_injected_clock() -> None:
    start = dtm.datetime(2026, 11, 25, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    clock = ManualClock(start)
    async with SandboxServer(clock=clock) as sandbox:
        user = sandbox.user(USER_ID, "赵六")
        first = await user.send("早上好")
        clock.advance(dtm.timedelta(hours=2))
        second = await user.send("十一点了")
    dates = [action.update["message"]["date"] for action in (first, second)]
    assert dates == [int(start.timestamp()), int(start.timestamp()) + 7200]


async def test_stickers_voice_locations_contacts_and_edits_reach_the_bot(
    user: SandboxUser, bot: telegram.Bot
) -> None:
    sent = await user.send("原来的话")
    await user.send_sticker("😀")
    await user.send_voice(5)
    await user.send_location(40.81, 111.65)
    await user.send_contact("13904710001", "王海燕")
    await user.edit(sent, "/help 改过的话")
    updates = await bot.get_updates(timeout=1)
    assert len(updates) == 6
    sticker, voice, location, contact = (u.message for u in updates[1:5])
    assert sticker is not None and sticker.sticker is not None
    assert sticker.sticker.emoji == "😀"
    assert voice is not None and voice.voice is not None
    assert voice.voice.duration == dtm.timedelta(seconds=5)
    assert location is not None and location.location is not None
    assert location.location.latitude == pytest.approx(40.81)
    assert contact is not None and contact.contact is not None
    edited = updates[5].edited_message
    assert updates[5].message is None and edited is not None
    assert edited.message_id == sent.message_id and edited.text == "/help 改过的话"
    assert edited.edit_date is not None
    assert edited.entities[0].type == "bot_command"


async def test_only_own_messages_can_be_edited(user: SandboxUser, sandbox: SandboxServer) -> None:
    other = sandbox.user(USER_ID + 1, "别人")
    sent = await other.send("别人的话")
    with pytest.raises(AssertionError, match="no own message"):
        await user.edit(sent, "改")
