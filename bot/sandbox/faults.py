"""Bad days at Telegram, as sandbox policies: injected faults and the flood limits.

    sandbox.policy = chain(RateLimits(), FaultInjector(rate=0.1, seed=7))

``FaultInjector`` answers a share of the calls with 429 (with ``retry_after``), 500, 502 or a
dropped connection, chosen by a seeded random generator. Every injected fault happens *before*
the method runs: the message is not delivered, as when a request never reaches Telegram, so a
sender that retries correctly delivers each message exactly once.

``RateLimits`` enforces Telegram's limits on messages the way its Bot FAQ describes them:
about 30 messages per second overall, one per second in a chat (short bursts tolerated), 20 per
minute in a group; a message over a limit is refused with 429 and the seconds until it would
be allowed. Only methods that send a message count; reading updates and editing do not.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.sandbox.records import ApiCall, ApiReply, Policy

logger = logging.getLogger(__name__)

MESSAGE_METHODS = frozenset(
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
    }
)


class Fault(StrEnum):
    TOO_MANY_REQUESTS = "429"
    INTERNAL_ERROR = "500"
    BAD_GATEWAY = "502"
    DROP = "drop"


def fault_reply(fault: Fault, retry_after: int = 1) -> ApiReply:
    match fault:
        case Fault.TOO_MANY_REQUESTS:
            return ApiReply.too_many_requests(retry_after)
        case Fault.INTERNAL_ERROR:
            return ApiReply.error(500, "Internal Server Error")
        case Fault.BAD_GATEWAY:
            return ApiReply.error(502, "Bad Gateway")
        case Fault.DROP:
            return ApiReply.connection_dropped()


class FaultInjector:
    """Answers ``rate`` of the calls to ``methods`` (None: every method) with a fault."""

    def __init__(
        self,
        rate: float,
        *,
        seed: int = 0,
        faults: Iterable[Fault] = tuple(Fault),
        methods: Iterable[str] | None = MESSAGE_METHODS,
        retry_after: int = 1,
    ) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError("the fault rate is a share between 0 and 1")
        self.rate = rate
        self.faults = tuple(faults)
        if not self.faults:
            raise ValueError("at least one kind of fault is needed")
        self.methods = None if methods is None else frozenset(methods)
        self.retry_after = retry_after
        self.injected: Counter[Fault] = Counter()
        self._random = random.Random(seed)

    @property
    def total(self) -> int:
        return sum(self.injected.values())

    async def __call__(self, call: ApiCall) -> ApiReply | None:
        if self.methods is not None and call.method not in self.methods:
            return None
        if self._random.random() >= self.rate:
            return None
        fault = self._random.choice(self.faults)
        self.injected[fault] += 1
        logger.debug("injecting %s into %s #%d", fault, call.method, call.seq)
        return fault_reply(fault, self.retry_after)


@dataclass(frozen=True)
class Limit:
    """``count`` messages per ``period`` seconds, of which ``burst`` may come at once."""

    count: int
    period: float
    burst: int

    @property
    def rate(self) -> float:
        return self.count / self.period


class TokenBucket:
    def __init__(self, limit: Limit, now: float) -> None:
        self.limit = limit
        self._tokens = float(limit.burst)
        self._stamp = now

    def wait(self, now: float) -> float:
        """Seconds until one message is allowed; 0 when it is allowed now."""
        self._tokens = min(
            float(self.limit.burst), self._tokens + (now - self._stamp) * self.limit.rate
        )
        self._stamp = now
        return 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / self.limit.rate

    def take(self) -> None:
        self._tokens -= 1.0


OVERALL = Limit(count=30, period=1.0, burst=30)
PER_CHAT = Limit(count=1, period=1.0, burst=3)
PER_GROUP = Limit(count=20, period=60.0, burst=20)


def _chat_key(params: Mapping[str, Any]) -> int | str | None:
    chat_id = params.get("chat_id")
    if chat_id is None:
        return None
    try:
        return int(chat_id)
    except (TypeError, ValueError):
        return str(chat_id)  # "@channel"


class RateLimits:
    """Refuses messages over Telegram's flood limits with 429 and the wait in retry_after."""

    def __init__(
        self,
        *,
        overall: Limit = OVERALL,
        per_chat: Limit = PER_CHAT,
        per_group: Limit = PER_GROUP,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self.per_chat = per_chat
        self.per_group = per_group
        self._overall = TokenBucket(overall, clock())
        self._chats: dict[int | str, TokenBucket] = {}
        # Which limit refused how many messages: "overall", "chat" or "group".
        self.refused: Counter[str] = Counter()
        self.allowed = 0

    @property
    def total_refused(self) -> int:
        return sum(self.refused.values())

    async def __call__(self, call: ApiCall) -> ApiReply | None:
        if call.method not in MESSAGE_METHODS:
            return None
        now = self._clock()
        buckets = [("overall", self._overall)]
        chat = _chat_key(call.params)
        if chat is not None:
            group = isinstance(chat, str) or chat < 0
            if chat not in self._chats:
                self._chats[chat] = TokenBucket(self.per_group if group else self.per_chat, now)
            buckets.append(("group" if group else "chat", self._chats[chat]))
        waits = [(bucket.wait(now), name) for name, bucket in buckets]
        wait, limit = max(waits)
        if wait > 0:
            self.refused[limit] += 1
            logger.info("flood limit (%s) refuses %s to %s", limit, call.method, chat)
            return ApiReply.too_many_requests(max(1, math.ceil(wait)))
        for _, bucket in buckets:
            bucket.take()
        self.allowed += 1
        return None


def chain(*policies: Policy) -> Policy:
    """One policy asking each in turn; the first answer wins."""

    async def chained(call: ApiCall) -> ApiReply | None:
        for policy in policies:
            reply = await policy(call)
            if reply is not None:
                return reply
        return None

    return chained
