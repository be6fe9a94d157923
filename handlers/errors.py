"""The one global error handler (STYLE 12)."""

from __future__ import annotations

import logging

from telegram import Update

from bot.context import BotContext
from bot.views import texts

logger = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    """Logs the failure with the update id; tells the user in Chinese that it was recorded."""
    update_id = update.update_id if isinstance(update, Update) else None
    logger.error("error while handling update %s", update_id, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await context.bot.send_message(update.effective_chat.id, texts.INTERNAL_ERROR)
        except Exception:
            logger.exception("could not tell chat %s about the error", update.effective_chat.id)
