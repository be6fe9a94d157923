"""A real ``telegram.ext.Application`` polling the sandbox, end to end."""

from __future__ import annotations

import datetime as dtm
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.sandbox import SandboxServer

USER_ID = 5005
AnyApplication = Application[Any, Any, Any, Any, Any, Any]


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Echoes the user's text back."""
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(f"你说：{update.message.text}")


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greets with a confirm button."""
    assert update.message is not None
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("开始检查", callback_data="begin")]])
    await update.message.reply_text(f"欢迎！参数：{context.args}", reply_markup=markup)


async def begin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Acknowledges the press and edits the message."""
    query = update.callback_query
    assert query is not None
    await query.answer("好的")
    await query.edit_message_text("检查已开始")


def build(sandbox: SandboxServer) -> AnyApplication:
    app = (
        ApplicationBuilder()
        .token(sandbox.token)
        .base_url(sandbox.base_url)
        .base_file_url(sandbox.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(begin, pattern="^begin$"))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    return app


@asynccontextmanager
async def polling(sandbox: SandboxServer) -> AsyncIterator[AnyApplication]:
    app = build(sandbox)
    async with app:
        await app.start()
        assert app.updater is not None
        # A short long-poll keeps shutdown quick; the sandbox answers new updates at once.
        await app.updater.start_polling(timeout=dtm.timedelta(seconds=1))
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    async with SandboxServer() as server:
        yield server


async def test_echo_bot_round_trip(sandbox: SandboxServer) -> None:
    user = sandbox.user(USER_ID, "孙七")
    async with polling(sandbox):
        await user.send("你好")
        (reply,) = await user.replies(1)
        assert reply.text == "你说：你好"
        assert reply.reply_to_message_id is None
    assert sandbox.count("sendMessage") == 1


async def test_command_button_and_edit(sandbox: SandboxServer) -> None:
    user = sandbox.user(USER_ID, "孙七")
    async with polling(sandbox):
        await user.send("/start abc")
        (welcome,) = await user.replies(1)
        assert welcome.text == "欢迎！参数：['abc']"
        assert welcome.buttons == [[("开始检查", "begin")]]

        await user.press("开始检查")
        (answer,) = await user.answers(1)
        assert answer.text == "好的"
        (edit,) = await user.edits(1)
        assert edit.text == "检查已开始"
        assert welcome.text == "检查已开始"
        await user.no_reply(within=0.1)


async def test_a_restarted_bot_does_not_see_handled_updates_again(
    sandbox: SandboxServer,
) -> None:
    user = sandbox.user(USER_ID, "孙七")
    async with polling(sandbox):
        await user.send("第一次")
        await user.replies(1)
    # Stopping confirmed the handled update, so a new instance starts clean.
    assert sandbox.updates.pending_count == 0
    async with polling(sandbox):
        await user.send("第二次")
        (reply,) = await user.replies(1)
        assert reply.text == "你说：第二次"
        await user.no_reply(within=0.1)
    assert [c.params["text"] for c in sandbox.calls_to("sendMessage")] == [
        "你说：第一次",
        "你说：第二次",
    ]
