"""First run: the bot checks that bot.username is the token's bot (invite links name it);
what start-up built is frozen out of the garbage collector's sight."""

from __future__ import annotations

import gc
import logging

import pytest

from bot.clock import ManualClock
from bot.demo.simulation import simulate
from bot.sandbox import SandboxServer
from bot.settings import Settings
from nlp.reader import ComplaintReader
from tests.e2e.harness import run_bot


async def test_a_username_that_is_not_the_tokens_bot_is_warned_about_at_start(
    settings: Settings,
    sandbox: SandboxServer,
    clock: ManualClock,
    reader: ComplaintReader,
    caplog: pytest.LogCaptureFixture,
) -> None:
    other = settings.model_copy(
        update={"bot": settings.bot.model_copy(update={"username": "someone_elses_bot"})}
    )
    async with run_bot(other, sandbox, clock, reader, checks=False):
        pass
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("@someone_elses_bot" in w and "@sandbox_inspection_bot" in w for w in warnings)


async def test_once_the_reader_is_built_start_ups_objects_are_frozen(
    settings: Settings, sandbox: SandboxServer, clock: ManualClock, sample_org: None
) -> None:
    """A full collection then walks only what came after (a report's rows), not jieba's
    dictionary, the model and the libraries (bench/report_at_size.py: 0.2-0.8 s stalls)."""
    gc.unfreeze()  # a report rendered earlier in this process froze its renderers
    try:
        async with simulate(settings, sandbox, clock, None, checks=False) as simulation:
            await simulation.services.reader()
            assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
