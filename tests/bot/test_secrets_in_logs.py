"""The bot token and the webhook secret never appear in a log line, at any level, from any
logger: PTB's own (its DEBUG line with the API URL), httpx's request lines, our errors with
tracebacks that quote a URL."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
import telegram
from telegram.error import InvalidToken

from bot.logs import REDACTED, hide_secrets
from bot.sandbox import SandboxServer

TOKEN = "7000000123:AAE-sEcReT_part_of_the_token_0123456789"
SECRET = "webhook-secret-0123456789-abcdefghijkl"


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    async with SandboxServer() as server:
        yield server


async def test_no_log_line_at_debug_carries_the_token(
    sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("httpx").setLevel(logging.DEBUG)
    hide_secrets(TOKEN, SECRET)
    # A token the sandbox does not know: PTB logs the URL, httpx the request, and the
    # rejection is logged with its traceback.
    bot = telegram.Bot(TOKEN, base_url=sandbox.base_url, base_file_url=sandbox.base_file_url)
    try:
        with pytest.raises(InvalidToken):
            await bot.initialize()
    finally:
        await bot.shutdown()
    try:
        raise RuntimeError(f"GET {sandbox.base_url}{TOKEN}/getMe failed; secret {SECRET}")
    except RuntimeError:
        logging.getLogger("telegram.ext.Application").exception("could not start %s", TOKEN)
    logging.getLogger("bot.test").debug("secret part alone: %s", TOKEN.partition(":")[2])
    assert any("Set Bot API URL" in r.getMessage() for r in caplog.records)
    assert REDACTED in caplog.text
    secret_part = TOKEN.partition(":")[2]
    for record in caplog.records:
        line = record.getMessage() + (record.exc_text or "")
        assert secret_part not in line and SECRET not in line, record.name
    assert secret_part not in caplog.text and SECRET not in caplog.text
