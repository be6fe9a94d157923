"""The update queue on its own: Telegram's confirmation and long-poll rules."""

from __future__ import annotations

import asyncio

import pytest

from bot.sandbox import UpdateQueue
from bot.sandbox.updates import PollSuperseded


async def filled(count: int) -> UpdateQueue:
    queue = UpdateQueue()
    for number in range(count):
        await queue.put("message", {"n": number})
    return queue


def ids(updates: list[dict[str, object]]) -> list[object]:
    return [u["update_id"] for u in updates]


async def test_updates_stay_until_confirmed() -> None:
    queue = await filled(3)
    assert ids(await queue.wait_pending(100, 0)) == [1, 2, 3]
    assert ids(await queue.wait_pending(100, 0)) == [1, 2, 3]
    queue.confirm(3)
    assert ids(await queue.wait_pending(100, 0)) == [3]
    assert ids(await queue.wait_pending(1, 0)) == [3]


async def test_negative_offset_keeps_the_last_ones() -> None:
    queue = await filled(5)
    queue.confirm(-2)
    assert ids(await queue.wait_pending(100, 0)) == [4, 5]


async def test_allowed_updates_drop_other_kinds() -> None:
    queue = await filled(1)
    await queue.put("callback_query", {"id": "q"})
    queue.set_allowed_updates(["callback_query"])
    assert ids(await queue.wait_pending(100, 0)) == [2]
    await queue.put("message", {"n": 9})
    assert queue.pending_count == 1
    queue.set_allowed_updates([])  # back to Telegram's default set
    await queue.put("message", {"n": 10})
    assert queue.pending_count == 2


async def test_waiting_poll_wakes_on_put() -> None:
    queue = UpdateQueue()
    poll = asyncio.create_task(queue.wait_pending(100, 5))
    await queue.until_polled(1)
    assert queue.polls_waiting == 1
    await queue.put("message", {"n": 1})
    assert ids(await asyncio.wait_for(poll, 1)) == [1]
    assert queue.polls_waiting == 0


async def test_empty_poll_times_out() -> None:
    queue = UpdateQueue()
    assert await queue.wait_pending(100, 0.05) == []


async def test_newer_poll_supersedes_older() -> None:
    queue = UpdateQueue()
    older = asyncio.create_task(queue.wait_pending(100, 5))
    await queue.until_polled(1)
    newer = asyncio.create_task(queue.wait_pending(100, 5))
    with pytest.raises(PollSuperseded):
        await asyncio.wait_for(older, 1)
    await queue.close()
    assert await asyncio.wait_for(newer, 1) == []
