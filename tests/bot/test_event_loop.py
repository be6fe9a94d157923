"""The bot's processes and the tests run on uvloop's event loop (bot/app/event_loop.py)."""

from __future__ import annotations

import asyncio

import uvloop

from bot.app.event_loop import use_fast_event_loop


def test_new_loops_are_uvloops() -> None:
    assert use_fast_event_loop() == "uvloop"
    loop = asyncio.new_event_loop()
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()


async def test_the_tests_run_on_the_bots_loop() -> None:
    assert isinstance(asyncio.get_running_loop(), uvloop.Loop)
