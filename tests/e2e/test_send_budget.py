"""Three instances of one bot on one PostgreSQL, each sending bulk to its own chats while one
also answers people, against the sandbox enforcing Telegram's limits: together they stay
under the overall limit (no 429 of the global flood control, counted at the sandbox), and
the person answered meanwhile is not held behind the bulk. Each instance paced at the whole
budget, as before the send budget, draws dozens of global 429s here (49 in one run)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest
from telegram.ext import ExtBot

from bot.budget import SharedBudget
from bot.ratelimit import PriorityRateLimiter, bulk_sends
from bot.sandbox import RateLimits, SandboxServer
from bot.settings import RateLimitsSection
from db.session import Database

FIRST_CHAT = 8_400_000_001
INSTANCES = 3
BULK_EACH = 60  # messages each instance pushes, one per chat
REPLIES = 5
# Faster than in production, so that the test's few seconds see several refreshes.
REFRESH_SECONDS = 0.25


@pytest.fixture
async def limits() -> RateLimits:
    return RateLimits()


@pytest.fixture
async def limited_sandbox(limits: RateLimits) -> AsyncIterator[SandboxServer]:
    async with SandboxServer(policy=limits) as server:
        yield server


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_instances_together_stay_under_the_overall_limit(
    database: Database, limited_sandbox: SandboxServer, limits: RateLimits
) -> None:
    sandbox = limited_sandbox
    async with AsyncExitStack() as stack:
        bots: list[ExtBot[None]] = []
        for _ in range(INSTANCES):
            limiter = PriorityRateLimiter.from_settings(RateLimitsSection())
            bot: ExtBot[None] = ExtBot(
                sandbox.token, base_url=sandbox.base_url, rate_limiter=limiter
            )
            await stack.enter_async_context(bot)
            budget = SharedBudget(database, limiter, refresh_seconds=REFRESH_SECONDS)
            await budget.start()
            stack.push_async_callback(budget.stop)
            bots.append(bot)

        recipients = [
            sandbox.user(FIRST_CHAT + n, f"检查员{n}") for n in range(INSTANCES * BULK_EACH)
        ]

        async def push(number: int, bot: ExtBot[None]) -> None:
            mine = recipients[number * BULK_EACH : (number + 1) * BULK_EACH]
            with bulk_sends():
                await asyncio.gather(*(bot.send_message(u.id, "今日检查任务") for u in mine))

        asker = sandbox.user(FIRST_CHAT + 10_000, "提问的人")

        async def answer() -> None:
            await asyncio.sleep(0.5)  # the bulk is under way
            for n in range(REPLIES):
                await bots[0].send_message(asker.id, f"回答{n}")
                await asyncio.sleep(1.0)  # a person's pace: the chat's own limit allows it

        await asyncio.gather(*(push(n, bot) for n, bot in enumerate(bots)), answer())

    delivered = [c for c in sandbox.calls if c.ok and c.method == "sendMessage"]
    assert len(delivered) == INSTANCES * BULK_EACH + REPLIES
    assert [m.content for m in asker.messages] == [f"回答{n}" for n in range(REPLIES)]
    assert limits.refused["overall"] == 0, limits.refused
