"""README command 1 with a token: `python -m bot run --demo-without-token` (what `make run`
runs) starts the real bot, which polls the Bot API at the configured address (here: a
sandbox in the test with a fake token), answers, logs one structured line per update and
stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from bot.demo.processes import sandbox_config
from bot.sandbox import SandboxServer
from bot.views import texts
from tests.conftest import REPO

FAKE_TOKEN = "987654321:FAKE-token-for-the-make-run-test"


async def test_with_a_token_the_real_bot_polls_and_answers(
    database_url: str, tmp_path: Path
) -> None:
    async with SandboxServer(FAKE_TOKEN) as sandbox:
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": FAKE_TOKEN, "DATABASE_URL": database_url}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "--config",
            str(sandbox_config(sandbox, tmp_path)),
            "run",
            "--demo-without-token",
            cwd=REPO,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await sandbox.updates.until_polled(timeout=60)
            stranger = sandbox.user(5005, "路人")
            await stranger.send("你好")
            assert (await stranger.reply(timeout=10)).content == texts.STRANGER
        finally:
            if process.returncode is None:
                process.terminate()
            out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    stdout, stderr = out.decode(), err.decode()
    assert process.returncode == 0, stderr[-3000:]
    assert texts.run_real_bot("polling", "postal_inspection_bot") in stdout
    assert texts.DEMO_INTRO not in stdout
    assert sandbox.count("getMe") >= 1 and sandbox.count("getUpdates") >= 1
    handled = [line for line in stderr.splitlines() if 'msg="handled message' in line]
    assert handled and "update=" in handled[0] and f"user={stranger.id}" in handled[0]
