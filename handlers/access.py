"""The access gate: strangers get an explanation of how to register, and nothing else."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop, BaseHandler, TypeHandler

from bot.context import BotContext
from bot.logs import bind_staff
from bot.permissions import commands_for
from bot.presses import PressAnswer
from bot.usecases.blocked import staff_is_back
from bot.usecases.registration import identify
from bot.views import texts


def _command(update: Update, *, in_caption: bool = False) -> str | None:
    """The command of a message (`/today@bot args` → "today"), or None; with `in_caption`
    also of a photo's caption (/highlight takes photos)."""
    message = update.message
    if message is None:
        return None
    text = message.text or (message.caption if in_caption else None)
    if not text or not text.startswith("/"):
        return None
    return text.split()[0][1:].split("@")[0].lower()


async def gate(update: Update, context: BotContext) -> None:
    """Loads the sender's staff record; refuses unregistered users except for /start."""
    if update.callback_query is not None:
        context.press = PressAnswer(update.callback_query)
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or chat.type != ChatType.PRIVATE:
        # The bot works in private chats only; group and channel traffic is not for it.
        raise ApplicationHandlerStop
    context.staff = await identify(context.services, user.id)
    if context.staff is not None:
        bind_staff(context.staff.code, context.staff.unit_id)
        if update.message is not None or update.callback_query is not None:
            # Only their own writing or pressing says they unblocked the bot; Telegram's
            # notice that they blocked it arrives as an update from them too.
            await staff_is_back(context.services, context.staff)
    if context.staff is not None:
        command = _command(update, in_caption=True)
        if command in texts.COMMAND_DESCRIPTIONS and command not in commands_for(context.staff):
            assert update.effective_message is not None
            await update.effective_message.reply_text(
                texts.command_not_for_role(context.staff.role)
            )
            raise ApplicationHandlerStop
        return
    if _command(update) == "start":
        return
    if update.callback_query is not None:
        await context.answer_press(texts.STRANGER_ALERT, alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(texts.STRANGER)
    raise ApplicationHandlerStop


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [TypeHandler(Update, gate)]
