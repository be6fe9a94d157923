"""Updates of different chats are handled at the same time; one chat's, in order.

PTB handles one update at a time by default, and one of ours spends most of its 70–80 ms
waiting for the database: a morning when hundreds answer at once queues them all behind each
other. PTB's own concurrent mode would also run two messages of one person at the same time,
so that the second answer could be stored before the first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class PerChatUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._chats: dict[int, asyncio.Lock] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        # Tasks reach this point in the order the updates arrived, and the lock serves its
        # waiters first come first served: one chat's updates keep their order.
        lock = self._chats.setdefault(chat.id, asyncio.Lock())
        try:
            async with lock:
                await coroutine
        finally:
            if not lock.locked() and self._chats.get(chat.id) is lock:
                del self._chats[chat.id]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass
