"""Plain messages: whatever the bot asked for last (kept in the database) gets the message;
with nothing pending, a text is a new complaint report."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import BotContext
from bot.usecases.chat import forget_pending, pending_state
from bot.usecases.checks import FLOW_CHECK, pause_check
from bot.views import texts
from handlers import checks, complaints, highlights


async def on_message(update: Update, context: BotContext) -> None:
    """Routes a message of any kind to the pending question (which says again what it
    expects when it gets a sticker, a voice note …), or reads a text as a complaint."""
    message = update.effective_message
    assert message is not None
    state = await pending_state(context.services, context.registered_staff)
    if state is not None and state.flow == FLOW_CHECK and state.ref_id is not None:
        await checks.on_flow_message(message, context, state.ref_id)
        return
    if state is not None and state.flow in complaints.FLOWS:
        await complaints.on_flow_text(message, context, state)
        return
    if state is not None and state.flow in highlights.FLOWS:
        await highlights.on_flow_message(message, context, state)
        return
    text = message.text or message.caption
    if not text:
        if message.photo:
            await complaints.on_photo_alone(message, context, details_of=None)
            return
        await message.reply_text(texts.UNSUPPORTED_MESSAGE)
        return
    await complaints.report(message, context, text, complaints.photo_of(message))


async def cancel(update: Update, context: BotContext) -> None:
    """/cancel: drops the pending question; nothing already saved is lost."""
    assert update.effective_message is not None
    staff = context.registered_staff
    if await pause_check(context.services, staff):
        await update.effective_message.reply_text(texts.CHECK_PAUSED)
        return
    await forget_pending(context.services, staff)
    await update.effective_message.reply_text(texts.INPUT_CANCELLED)


async def unknown_command(update: Update, context: BotContext) -> None:
    """An unknown /command: points to /help; a pending question stays pending."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(texts.UNKNOWN_COMMAND)


async def unknown_button(update: Update, context: BotContext) -> None:
    """A button no feature knows (forged, or of a message from an older version): says so,
    so that the client stops waiting."""
    assert update.callback_query is not None
    await context.answer_press(texts.UNKNOWN_BUTTON)


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    # Service messages (a pinned message, an auto-delete timer …) are no input: ignored.
    new_messages = filters.UpdateType.MESSAGE & ~filters.StatusUpdate.ALL
    return [
        CommandHandler("cancel", cancel),
        MessageHandler(new_messages & ~filters.COMMAND, on_message),
        MessageHandler(new_messages & filters.COMMAND, unknown_command),
        CallbackQueryHandler(unknown_button),
    ]
