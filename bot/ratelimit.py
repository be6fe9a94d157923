"""Our pacing of what the bot sends Telegram: per chat and overall, replies before bulk.

Telegram documents no exact figures (Bot FAQ: about one message a second in a chat, short
bursts tolerated; 20 a minute in a group; about 30 a second overall); beyond them it answers
429 with ``retry_after``. PTB's AIORateLimiter paces overall only and halts every request of
every chat on one 429, so one flooding chat and the morning push delay everyone's replies.
This limiter instead:

- paces messages sent and edited (they are what Telegram floods on) with one token bucket
  per chat and one overall; every other method (answerCallbackQuery, getFile, setMyCommands,
  sendChatAction, …) goes straight through, so a button is answered at once;
- hands out the overall budget to replies first: a send made while handling an update is a
  reply (someone is waiting for it); the outbox sender marks its sends as bulk
  (``bulk_sends``), and bulk gets whatever budget replies leave;
- never lets a chat that is out of tokens hold up another chat: whichever waiting request's
  chat is ready gets the next overall token (requests of one chat and priority keep their
  order);
- on a 429 pauses that chat only, for retry_after, and retries; a 429 for several chats
  within a moment is Telegram's global flood control, and pauses everyone.

The figures are settings (``[rate_limits]``). Each burst there is one below what the sandbox
models Telegram to tolerate, so requests that arrive bunched by network jitter still fit.
Telegram's overall limit is the bot's, whatever the number of processes: with several
instances on PostgreSQL each paces itself at its part of it (bot/budget.py sets it, from
the ``demand`` each reports).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from enum import IntEnum
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.settings import RateLimitsSection

logger = logging.getLogger(__name__)

ChatKey = int | str  # a chat id, or "@channel"


class Priority(IntEnum):
    REPLY = 0  # someone is waiting for it
    BULK = 1  # the outbox: pushes, reminders, notices


_PRIORITY: ContextVar[Priority] = ContextVar("send_priority", default=Priority.REPLY)


@contextlib.contextmanager
def bulk_sends() -> Iterator[None]:
    """Requests made inside the block yield the overall budget to replies."""
    token = _PRIORITY.set(Priority.BULK)
    try:
        yield
    finally:
        _PRIORITY.reset(token)


PACED_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendAudio",
        "sendVoice",
        "sendVideo",
        "sendVideoNote",
        "sendAnimation",
        "sendSticker",
        "sendLocation",
        "sendVenue",
        "sendContact",
        "sendPoll",
        "sendDice",
        "sendMediaGroup",
        "copyMessage",
        "copyMessages",
        "forwardMessage",
        "forwardMessages",
        "editMessageText",
        "editMessageCaption",
        "editMessageMedia",
        "editMessageReplyMarkup",
    }
)


@dataclass(frozen=True)
class Pace:
    """``rate`` messages a second on average, ``burst`` of them at once."""

    rate: float
    burst: int


# Groups (Bot FAQ: 20 messages a minute); the bot works in private chats, but an outbox row
# may name a group.
PER_GROUP = Pace(rate=20 / 60, burst=19)
# This many chats refused within GLOBAL_FLOOD_WINDOW seconds: Telegram limits the whole bot.
GLOBAL_FLOOD_CHATS = 3
GLOBAL_FLOOD_WINDOW = 1.0
# A bucket untouched this long is full again and can be forgotten.
IDLE_BUCKET_SECONDS = 60.0


class Bucket:
    def __init__(self, pace: Pace, now: float) -> None:
        self.pace = pace
        self._tokens = float(pace.burst)
        self.stamp = now
        self.paused_until = 0.0

    def wait(self, now: float) -> float:
        """Seconds until one message is allowed (0: now)."""
        self._tokens = min(
            float(self.pace.burst), self._tokens + (now - self.stamp) * self.pace.rate
        )
        self.stamp = now
        short = 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / self.pace.rate
        return max(short, self.paused_until - now)

    def take(self) -> None:
        self._tokens -= 1.0

    def repace(self, pace: Pace, now: float) -> None:
        """From now on, this pace; the tokens saved so far stay, up to its burst."""
        self.wait(now)  # saved at the old rate until now
        self.pace = pace
        self._tokens = min(self._tokens, float(pace.burst))


@dataclass
class _Waiter:
    chat: ChatKey | None
    priority: Priority
    turn: asyncio.Future[None]


def chat_key(chat_id: object) -> ChatKey | None:
    if chat_id is None:
        return None
    try:
        return int(str(chat_id))
    except ValueError:
        return str(chat_id)


def _seconds(retry_after: timedelta | float) -> float:
    return retry_after.total_seconds() if isinstance(retry_after, timedelta) else retry_after


class PriorityRateLimiter(BaseRateLimiter[None]):
    @classmethod
    def from_settings(
        cls, section: RateLimitsSection, *, max_retries: int = 3
    ) -> PriorityRateLimiter:
        return cls(
            overall=Pace(section.overall_per_second, section.overall_burst),
            per_chat=Pace(section.chat_per_second, section.chat_burst),
            max_retries=max_retries,
        )

    def __init__(
        self,
        *,
        overall: Pace,
        per_chat: Pace,
        per_group: Pace = PER_GROUP,
        max_retries: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._per_chat = per_chat
        self._per_group = per_group
        self._max_retries = max_retries
        self._overall = Bucket(overall, clock())
        self._chats: dict[ChatKey, Bucket] = {}
        self._waiting: dict[Priority, deque[_Waiter]] = {p: deque() for p in Priority}
        self._refusals: deque[tuple[float, ChatKey | None]] = deque()
        self._changed = asyncio.Event()
        self._dispatcher: asyncio.Task[None] | None = None
        self.sent: dict[Priority, int] = dict.fromkeys(Priority, 0)
        self._asked = 0  # paced requests since the last demand()
        self._asked_since = clock()

    @property
    def overall(self) -> Pace:
        return self._overall.pace

    def set_overall(self, pace: Pace) -> None:
        """This instance's part of the bot's overall budget (bot/budget.py)."""
        self._overall.repace(pace, self._clock())
        self._changed.set()  # a faster pace may let a waiter go sooner

    def demand(self) -> float:
        """Messages a second this instance would send: the paced requests made per second
        since the last call, plus one for each chat with a request waiting now (each could
        go within the next second; a chat's later requests wait behind its first anyway)."""
        now = self._clock()
        elapsed = max(now - self._asked_since, 1e-3)
        asked, self._asked, self._asked_since = self._asked, 0, now
        waiting = {
            waiter.chat
            for queue in self._waiting.values()
            for waiter in queue
            if not waiter.turn.done()
        }
        return asked / elapsed + len(waiting)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            await asyncio.gather(self._dispatcher, return_exceptions=True)
            self._dispatcher = None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if endpoint not in PACED_METHODS:
            return await callback(*args, **kwargs)
        # Edits of inline messages name no chat: they count overall only.
        chat = chat_key(data.get("chat_id"))
        priority = _PRIORITY.get()
        attempt = 0
        while True:
            self._asked += 1
            await self._turn(chat, priority)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                self._refused(chat, _seconds(error.retry_after), endpoint)
                if attempt >= self._max_retries:
                    raise
                attempt += 1

    # -- whose turn --------------------------------------------------------------------------

    def _bucket(self, chat: ChatKey, now: float) -> Bucket:
        bucket = self._chats.get(chat)
        if bucket is None:
            if len(self._chats) > 10_000:
                self._forget_idle(now)
            group = isinstance(chat, str) or chat < 0
            bucket = self._chats[chat] = Bucket(self._per_group if group else self._per_chat, now)
        return bucket

    def _forget_idle(self, now: float) -> None:
        for chat, bucket in list(self._chats.items()):
            if now - bucket.stamp > IDLE_BUCKET_SECONDS and bucket.paused_until < now:
                del self._chats[chat]

    def _chat_wait(self, chat: ChatKey | None, now: float) -> float:
        return 0.0 if chat is None else self._bucket(chat, now).wait(now)

    def _take(self, chat: ChatKey | None, priority: Priority, now: float) -> None:
        self._overall.take()
        if chat is not None:
            self._bucket(chat, now).take()
        self.sent[priority] += 1

    async def _turn(self, chat: ChatKey | None, priority: Priority) -> None:
        now = self._clock()
        nobody_waits = not any(self._waiting.values())
        if nobody_waits and self._overall.wait(now) <= 0 and self._chat_wait(chat, now) <= 0:
            self._take(chat, priority, now)
            return
        turn = asyncio.get_running_loop().create_future()
        self._waiting[priority].append(_Waiter(chat, priority, turn))
        self._changed.set()
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.create_task(self._dispatch(), name="rate-limiter")
        await turn  # a cancelled caller's waiter is skipped by the dispatcher

    def _next(self, now: float) -> tuple[_Waiter | None, float]:
        """The first waiter whose chat may send now, replies before bulk; else how long
        until some chat may."""
        soonest = float("inf")
        chats_seen: set[ChatKey | None] = set()
        for priority in Priority:
            queue = self._waiting[priority]
            for waiter in list(queue):
                if waiter.turn.done():
                    queue.remove(waiter)
                    continue
                if waiter.chat in chats_seen and waiter.chat is not None:
                    continue  # behind an earlier request of its chat
                chats_seen.add(waiter.chat)
                wait = self._chat_wait(waiter.chat, now)
                if wait <= 0:
                    queue.remove(waiter)
                    return waiter, 0.0
                soonest = min(soonest, wait)
        return None, soonest

    async def _dispatch(self) -> None:
        while any(self._waiting.values()):
            self._changed.clear()
            now = self._clock()
            overall = self._overall.wait(now)
            if overall <= 0:
                waiter, sleep = self._next(now)
                if waiter is not None:
                    self._take(waiter.chat, waiter.priority, now)
                    waiter.turn.set_result(None)
                    continue
            else:
                sleep = overall
            if sleep == float("inf"):
                continue  # only cancelled waiters were left
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), sleep)

    # -- 429 ---------------------------------------------------------------------------------

    def _refused(self, chat: ChatKey | None, seconds: float, endpoint: str) -> None:
        now = self._clock()
        self._refusals.append((now, chat))
        while self._refusals and self._refusals[0][0] < now - GLOBAL_FLOOD_WINDOW:
            self._refusals.popleft()
        chats = {c for _, c in self._refusals}
        if chat is None or len(chats) >= GLOBAL_FLOOD_CHATS:
            self._overall.paused_until = max(self._overall.paused_until, now + seconds)
            logger.warning(
                "429 for %s in %d chats: every chat waits %.1f s", endpoint, len(chats), seconds
            )
        else:
            bucket = self._bucket(chat, now)
            bucket.paused_until = max(bucket.paused_until, now + seconds)
            logger.warning("429 for %s to chat %s: it waits %.1f s", endpoint, chat, seconds)
        self._changed.set()
