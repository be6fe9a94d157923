"""Telegram's overall limit shared by the instances of one bot on PostgreSQL.

Telegram's global flood control counts the bot (its token), whatever the number of
processes: three instances each pacing itself at ``overall_per_second`` send three times
that, and the 429s that follow pause all of them. So with PostgreSQL each instance paces
itself at its part of the budget, and the database is the only coordinator:

- every REFRESH_SECONDS an instance writes its row of ``send_budget`` (its demand: the
  messages a second it would send, bot/ratelimit.py ``demand``) and, in the same statement,
  reads the rows of the live instances (db/budget.py): those holding their liveness lock (a
  crashed one's goes with its connection, so a restarted bot does not share with its dead
  self) and seen within EXPIRY_SECONDS (one that stalls stops counting). A stopping
  instance deletes its row.
- From those rows every instance works out the same split (``split_budget``), max-min
  fair: an instance asking for less than an equal part gets what it asks plus FLOOR (room to
  answer someone at once), the hungry ones share the rest equally, and what nobody asks for
  is spread over everyone. Each takes its own part (and as much of ``overall_burst``).
- An instance lowers its pace at once but raises it a refresh later (the smaller of its last
  two parts): by then the others, refreshing at other moments, have seen its demand and
  lowered theirs, so together they do not exceed the budget meanwhile. A new instance takes
  its first part at once (it asks little yet, and the others soon make room); one that
  cannot reach the database for EXPIRY_SECONDS falls back to FLOOR, since the others no
  longer count it.

Sending costs nothing more: the limiter paces in memory, and the database sees one
statement a second from each instance. The per-chat pace and replies before bulk stay per
instance: a chat's updates are handled by one worker at a time, and its outbox rows go
through one sender at a time (db/outbox.py); only a reply from one instance while another
sends that chat bulk can exceed its pace, and Telegram tolerates short bursts in a chat.
On SQLite there is one process: it keeps the whole budget.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Mapping
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.ratelimit import Pace, PriorityRateLimiter
from db.budget import forget_instance, lock_instance, refresh_demand
from db.liveness import new_id
from db.session import Database

logger = logging.getLogger(__name__)

REFRESH_SECONDS = 1.0
EXPIRY_SECONDS = 5.0
# Messages a second every instance may send beyond its demand, however busy the others.
FLOOR = 1.0
BUDGET_TASK = "send-budget"

K = TypeVar("K")


def split_budget(total: float, demands: Mapping[K, float], floor: float = FLOOR) -> dict[K, float]:
    """Each instance's part of ``total`` messages a second, from their demands: max-min fair
    over demand + floor, the rest spread evenly. The parts add up to ``total``."""
    if not demands:
        return {}
    floor = min(floor, total / len(demands))
    wants = {key: max(demand, 0.0) + floor for key, demand in demands.items()}
    parts: dict[K, float] = {}
    left = total
    hungry = sorted(wants, key=wants.__getitem__)
    while hungry and wants[hungry[0]] <= left / len(hungry):
        key = hungry.pop(0)
        parts[key] = wants[key]
        left -= wants[key]
    if hungry:
        parts |= dict.fromkeys(hungry, left / len(hungry))
    else:
        parts = {key: part + left / len(parts) for key, part in parts.items()}
    return parts


def pace_of(part: float, total: Pace) -> Pace:
    """The pace of an instance's part: the burst in the same proportion, at least one."""
    return Pace(rate=part, burst=max(1, math.ceil(total.burst * part / total.rate)))


class SharedBudget:
    """Keeps this instance's row of ``send_budget`` and its limiter's overall pace at its
    part of the budget (PostgreSQL; see the module's docstring)."""

    def __init__(
        self,
        database: Database,
        limiter: PriorityRateLimiter,
        *,
        refresh_seconds: float = REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = database
        self._limiter = limiter
        self._total = limiter.overall
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self.instance = new_id()
        self._floor = min(FLOOR, self._total.rate)
        # The first part is taken as it comes: the others lower theirs at their next refresh.
        self._last_part = self._total.rate
        self._heard_at = clock()
        self._failing = False
        self._lock: AsyncConnection | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """The first refresh now (this instance's row seen by the others), then in the
        background."""
        self._limiter.set_overall(pace_of(self._floor, self._total))
        self._lock = await lock_instance(self._db.engine, self.instance)
        await self.refresh()
        self._task = asyncio.create_task(self._refreshing(), name=BUDGET_TASK)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        lock, self._lock = self._lock, None
        try:
            await forget_instance(self._db.engine, lock, instance=self.instance)
        except Exception:  # the row expires by itself, the lock goes with its connection
            logger.warning("send budget: could not delete this instance's row", exc_info=True)

    async def refresh(self) -> None:
        """Report the demand, take this instance's part of the budget."""
        demand = self._limiter.demand()
        try:
            demands = await refresh_demand(
                self._db.engine, instance=self.instance, demand=demand, expiry=EXPIRY_SECONDS
            )
            if not demands.locked:
                # The lock's connection was lost (the database restarted, say): the others
                # no longer count this instance until it holds the lock again.
                await self._lock_again()
        except Exception:  # the next refresh tries again
            if not self._failing:
                logger.warning("send budget: refresh failed", exc_info=True)
                self._failing = True
            if self._clock() - self._heard_at > EXPIRY_SECONDS:
                self._last_part = self._floor
                self._limiter.set_overall(pace_of(self._floor, self._total))
            return
        if self._failing:
            logger.info("send budget: refreshed again")
            self._failing = False
        self._heard_at = self._clock()
        part = split_budget(self._total.rate, demands.by_instance, self._floor)[self.instance]
        # Raised one refresh late: the others see this demand first and lower theirs.
        paced, self._last_part = min(part, self._last_part), part
        self._limiter.set_overall(pace_of(paced, self._total))
        logger.debug(
            "send budget: %d instances, demand %.1f/s, pacing at %.1f/s",
            len(demands.by_instance),
            demand,
            paced,
        )

    async def _lock_again(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            await lock.invalidate()
            await lock.close()
        self._lock = await lock_instance(self._db.engine, self.instance)

    async def _refreshing(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_seconds)
            await self.refresh()
