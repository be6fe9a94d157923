"""/start with an invite code binds the account; /help shows what this role can do."""

from __future__ import annotations

from telegram import BotCommand, BotCommandScopeChat, Update
from telegram.ext import BaseHandler, CommandHandler

from bot.context import BotContext
from bot.permissions import COMMON_COMMANDS, commands_for
from bot.usecases.registration import register, unit_name
from bot.views import texts
from db.models import Staff
from db.staff import Redemption

REFUSALS = {
    Redemption.UNKNOWN: texts.INVITE_UNKNOWN,
    Redemption.USED: texts.INVITE_USED,
    Redemption.EXPIRED: texts.INVITE_EXPIRED,
    Redemption.REVOKED: texts.INVITE_REVOKED,
    Redemption.ACCOUNT_TAKEN: texts.ACCOUNT_BOUND_TO_OTHER,
}


def bot_commands(names: tuple[str, ...]) -> list[BotCommand]:
    return [BotCommand(name, texts.COMMAND_DESCRIPTIONS[name]) for name in names]


async def set_menu(context: BotContext, chat_id: int, staff: Staff) -> None:
    await context.bot.set_my_commands(
        bot_commands(commands_for(staff)), scope=BotCommandScopeChat(chat_id)
    )


async def start(update: Update, context: BotContext) -> None:
    """Welcomes a registered user, or registers the sender with the code from the invite link."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    code = context.args[0] if context.args else None
    services = context.services
    if code is None:
        if context.staff is None:
            await message.reply_text(texts.STRANGER)
            return
        staff = context.staff
        unit = await unit_name(services, staff.unit_id)
        await message.reply_text(texts.welcome_back(staff.name, staff.role, unit))
        return
    result = await register(services, code, user.id)
    if result.staff is None:
        await message.reply_text(REFUSALS[result.outcome])
        return
    # The menu first: once the welcome arrives, the person's menu is already theirs.
    await set_menu(context, message.chat_id, result.staff)
    await message.reply_text(texts.welcome(result.staff.name, result.staff.role, result.unit_name))


async def show_help(update: Update, context: BotContext) -> None:
    """Lists what the sender's role does and the commands it may use."""
    assert update.effective_message is not None
    staff = context.registered_staff
    await update.effective_message.reply_text(
        texts.help_text(staff.role, list(commands_for(staff)))
    )


def default_menu() -> list[BotCommand]:
    return bot_commands(COMMON_COMMANDS)


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [CommandHandler("start", start), CommandHandler("help", show_help)]
