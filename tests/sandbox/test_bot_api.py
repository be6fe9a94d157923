"""A real python-telegram-bot ``Bot`` against the sandbox, method by method."""

from __future__ import annotations

import asyncio
import datetime as dtm
import re
import time
from collections.abc import AsyncIterator

import pytest
import telegram
from telegram import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
)
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter

from bot.sandbox import ApiCall, ApiReply, SandboxServer
from bot.sandbox.samples import png

USER_ID = 1001


def error(text: str) -> str:
    """A pytest.raises pattern for a Telegram description (PTB capitalises what it keeps)."""
    return "(?i)" + re.escape(text)


SECONDS = dtm.timedelta(seconds=1)


PNG = png(640, 480)


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    async with SandboxServer() as server:
        yield server


def make_bot(sandbox: SandboxServer, token: str | None = None) -> telegram.Bot:
    return telegram.Bot(
        token or sandbox.token,
        base_url=sandbox.base_url,
        base_file_url=sandbox.base_file_url,
    )


@pytest.fixture
async def bot(sandbox: SandboxServer) -> AsyncIterator[telegram.Bot]:
    async with make_bot(sandbox) as connected:
        yield connected


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


async def test_get_me_describes_the_bot(sandbox: SandboxServer, bot: telegram.Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot
    assert me.id == int(sandbox.token.split(":")[0])
    assert me.username == sandbox.bot_user["username"]
    assert me.can_join_groups is True
    assert bot.username == me.username


async def test_send_message_with_inline_keyboard_reaches_the_user(
    sandbox: SandboxServer, bot: telegram.Bot
) -> None:
    user = sandbox.user(USER_ID, "张三")
    before = int(time.time())
    message = await bot.send_message(
        USER_ID,
        "请选择 <b>网点</b>：",
        parse_mode="HTML",
        reply_markup=keyboard([("北京", "site:1"), ("上海", "site:2")], [("取消", "cancel")]),
    )
    assert message.chat.id == USER_ID
    assert message.from_user is not None and message.from_user.is_bot
    assert message.text == "请选择 网点："
    assert message.text_html == "请选择 <b>网点</b>："
    assert before <= message.date.timestamp() <= time.time() + 1

    (sent,) = await user.replies(1)
    assert sent.message_id == message.message_id
    assert sent.kind == "text"
    assert sent.text == "请选择 网点："
    assert sent.source == "请选择 <b>网点</b>："
    assert sent.parse_mode == "HTML"
    assert sent.buttons == [[("北京", "site:1"), ("上海", "site:2")], [("取消", "cancel")]]


async def test_reply_keyboard_is_shown_and_removed(
    sandbox: SandboxServer, bot: telegram.Bot
) -> None:
    user = sandbox.user(USER_ID, "张三")
    sent = await bot.send_message(
        USER_ID,
        "结果？",
        reply_markup=ReplyKeyboardMarkup([[KeyboardButton("合格"), "不合格"]]),
    )
    assert sent.reply_markup is None  # Telegram echoes only inline keyboards
    assert user.keyboard == [["合格", "不合格"]]
    await bot.send_message(USER_ID, "好的", reply_markup=ReplyKeyboardRemove())
    assert user.keyboard is None
    first, second = await user.replies(2)
    assert first.keyboard == [["合格", "不合格"]]
    assert second.removes_keyboard


async def test_reply_parameters(sandbox: SandboxServer, bot: telegram.Bot) -> None:
    user = sandbox.user(USER_ID, "张三")
    asked = await user.send("哪里投诉？")
    assert asked.message_id is not None
    answer = await bot.send_message(
        USER_ID, "请拨打11183", reply_parameters=ReplyParameters(asked.message_id)
    )
    assert answer.reply_to_message is not None
    assert answer.reply_to_message.text == "哪里投诉？"
    with pytest.raises(BadRequest, match=error("message to be replied not found")):
        await bot.send_message(USER_ID, "x", reply_parameters=ReplyParameters(999))
    (reply,) = await user.replies(1)
    assert reply.reply_to_message_id == asked.message_id


async def test_edit_message_text_and_markup(sandbox: SandboxServer, bot: telegram.Bot) -> None:
    user = sandbox.user(USER_ID, "张三")
    message = await bot.send_message(USER_ID, "第1题", reply_markup=keyboard([("是", "y")]))
    (sent,) = await user.replies(1)

    edited = await bot.edit_message_text(
        "第1题 ✅", USER_ID, message.message_id, reply_markup=keyboard([("下一题", "next")])
    )
    assert isinstance(edited, telegram.Message)
    assert edited.edit_date is not None
    (edit,) = await user.edits(1)
    assert edit.method == "editMessageText"
    assert edit.text == "第1题 ✅"
    assert edit.buttons == [[("下一题", "next")]]
    # The record returned by replies() shows the latest state.
    assert sent.text == "第1题 ✅"
    assert sent.buttons == [[("下一题", "next")]]

    with pytest.raises(BadRequest, match=error("message is not modified")):
        await bot.edit_message_text(
            "第1题 ✅", USER_ID, message.message_id, reply_markup=keyboard([("下一题", "next")])
        )

    await bot.edit_message_reply_markup(USER_ID, message.message_id, reply_markup=None)
    (removed,) = await user.edits(1)
    assert removed.method == "editMessageReplyMarkup"
    assert removed.buttons == []
    assert sent.buttons == []

    with pytest.raises(BadRequest, match=error("message to edit not found")):
        await bot.edit_message_text("x", USER_ID, 999)
    mine = await user.send("用户的消息")
    assert mine.message_id is not None
    with pytest.raises(BadRequest, match=error("message can't be edited")):
        await bot.edit_message_text("x", USER_ID, mine.message_id)


async def test_edit_text_without_markup_drops_the_keyboard(
    sandbox: SandboxServer, bot: telegram.Bot
) -> None:
    user = sandbox.user(USER_ID, "张三")
    message = await bot.send_message(USER_ID, "选择", reply_markup=keyboard([("A", "a")]))
    await bot.edit_message_text("已选择 A", USER_ID, message.message_id)
    (edit,) = await user.edits(1)
    assert edit.buttons == []


async def test_send_photo_bytes_then_get_file_and_download(
    sandbox: SandboxServer, bot: telegram.Bot
) -> None:
    user = sandbox.user(USER_ID, "张三")
    message = await bot.send_photo(USER_ID, PNG, caption="<i>现场</i>照片", parse_mode="HTML")
    assert message.caption == "现场照片"
    largest = message.photo[-1]
    assert (largest.width, largest.height) == (640, 480)
    assert largest.file_size == len(PNG)
    assert message.photo[0].width < largest.width

    file = await bot.get_file(largest.file_id)
    assert file.file_unique_id == largest.file_unique_id
    assert file.file_path is not None and file.file_path.startswith(sandbox.base_file_url)
    assert bytes(await file.download_as_bytearray()) == PNG

    (sent,) = await user.replies(1)
    assert sent.kind == "photo"
    assert sent.caption == "现场照片"
    assert sent.content == "现场照片"
    assert sent.file_bytes == PNG

    again = await bot.send_photo(USER_ID, largest.file_id)
    assert [p.file_id for p in again.photo] == [p.file_id for p in message.photo]
    with pytest.raises(BadRequest, match=error("wrong file identifier")):
        await bot.send_photo(USER_ID, "no-such-file-id")


async def test_send_document_upload_and_resend(sandbox: SandboxServer, bot: telegram.Bot) -> None:
    user = sandbox.user(USER_ID, "张三")
    report = "网点,得分\n北京,95\n".encode()
    message = await bot.send_document(USER_ID, report, filename="月报.csv", caption="十一月")
    assert message.document is not None
    assert message.document.file_name == "月报.csv"
    assert message.document.mime_type == "text/csv"
    assert message.document.file_size == len(report)

    file = await bot.get_file(message.document.file_id)
    assert bytes(await file.download_as_bytearray()) == report

    resent = await bot.send_document(USER_ID, message.document.file_id)
    assert resent.document is not None
    assert resent.document.file_unique_id == message.document.file_unique_id

    first, second = await user.replies(2)
    assert (first.kind, first.file_name, first.file_bytes) == ("document", "月报.csv", report)
    assert first.caption == "十一月"
    assert second.file_bytes == report
    with pytest.raises(BadRequest, match=error("can't use file of type Document as Photo")):
        await bot.send_photo(USER_ID, message.document.file_id)


async def test_commands_are_stored_per_scope_and_language(
    sandbox: SandboxServer, bot: telegram.Bot
) -> None:
    assert await bot.get_my_commands() == ()
    await bot.set_my_commands([BotCommand("start", "开始"), BotCommand("check", "开始检查")])
    await bot.set_my_commands(
        [BotCommand("report", "报表")], scope=BotCommandScopeChat(USER_ID), language_code="zh"
    )
    assert [c.command for c in await bot.get_my_commands()] == ["start", "check"]
    chat_scope = BotCommandScopeChat(USER_ID)
    assert [c.command for c in await bot.get_my_commands(chat_scope, "zh")] == ["report"]
    assert await bot.get_my_commands(BotCommandScopeAllPrivateChats()) == ()
    assert sandbox.commands() == [
        {"command": "start", "description": "开始"},
        {"command": "check", "description": "开始检查"},
    ]
    assert sandbox.commands({"type": "chat", "chat_id": USER_ID}, "zh")[0]["command"] == "report"
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()
    with pytest.raises(BadRequest, match=error("BOT_COMMAND_INVALID")):
        await bot.set_my_commands([BotCommand("Bad Command", "x")])


async def test_long_poll_returns_a_user_message_promptly(
    sandbox: SandboxServer, bot: telegram.Bot
) -> None:
    user = sandbox.user(USER_ID, "张三", username="zhangsan")
    poll = asyncio.create_task(bot.get_updates(timeout=dtm.timedelta(seconds=5)))
    await sandbox.updates.until_polled()
    assert not poll.done()
    started = time.monotonic()
    await user.send("/start abc")
    (update,) = await asyncio.wait_for(poll, 2)
    assert time.monotonic() - started < 1
    assert update.message is not None
    assert update.message.text == "/start abc"
    assert update.message.from_user is not None
    assert update.message.from_user.username == "zhangsan"
    assert update.message.parse_entities() == {update.message.entities[0]: "/start"}

    # Unconfirmed updates come back; an offset past them confirms them.
    assert [u.update_id for u in await bot.get_updates()] == [update.update_id]
    assert await bot.get_updates(offset=update.update_id + 1) == ()
    assert sandbox.updates.pending_count == 0


async def test_long_poll_times_out_empty(bot: telegram.Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=SECONDS) == ()
    assert 0.9 <= time.monotonic() - started < 2


async def test_pending_updates_return_immediately(
    sandbox: SandboxServer, bot: telegram.Bot
) -> None:
    user = sandbox.user(USER_ID, "张三")
    for text in ("一", "二", "三"):
        await user.send(text)
    started = time.monotonic()
    updates = await bot.get_updates(timeout=dtm.timedelta(seconds=5), limit=2)
    assert time.monotonic() - started < 1
    assert [u.message.text for u in updates if u.message] == ["一", "二"]
    rest = await bot.get_updates(offset=updates[-1].update_id + 1)
    assert [u.message.text for u in rest if u.message] == ["三"]


async def test_newer_poll_terminates_an_older_one(
    sandbox: SandboxServer, bot: telegram.Bot
) -> None:
    # A second Bot: one Bot's getUpdates connection pool holds a single request.
    async with make_bot(sandbox) as other_instance:
        older = asyncio.create_task(other_instance.get_updates(timeout=dtm.timedelta(seconds=5)))
        await sandbox.updates.until_polled()
        assert await bot.get_updates() == ()
        with pytest.raises(Conflict, match=error("terminated by other getUpdates request")):
            await asyncio.wait_for(older, 2)


async def test_callback_query_round_trip(sandbox: SandboxServer, bot: telegram.Bot) -> None:
    user = sandbox.user(USER_ID, "张三")
    message = await bot.send_message(USER_ID, "确认？", reply_markup=keyboard([("确认", "ok:7")]))
    pressed = await user.press("确认")
    (update,) = await bot.get_updates()
    query = update.callback_query
    assert query is not None
    assert query.id == pressed.callback_query_id
    assert query.data == "ok:7"
    assert query.from_user.id == USER_ID
    assert query.chat_instance
    assert isinstance(query.message, telegram.Message)
    assert query.message.message_id == message.message_id

    assert await query.answer("已确认", show_alert=True)
    (answer,) = await user.answers(1)
    assert (answer.text, answer.show_alert, answer.data) == ("已确认", True, "ok:7")
    with pytest.raises(BadRequest, match=error("query is too old")):
        await query.answer("again")


async def test_chat_action_and_delete(sandbox: SandboxServer, bot: telegram.Bot) -> None:
    user = sandbox.user(USER_ID, "张三")
    assert await bot.send_chat_action(USER_ID, "typing")
    assert user.chat_actions == ["typing"]
    message = await bot.send_message(USER_ID, "临时")
    assert await bot.delete_message(USER_ID, message.message_id)
    assert user.messages[0].deleted
    with pytest.raises(BadRequest, match=error("message to delete not found")):
        await bot.delete_message(USER_ID, message.message_id)


async def test_webhook_is_stored_and_blocks_polling(
    sandbox: SandboxServer, bot: telegram.Bot
) -> None:
    sandbox.user(USER_ID, "张三")
    info = await bot.get_webhook_info()
    assert info.url == ""
    assert await bot.set_webhook("https://bot.example/hook", secret_token="s3cret")
    info = await bot.get_webhook_info()
    assert info.url == "https://bot.example/hook"
    with pytest.raises(Conflict, match=error("webhook is active")):
        await bot.get_updates()
    assert await bot.delete_webhook()
    assert await bot.get_updates() == ()
    assert await bot.log_out()
    assert await bot.close()


async def test_chat_errors(sandbox: SandboxServer, bot: telegram.Bot) -> None:
    user = sandbox.user(USER_ID, "张三")
    with pytest.raises(BadRequest, match=error("chat not found")):
        await bot.send_message(424242, "你好")
    with pytest.raises(BadRequest, match=error("chat not found")):
        await bot.send_message("@nobody", "你好")
    with pytest.raises(BadRequest, match=error("message text is empty")):
        await bot.send_message(USER_ID, "")
    with pytest.raises(BadRequest, match=error("message is too long")):
        await bot.send_message(USER_ID, "长" * 4097)
    with pytest.raises(BadRequest, match=error("BUTTON_DATA_INVALID")):
        await bot.send_message(USER_ID, "x", reply_markup=keyboard([("x", "d" * 65)]))
    with pytest.raises(BadRequest, match=error("reply markup is too long")):
        await bot.send_message(USER_ID, "x", reply_markup=keyboard(*[[("x", "d")]] * 101))
    await bot.send_message(USER_ID, "x", reply_markup=keyboard(*[[("x", "d")]] * 100))
    assert len(await user.replies(1)) == 1
    await user.block()
    with pytest.raises(Forbidden, match=error("bot was blocked by the user")):
        await bot.send_message(USER_ID, "你好")
    await user.unblock()
    await bot.send_message(USER_ID, "你好")
    assert [m.text for m in await user.replies(1)] == ["你好"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("用户说 <script>", 'Unsupported start tag "script"'),
        ("1 < 2", 'Unsupported start tag ""'),
        ("<b>未闭合", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>交错</i>", "Unmatched end tag"),
    ],
)
async def test_html_that_telegram_rejects_is_rejected(
    sandbox: SandboxServer, bot: telegram.Bot, text: str, expected: str
) -> None:
    sandbox.user(USER_ID, "张三")
    with pytest.raises(BadRequest, match=error("can't parse entities: " + expected)):
        await bot.send_message(USER_ID, text, parse_mode="HTML")


async def test_unknown_method_is_not_found(sandbox: SandboxServer, bot: telegram.Bot) -> None:
    with pytest.raises(telegram.error.EndPointNotFound):
        await bot.do_api_request("no_such_method", api_kwargs={"x": 1})
    (call,) = sandbox.calls_to("noSuchMethod")
    assert call.status == 404


async def test_wrong_token_is_unauthorized(sandbox: SandboxServer) -> None:
    wrong = make_bot(sandbox, "987654321:WRONG-TOKEN")
    with pytest.raises(InvalidToken):
        await wrong.initialize()
    await wrong.shutdown()


async def test_call_log_counts_what_the_bot_did(sandbox: SandboxServer, bot: telegram.Bot) -> None:
    sandbox.user(USER_ID, "张三")
    await bot.send_message(USER_ID, "一")
    await bot.send_message(USER_ID, "二")
    with pytest.raises(BadRequest):
        await bot.send_message(USER_ID, "")
    assert sandbox.count("sendMessage") == 2
    assert sandbox.count("sendMessage", ok_only=False) == 3
    failed = [c for c in sandbox.calls_to("sendMessage") if not c.ok]
    assert failed[0].status == 400
    assert failed[0].description == "Bad Request: message text is empty"
    assert sandbox.calls_to("sendMessage")[0].params["text"] == "一"
    assert sandbox.call_counts()["getMe"] == 1


async def test_policy_answering_429_is_seen_as_retry_after(
    sandbox: SandboxServer, bot: telegram.Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without it PTB 22 warns (an error here) when it builds RetryAfter with an int period.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    sandbox.user(USER_ID, "张三")
    seen: list[ApiCall] = []

    async def flood_once(call: ApiCall) -> ApiReply | None:
        seen.append(call)
        if call.method == "sendMessage" and len(seen) == 1:
            return ApiReply.too_many_requests(3)
        return None

    sandbox.policy = flood_once
    with pytest.raises(RetryAfter) as raised:
        await bot.send_message(USER_ID, "一")
    assert raised.value.retry_after == dtm.timedelta(seconds=3)
    await bot.send_message(USER_ID, "一")
    assert sandbox.count("sendMessage") == 1
    limited = sandbox.calls_to("sendMessage")[0]
    assert (limited.status, limited.by_policy) == (429, True)


async def test_policy_answering_502_is_a_network_error(
    sandbox: SandboxServer, bot: telegram.Bot
) -> None:
    async def bad_gateway(call: ApiCall) -> ApiReply | None:
        return ApiReply.error(502, "Bad Gateway")

    sandbox.policy = bad_gateway
    with pytest.raises(NetworkError):
        await bot.get_me()


async def test_stop_releases_a_waiting_long_poll_and_restarts() -> None:
    sandbox = SandboxServer()
    await sandbox.start()
    port = sandbox.port
    async with make_bot(sandbox) as polling_bot:
        poll = asyncio.create_task(polling_bot.get_updates(timeout=dtm.timedelta(seconds=30)))
        await sandbox.updates.until_polled()
        started = time.monotonic()
        await sandbox.stop()
        assert await asyncio.wait_for(poll, 2) == ()
        assert time.monotonic() - started < 1

    restarted = SandboxServer(port=port)
    async with restarted, make_bot(restarted) as bot:
        user = restarted.user(USER_ID, "张三")
        await user.send("还在吗")
        (update,) = await bot.get_updates(timeout=SECONDS)
        assert update.message is not None and update.message.text == "还在吗"
    await sandbox.start()  # the same object can be started again, on the same port
    try:
        assert sandbox.port == port
        assert sandbox.updates.pending_count == 0
        assert await sandbox.updates.wait_pending(100, 0.05) == []
    finally:
        await sandbox.stop()


async def test_a_sandbox_bug_is_a_loud_500(
    sandbox: SandboxServer, bot: telegram.Bot, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(params: object) -> object:
        raise RuntimeError("sandbox bug")

    sandbox.api.methods["getMe"] = broken
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.get_me()
    assert "sandbox failed in getMe" in caplog.text
