"""Telegram tells the bot when someone blocks it or opens it again (my_chat_member)."""

from __future__ import annotations

from telegram import ChatMember, Update
from telegram.ext import BaseHandler, ChatMemberHandler

from bot.context import BotContext
from bot.usecases.blocked import staff_blocked_bot, staff_is_back


async def membership_changed(update: Update, context: BotContext) -> None:
    change = update.my_chat_member
    if change is None or context.staff is None:
        return  # strangers: nothing to record
    status = change.new_chat_member.status
    if status == ChatMember.BANNED:
        await staff_blocked_bot(context.services, change.from_user.id, f"update:{update.update_id}")
    elif status == ChatMember.MEMBER:
        await staff_is_back(context.services, context.staff)


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [ChatMemberHandler(membership_changed, ChatMemberHandler.MY_CHAT_MEMBER)]
