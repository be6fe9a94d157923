"""Bot messages changed in place: buttons dropped once used, a pressed message turned into
the next step."""

from __future__ import annotations

import logging
from collections.abc import Awaitable

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.error import BadRequest

from bot.views.buttons import Keyboard
from bot.views.splitting import split_message

logger = logging.getLogger(__name__)


def markup(keyboard: Keyboard) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in keyboard]
    )


def _not_modified(exc: BadRequest) -> bool:
    return "not modified" in exc.message.lower()


async def unless_unchanged(edit: Awaitable[object]) -> None:
    """Runs an edit of a bot message; one that would change nothing (the same button pressed
    again, a forged press) is no error: the message already shows what it should."""
    try:
        await edit
    except BadRequest as exc:
        if not _not_modified(exc):
            raise
        logger.info("edit left out: the message already shows it")


async def drop_buttons(message: Message) -> None:
    """Removes the buttons of a message once they have been used."""
    await unless_unchanged(message.edit_reply_markup(None))


async def turn_into(
    message: Message, text: str, keyboard: Keyboard | None = None, *, instead: str | None = None
) -> None:
    """Turns the pressed ``message`` into the next step with one edit: under Telegram's
    pacing an edit and a new message each cost a send.

    When the step does not fit one message (Telegram refuses a long edit; a send is split)
    or Telegram refuses the edit (the message deleted, too old to edit), the pressed message
    loses its buttons and the step, or ``instead`` of it, comes as a new message, so nothing
    is lost."""
    reply_markup = markup(keyboard) if keyboard else None
    if len(split_message(text, keyboard or [])) == 1:
        try:
            await message.edit_text(text, reply_markup=reply_markup)
            return
        except BadRequest as exc:
            if _not_modified(exc):
                logger.info("edit left out: the message already shows the next step")
                return
            logger.warning("edit of message %s refused (%s): sent anew", message.id, exc.message)
    await _drop_if_there(message)
    await message.reply_text(instead or text, reply_markup=reply_markup)


async def _drop_if_there(message: Message) -> None:
    """Removes a message's buttons before its step comes anew. A deleted or too old message
    refuses this too; a press on buttons left there is refused as outdated."""
    try:
        await drop_buttons(message)
    except BadRequest as exc:
        logger.info("buttons of message %s left as they are (%s)", message.id, exc.message)
