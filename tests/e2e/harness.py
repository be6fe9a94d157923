"""The bot under test, running in-process against the sandbox Bot API, with a clock the
test moves and a way to run the scheduled work at that clock time. The machinery is product
code (bot.demo.simulation, shared with `python -m bot demo`); this keeps the tests' names."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.app.webhook import WebhookOptions
from bot.clock import ManualClock
from bot.demo.simulation import Simulation, simulate
from bot.sandbox import SandboxServer, SentMessage
from bot.settings import Settings
from nlp.reader import ComplaintReader

Harness = Simulation


@asynccontextmanager
async def run_bot(
    settings: Settings,
    sandbox: SandboxServer,
    clock: ManualClock,
    reader: ComplaintReader,
    *,
    checks: bool = True,
    webhook: WebhookOptions | None = None,
) -> AsyncIterator[Harness]:
    """The bot, polling the sandbox (or fed by its webhook). checks=False keeps only the
    region-level catalog items (the sample organisation has no region inspectors): no daily
    checks, pushes or miss summaries in tests about something else."""
    async with simulate(
        settings, sandbox, clock, reader, checks=checks, webhook=webhook
    ) as simulation:
        yield simulation


def texts_of(messages: list[SentMessage]) -> list[str]:
    return [m.content for m in messages]
