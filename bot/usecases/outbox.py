"""Delivers the outbox within Telegram's limits: nothing lost, nothing sent twice.

- Rows are claimed from the database by this sender instance (db/outbox.py): a second
  instance never sends the same row, and the rows of a crashed instance are taken over.
- The bot's rate limiter (bot/ratelimit.py) paces each chat and the whole bot; these sends
  are bulk (``bulk_sends``): replies to people who are waiting go first. Each chat has its
  own worker, so a chat's messages keep their order. At most ``concurrency`` sends wait in
  the limiter or are on the wire at once, so a broadcast to thousands of chats does not pile
  up thousands of requests.
- A 429 the limiter's retries did not get past holds that chat's worker for ``retry_after``;
  5xx, timeouts and dropped connections are retried with exponential backoff in the chat's
  own worker (its later messages wait: order is kept), until ``max_attempts``; 403 (the
  person blocked the bot) and 400 give up at once. Giving up tells a listener first, then
  marks the row failed (it keeps Telegram's reason): 403 ``on_blocked``; 400, the last
  failed retry and a 403 from a chat ``on_blocked`` knows nobody by ``on_refused``, with
  why (``Undelivered``). Nothing is given up silently, not even by a crash between the two
  (the row is tried again, and the notice's key is taken already).
- A row is marked sent right after Telegram accepts it; sends accepted while one batch of
  marks is being written are marked together by the next, in one statement. The one case no
  Bot API client can settle is a crash between Telegram accepting a message and that commit
  (milliseconds): the row is sent again after the restart. Telegram has no idempotency key
  to prevent it.

Backoff uses the monotonic clock; it is about the network, not the domain. A retry waits
in its chat's worker, which holds the row's claim; the table has no row due later.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto, Message
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.ratelimit import bulk_sends
from db.announcements import ANNOUNCER, Listener
from db.models import OutboxMessage
from db.outbox import (
    ANNOUNCED_TOPIC,
    GiveUp,
    Undelivered,
    claim_due_messages,
    decode_buttons,
    decode_photo_file_ids,
    lock_sender_id,
    mark_attempt_failed,
    mark_sent,
    new_sender_id,
    release_claims,
    unlock_sender_id,
)
from db.session import Database

logger = logging.getLogger(__name__)

# (chat id, what revealed it: the outbox row that Telegram refused with 403) → whether the
# chat is someone the bot knows (and so tells of the blocking itself)
BlockedListener = Callable[[int, str], Awaitable[bool]]
# (the outbox row given up, why)
RefusedListener = Callable[[OutboxMessage, Undelivered], Awaitable[object]]


@dataclass(frozen=True)
class SenderLimits:
    concurrency: int = 30  # sends in the rate limiter or on the wire at once
    batch: int = 500  # rows claimed per read
    max_queued: int = 5000  # rows held in memory; the rest wait in the table
    # The sender looks when woken: by a commit in this process that queued something, or
    # (PostgreSQL) by another instance's announcement. This look is the safety net (and
    # takes over a crashed instance's claims, which nobody announces) …
    poll_interval: float = 30.0
    # … and this one while announcements cannot be heard (PostgreSQL's listening failed).
    deaf_poll_interval: float = 1.0
    first_backoff: float = 0.5
    max_backoff: float = 60.0
    max_attempts: int = 500  # about eight hours of an unreachable Telegram at max_backoff
    drain_timeout: float = 5.0  # on stop, how long sends already on the wire may finish


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _seconds(retry_after: timedelta | float) -> float:
    return retry_after.total_seconds() if isinstance(retry_after, timedelta) else retry_after


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
        on_refused: RefusedListener | None = None,
    ) -> None:
        self._db = database
        self._bot = bot
        self._limits = limits
        self._on_blocked = on_blocked
        self._on_refused = on_refused
        self.sender_id = new_sender_id()
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(limits.concurrency)
        self._queues: dict[int, deque[OutboxMessage]] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._queued: set[int] = set()
        self._retry_at: dict[int, float] = {}  # message → monotonic time of its next attempt
        # Sent rows waiting to be recorded: row → (Telegram's message id, when recorded).
        self._unrecorded: dict[int, tuple[int, asyncio.Future[None]]] = {}
        self._marker: asyncio.Task[None] | None = None
        self._on_the_wire = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopping = False
        self._lock: AsyncConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None
        # Messages other instances queue wake this sender at once (PostgreSQL).
        self._announcements = Listener(database.url, ANNOUNCED_TOPIC, ANNOUNCER, self.wake)

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._lock = await lock_sender_id(self._db.engine, self.sender_id)
        self._task = asyncio.create_task(self._run(), name="outbox-sender")
        self._listener = asyncio.create_task(self._announcements.run(), name="outbox-announcements")
        logger.info("outbox sender %d started", self.sender_id)

    async def stop(self) -> None:
        """Stop claiming, let sends already on the wire finish (briefly), hand back the rest."""
        self._stopping = True
        for task in (self._task, self._listener):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._task = self._listener = None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), self._limits.drain_timeout)
        workers = list(self._workers.values())
        if self._marker is not None:
            workers.append(self._marker)
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        try:
            async with self._db.session() as session:
                await release_claims(session=session, sender_id=self.sender_id)
        except Exception:
            logger.exception("outbox sender %d could not hand back its claims", self.sender_id)
        if self._lock is not None:
            with contextlib.suppress(Exception):
                await unlock_sender_id(self._lock, self.sender_id)
            self._lock = None

    # -- claiming ----------------------------------------------------------------------------

    async def _run(self) -> None:
        # Not only cancelled: Python 3.11's wait_for drops a cancellation that comes as the
        # wait ends (a wake at stop), and the loop would go on.
        while not self._stopping:
            # Cleared before reading: a commit during the read wakes the next round at once.
            self._wake.clear()
            try:
                claimed = await self._claim()
            except Exception:
                logger.exception("could not read the outbox; retrying")
                claimed = 0
            if claimed == 0:
                limits = self._limits
                poll = (
                    limits.poll_interval
                    if self._announcements.hearing
                    else limits.deaf_poll_interval
                )
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(poll):
                        await self._wake.wait()

    async def _claim(self) -> int:
        room = self._limits.max_queued - len(self._queued)
        if room <= 0:
            return 0
        async with self._db.session() as session:
            messages = await claim_due_messages(
                session=session, sender_id=self.sender_id, limit=min(self._limits.batch, room)
            )
        for message in messages:
            assert message.id is not None
            if message.id in self._queued:
                continue
            self._queued.add(message.id)
            self._queues.setdefault(message.chat_id, deque()).append(message)
            worker = self._workers.get(message.chat_id)
            if worker is None or worker.done():
                self._workers[message.chat_id] = asyncio.create_task(
                    self._drain_chat(message.chat_id), name=f"outbox-chat-{message.chat_id}"
                )
        return len(messages)

    # -- one worker per chat -----------------------------------------------------------------

    async def _drain_chat(self, chat_id: int) -> None:
        queue = self._queues[chat_id]
        while queue and not self._stopping:
            message = queue[0]
            assert message.id is not None
            if (delay := self._retry_at.get(message.id, 0.0) - time.monotonic()) > 0:
                await asyncio.sleep(delay)
                continue
            async with self._slots:
                if self._stopping:
                    break
                self._on_the_wire += 1
                self._idle.clear()
                try:
                    finished = await self._deliver(message)
                except Exception:
                    # The database failed while recording the attempt, or a bug: the row
                    # stays claimed by this worker, which tries again later.
                    logger.exception("outbox %s: delivery failed", message.key)
                    self._retry_at[message.id] = time.monotonic() + self._limits.max_backoff
                    finished = False
                finally:
                    self._on_the_wire -= 1
                    if self._on_the_wire == 0:
                        self._idle.set()
            if finished:
                queue.popleft()
                self._queued.discard(message.id)
                self._retry_at.pop(message.id, None)
        if not queue:
            del self._queues[chat_id]
            self._workers.pop(chat_id, None)

    async def _deliver(self, message: OutboxMessage) -> bool:
        """One attempt; True when the message is finished with (sent or given up)."""
        assert message.id is not None
        try:
            sent = await self._send(message)
        except RetryAfter as error:
            seconds = _seconds(error.retry_after)
            self._retry_at[message.id] = time.monotonic() + seconds
            logger.warning("outbox %s: 429, its chat waits %.1f s", message.key, seconds)
            await self._record_failure(message, f"RetryAfter {seconds}", give_up=False)
            return False
        except Forbidden as error:
            logger.warning("outbox %s: chat %s blocked the bot", message.key, message.chat_id)
            if not await self._tell_blocked(message.chat_id, message.id):
                await self._tell_refused(message, Undelivered(GiveUp.BLOCKED, str(error)))
            await self._record_failure(message, str(error), give_up=True)
            return True
        except BadRequest as error:
            logger.error("outbox %s refused by Telegram: %s", message.key, error)
            await self._tell_refused(message, Undelivered(GiveUp.REFUSED, str(error)))
            await self._record_failure(message, str(error), give_up=True)
            return True
        except TelegramError as error:  # NetworkError, TimedOut, 5xx and the like
            return await self._retry_later(message, str(error))
        await self._mark_sent(message, sent.message_id)
        return True

    async def _retry_later(self, message: OutboxMessage, error: str) -> bool:
        assert message.id is not None
        attempts = await self._record_failure(message, error, give_up=False)
        if attempts >= self._limits.max_attempts:
            logger.error("outbox %s: giving up after %d attempts", message.key, attempts)
            await self._tell_refused(message, Undelivered(GiveUp.RETRIES_SPENT, error, attempts))
            await self._record_failure(message, error, give_up=True, recorded=True)
            return True
        backoff = min(self._limits.first_backoff * 2 ** (attempts - 1), self._limits.max_backoff)
        backoff *= random.uniform(0.8, 1.2)  # chats that failed together retry apart
        self._retry_at[message.id] = time.monotonic() + backoff
        logger.warning(
            "outbox %s: attempt %d failed (%s); retry in %.1f s",
            message.key,
            attempts,
            error,
            backoff,
        )
        return False

    async def _mark_sent(self, message: OutboxMessage, telegram_message_id: int) -> None:
        """Telegram has the message: wait until that is recorded. Sends that finish while
        one batch of marks is being written go together in the next (one statement)."""
        assert message.id is not None
        recorded: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._unrecorded[message.id] = (telegram_message_id, recorded)
        if self._marker is None or self._marker.done():
            self._marker = asyncio.create_task(self._record_sent(), name="outbox-marks")
        await recorded

    async def _record_sent(self) -> None:
        """Record what Telegram accepted, however long the database takes to answer —
        sending it again would be the duplicate this table exists to prevent."""
        delay = self._limits.first_backoff
        while self._unrecorded:
            batch = dict(itertools.islice(self._unrecorded.items(), self._limits.batch))
            try:
                async with self._db.session() as session:
                    await mark_sent(
                        session=session,
                        telegram_message_ids={row: sent for row, (sent, _) in batch.items()},
                        now=_utcnow(),
                    )
            except Exception:
                logger.exception("outbox: %d sent messages not yet recorded; retrying", len(batch))
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._limits.max_backoff)
                continue
            delay = self._limits.first_backoff
            for row, (_, recorded) in batch.items():
                del self._unrecorded[row]
                if not recorded.done():  # its worker may have been cancelled meanwhile
                    recorded.set_result(None)

    async def _record_failure(
        self, message: OutboxMessage, error: str, *, give_up: bool, recorded: bool = False
    ) -> int:
        assert message.id is not None
        async with self._db.session() as session:
            return await mark_attempt_failed(
                session=session,
                message_id=message.id,
                error=error,
                give_up_at=_utcnow() if give_up else None,
                recorded=recorded,
            )

    async def _tell_blocked(self, chat_id: int, message_id: int) -> bool:
        """False when the chat is nobody the listener knows (nobody was told)."""
        if self._on_blocked is None:
            return False
        try:
            return await self._on_blocked(chat_id, f"outbox:{message_id}")
        except Exception:
            logger.exception("could not record that chat %s blocked the bot", chat_id)
            return True  # logged: telling the admins as well would say the same twice

    async def _tell_refused(self, message: OutboxMessage, undelivered: Undelivered) -> None:
        if self._on_refused is None:
            return
        try:
            await self._on_refused(message, undelivered)
        except Exception:
            logger.exception("could not tell the admins that outbox %s was refused", message.key)

    async def _send(self, message: OutboxMessage) -> Message:
        with bulk_sends():
            return await self._send_now(message)

    async def _send_now(self, message: OutboxMessage) -> Message:
        markup = reply_markup(message)
        photos = decode_photo_file_ids(message)
        if len(photos) == 1:
            return await self._bot.send_photo(
                message.chat_id, photo=photos[0], caption=message.text, reply_markup=markup
            )
        if photos:
            # An album takes no buttons; its caption is the first photo's.
            album = [
                InputMediaPhoto(photo, caption=message.text if n == 0 else None)
                for n, photo in enumerate(photos)
            ]
            sent = await self._bot.send_media_group(message.chat_id, media=album)
            return sent[0]
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
