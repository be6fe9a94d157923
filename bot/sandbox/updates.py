"""The bot's pending updates, with Telegram's getUpdates semantics.

Updates stay pending until confirmed (an offset above their id), exactly as on Telegram, so a
poll whose client went away loses nothing. ``wait_pending`` is the one primitive consumers
need: getUpdates uses it today and a webhook deliverer can use it later (wait, POST each
update, ``confirm`` on a 2xx).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

logger = logging.getLogger(__name__)

JSON = dict[str, Any]

# Update kinds Telegram leaves out when allowed_updates is empty or missing.
_OPT_IN_KINDS = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


class PollSuperseded(Exception):
    """A newer getUpdates arrived while this one was waiting (Telegram answers 409)."""


def update_kind(update: JSON) -> str:
    return next(key for key in update if key != "update_id")


class UpdateQueue:
    def __init__(self, first_update_id: int = 1) -> None:
        self._next_id = first_update_id
        self._pending: list[JSON] = []
        self._allowed: frozenset[str] | None = None
        self._changed = asyncio.Condition()
        # Bumped by each poll so an older poll still waiting knows it was superseded.
        self._generation = 0
        self._waiting = 0
        self._closed = False

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    def pending(self) -> list[JSON]:
        return list(self._pending)

    def _allows(self, update: JSON) -> bool:
        kind = update_kind(update)
        if self._allowed is None:
            return kind not in _OPT_IN_KINDS
        return kind in self._allowed

    def set_allowed_updates(self, kinds: Iterable[str] | None) -> None:
        """Telegram keeps the filter until the next call naming one, and drops what it bars."""
        if kinds is None:
            return
        kinds = frozenset(kinds)
        self._allowed = kinds or None
        self._pending = [update for update in self._pending if self._allows(update)]

    async def put(self, kind: str, payload: JSON) -> JSON:
        update: JSON = {"update_id": self._next_id, kind: payload}
        self._next_id += 1
        if not self._allows(update):
            logger.debug("dropping %s update barred by allowed_updates", kind)
            return update
        self._pending.append(update)
        async with self._changed:
            self._changed.notify_all()
        return update

    def confirm(self, offset: int) -> None:
        """Forget updates below ``offset``; a negative offset keeps only the last -offset."""
        if offset < 0:
            self._pending = self._pending[offset:]
        else:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]

    def drop_pending(self) -> None:
        self._pending.clear()

    async def wait_pending(self, limit: int, timeout: float) -> list[JSON]:
        """Up to ``limit`` pending updates, waiting up to ``timeout`` s for the first one.

        Raises PollSuperseded if another wait starts meanwhile; returns [] once closed.
        """
        self._generation += 1
        generation = self._generation
        async with self._changed:
            self._waiting += 1
            self._changed.notify_all()
            try:
                async with asyncio.timeout(max(timeout, 0)):
                    await self._changed.wait_for(
                        lambda: (
                            bool(self._pending) or self._closed or self._generation != generation
                        )
                    )
            except TimeoutError:
                return []
            finally:
                self._waiting -= 1
        if self._generation != generation:
            raise PollSuperseded
        return self._pending[:limit]

    @property
    def polls_waiting(self) -> int:
        """Long polls currently held open (0 or 1 unless a superseded one is still waking)."""
        return self._waiting

    async def until_polled(self, timeout: float = 5.0) -> None:
        """Wait until a long poll is being held, i.e. the bot is idle and listening."""
        async with self._changed, asyncio.timeout(timeout):
            await self._changed.wait_for(lambda: self._waiting > 0)

    def reopen(self) -> None:
        self._closed = False

    async def close(self) -> None:
        """Release every waiting poll so the server can stop without waiting out timeouts."""
        self._closed = True
        async with self._changed:
            self._changed.notify_all()
