"""Button presses: the same button of the same message pressed again within a moment, and
an answer to every press in time.

People tap twice when the answer seems slow; the second tap must not do the work again.
State-changing actions refuse a repeat on their own (a confirmed draft cannot be confirmed
twice); this also spares the repeated prompts and keyboards of the others. Per process:
the time is a human's double tap (monotonic), not the business clock.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable

from telegram import CallbackQuery, Message
from telegram.error import BadRequest, TelegramError

logger = logging.getLogger(__name__)

DOUBLE_PRESS_WINDOW = 2.0  # seconds

PressKey = tuple[int, int, str]  # user, message, callback data


class PressMemory:
    def __init__(
        self,
        window: float = DOUBLE_PRESS_WINDOW,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._window = window
        self._monotonic = monotonic
        self._seen: dict[PressKey, float] = {}

    def is_repeat(self, user_id: int, message_id: int, data: str) -> bool:
        """Remembers this press; True if the same one came within the window before it."""
        now = self._monotonic()
        self._seen = {k: at for k, at in self._seen.items() if now - at < self._window}
        key = (user_id, message_id, data)
        repeat = key in self._seen
        self._seen[key] = now
        return repeat


# A pressed button shows a spinner until it is answered, and Telegram refuses an answer
# once the query is about 15 s old ("query is too old"): it is answered within this long.
ANSWER_WITHIN = 1.0  # seconds


class PressAnswer:
    """Answers one button press once, and within ``within`` seconds whatever the handler
    is waiting for (the database, the chat's pace, a queue of updates).

    The handler answers with what the press did (a refusal's alert, a passing note), which
    needs its database work first; if that takes longer, the press is answered empty when
    the time is up, and an alert the handler gives later goes to the chat as a message, so
    it is not lost. An answer Telegram refuses as too old is logged: the press's effect is
    committed and stands, and the handler carries on.
    """

    def __init__(self, query: CallbackQuery, within: float = ANSWER_WITHIN) -> None:
        self._query = query
        self._answered = False
        self._late: asyncio.Task[None] | None = None
        self._timer = asyncio.get_running_loop().call_later(within, self._answer_empty)

    async def answer(self, text: str | None = None, *, alert: bool = False) -> None:
        self._timer.cancel()
        if not self._answered:
            self._answered = True
            await self._send(text, alert)
        elif text and alert and isinstance(self._query.message, Message):
            await self._query.message.reply_text(text)

    def _answer_empty(self) -> None:
        if not self._answered:
            self._answered = True
            self._late = asyncio.create_task(self._send_quietly(), name="press-answer")

    async def _send_quietly(self) -> None:
        try:
            await self._send(None, False)
        except TelegramError:
            logger.warning("press %s: the empty answer failed", self._query.id, exc_info=True)

    async def _send(self, text: str | None, alert: bool) -> None:
        try:
            await self._query.answer(text, show_alert=alert)
        except BadRequest as error:
            if not _TOO_LATE.search(error.message):
                raise
            logger.info("press %s answered too late: %s", self._query.id, error.message)


_TOO_LATE = re.compile(r"too old|query id is invalid|timeout expired", re.IGNORECASE)
