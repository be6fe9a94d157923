"""Updates of different chats run at the same time; one chat's keep their order."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from telegram import Chat, Message, Update

from bot.update_order import PerChatUpdateProcessor


def update_in(update_id: int, chat_id: int) -> Update:
    chat = Chat(chat_id, Chat.PRIVATE)
    return Update(update_id, message=Message(update_id, datetime.now(UTC), chat))


async def test_one_chat_in_order_other_chats_meanwhile() -> None:
    processor = PerChatUpdateProcessor(8)
    events: list[str] = []
    first_may_finish, other_chat_done = asyncio.Event(), asyncio.Event()

    async def handle(
        name: str, wait: asyncio.Event | None = None, done: asyncio.Event | None = None
    ) -> None:
        events.append(f"{name} start")
        if wait is not None:
            await wait.wait()
        events.append(f"{name} end")
        if done is not None:
            done.set()

    tasks = [
        asyncio.create_task(
            processor.process_update(update_in(1, 10), handle("a1", first_may_finish))
        ),
        asyncio.create_task(processor.process_update(update_in(2, 10), handle("a2"))),
        asyncio.create_task(
            processor.process_update(update_in(3, 20), handle("b1", done=other_chat_done))
        ),
    ]
    await asyncio.wait_for(other_chat_done.wait(), 5)
    # b1 (another chat) ran while a1 waits; a2 (the same chat) waits behind a1.
    assert events == ["a1 start", "b1 start", "b1 end"]
    first_may_finish.set()
    await asyncio.gather(*tasks)
    assert events[3:] == ["a1 end", "a2 start", "a2 end"]
    assert processor._chats == {}
