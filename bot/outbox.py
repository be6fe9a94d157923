"""Delivers the outbox within Telegram's limits: nothing lost, nothing sent twice.

PTB's AIORateLimiter keeps the overall rate (30 msg/s); it does not pace a single chat, so
each chat gets its own worker that sends at most one message per `per_chat_interval`.
Leases and delivery times use the real clock: they are about the network, not the domain.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from db.models import OutboxMessage
from db.outbox import claim_due_messages, decode_buttons, mark_attempt_failed, mark_sent
from db.session import Database

logger = logging.getLogger(__name__)

BlockedListener = Callable[[int], Awaitable[None]]


@dataclass(frozen=True)
class SenderLimits:
    per_chat_interval: float = 1.0
    batch: int = 100
    lease: timedelta = timedelta(minutes=2)
    poll_interval: float = 1.0
    max_backoff: float = 60.0
    max_attempts: int = 25


def _utcnow() -> datetime:
    return datetime.now(UTC)


def reply_markup(message: OutboxMessage) -> InlineKeyboardMarkup | None:
    rows = decode_buttons(message)
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


class OutboxSender:
    def __init__(
        self,
        database: Database,
        bot: Bot,
        *,
        limits: SenderLimits = SenderLimits(),
        on_blocked: BlockedListener | None = None,
    ) -> None:
        self._db = database
        self._bot = bot
        self._limits = limits
        self._on_blocked = on_blocked
        self._wake = asyncio.Event()
        self._queues: dict[int, deque[OutboxMessage]] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._in_flight: set[int] = set()
        self._paused_until = 0.0  # monotonic; a 429 pauses every chat, not just one
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-sender")

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._workers.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._task = None

    async def _run(self) -> None:
        while True:
            try:
                claimed = await self._claim()
            except Exception:
                logger.exception("could not read the outbox; retrying")
                claimed = 0
            if claimed == 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._limits.poll_interval)

    async def _claim(self) -> int:
        async with self._db.session() as session:
            messages = await claim_due_messages(
                session=session, now=_utcnow(), lease=self._limits.lease, limit=self._limits.batch
            )
        fresh = [m for m in messages if m.id not in self._in_flight]
        for message in fresh:
            assert message.id is not None
            self._in_flight.add(message.id)
            self._queues.setdefault(message.chat_id, deque()).append(message)
            worker = self._workers.get(message.chat_id)
            if worker is None or worker.done():
                self._workers[message.chat_id] = asyncio.create_task(
                    self._drain_chat(message.chat_id), name=f"outbox-chat-{message.chat_id}"
                )
        return len(fresh)

    async def _drain_chat(self, chat_id: int) -> None:
        queue = self._queues[chat_id]
        last_sent = 0.0
        while queue:
            message = queue[0]
            wait = max(last_sent + self._limits.per_chat_interval, self._paused_until)
            if (delay := wait - time.monotonic()) > 0:
                await asyncio.sleep(delay)
            if await self._deliver(message):
                queue.popleft()
                assert message.id is not None
                self._in_flight.discard(message.id)
                last_sent = time.monotonic()
        del self._queues[chat_id]

    async def _deliver(self, message: OutboxMessage) -> bool:
        """Send once; True when the message is finished with (sent or given up)."""
        assert message.id is not None
        try:
            sent = await self._send(message)
        except RetryAfter as error:
            retry_after = error.retry_after
            seconds = (
                retry_after.total_seconds()
                if isinstance(retry_after, timedelta)
                else float(retry_after)
            )
            self._paused_until = time.monotonic() + seconds
            logger.warning("outbox %s: 429, pausing %.1f s", message.key, seconds)
            await self._record_failure(message, f"RetryAfter {seconds}", give_up=False)
            return False
        except Forbidden as error:
            logger.warning("outbox %s: chat %s blocked the bot", message.key, message.chat_id)
            await self._record_failure(message, str(error), give_up=True)
            if self._on_blocked is not None:
                await self._on_blocked(message.chat_id)
            return True
        except BadRequest as error:
            logger.error("outbox %s refused by Telegram: %s", message.key, error)
            await self._record_failure(message, str(error), give_up=True)
            return True
        except (NetworkError, TelegramError) as error:
            message.attempts += 1
            give_up = message.attempts >= self._limits.max_attempts
            backoff = min(2.0 ** min(message.attempts, 10) / 4, self._limits.max_backoff)
            logger.warning(
                "outbox %s: attempt %d failed (%s); retry in %.1f s",
                message.key,
                message.attempts,
                error,
                backoff,
            )
            await self._record_failure(message, str(error), give_up=give_up)
            if not give_up:
                await asyncio.sleep(backoff)
            return give_up
        async with self._db.session() as session:
            await mark_sent(
                session=session,
                message_id=message.id,
                now=_utcnow(),
                telegram_message_id=sent.message_id,
            )
        return True

    async def _record_failure(self, message: OutboxMessage, error: str, *, give_up: bool) -> None:
        assert message.id is not None
        async with self._db.session() as session:
            await mark_attempt_failed(
                session=session,
                message_id=message.id,
                error=error,
                give_up_at=_utcnow() if give_up else None,
                lease_until=None if give_up else _utcnow() + self._limits.lease,
            )

    async def _send(self, message: OutboxMessage) -> Message:
        markup = reply_markup(message)
        if message.photo is not None:
            return await self._bot.send_photo(
                message.chat_id, photo=message.photo, caption=message.text, reply_markup=markup
            )
        if message.document is not None:
            return await self._bot.send_document(
                message.chat_id,
                document=message.document,
                filename=message.document_name,
                caption=message.text,
                reply_markup=markup,
            )
        return await self._bot.send_message(message.chat_id, message.text, reply_markup=markup)
