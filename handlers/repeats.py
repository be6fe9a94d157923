"""Input that repeats earlier input: an edited message, a button pressed again at once.
Neither reaches the features (this group runs between the access gate and them)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    MessageHandler,
    filters,
)

from bot.context import BotContext
from bot.views import texts


async def edited(update: Update, context: BotContext) -> None:
    """An edited message (even one edited into a command): a note that the original stands.
    What it answered is saved already; running it again would answer twice."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(texts.EDITED_MESSAGE_IGNORED)
    raise ApplicationHandlerStop


async def pressed_again(update: Update, context: BotContext) -> None:
    """The same button of the same message again within a moment: "正在处理", nothing more."""
    query = update.callback_query
    assert query is not None
    message_id = query.message.message_id if query.message is not None else 0
    if context.services.presses.is_repeat(query.from_user.id, message_id, query.data or ""):
        await context.answer_press(texts.PRESSED_TOO_OFTEN)
        raise ApplicationHandlerStop


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        MessageHandler(filters.UpdateType.EDITED, edited),
        CallbackQueryHandler(pressed_again),
    ]
