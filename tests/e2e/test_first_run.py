"""First run: the bot checks that bot.username is the token's bot (invite links name it)."""

from __future__ import annotations

import logging

import pytest

from bot.clock import ManualClock
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
