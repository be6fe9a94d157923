"""Managers' views in chat: overdue complaints in their scope."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.context import BotContext
from bot.usecases import complaints
from bot.views import texts


async def overdue(update: Update, context: BotContext) -> None:
    """/overdue: open complaints past their deadline in my unit and below, oldest first."""
    assert update.effective_message is not None
    services = context.services
    listing = await complaints.overdue_in_scope(services, context.registered_staff)
    if not listing.cards:
        await update.effective_message.reply_text(texts.NO_OVERDUE)
        return
    overdue_by = [
        services.calendar.working_time_between(card.complaint.deadline, services.clock.now())
        if card.complaint.deadline
        else None
        for card in listing.cards
    ]
    await update.effective_message.reply_text(
        texts.overdue_list(
            listing.cards,
            overdue_by,
            listing.total,
            services.settings.time.tz,
            services.settings.calendar.day_hours,
        )
    )


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [CommandHandler("overdue", overdue)]
