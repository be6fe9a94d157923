"""The sandbox as its own process, driven through the /sandbox/ control API."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.sandbox import SandboxServer

TOKEN = "42:STANDALONE"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http:
        yield http


async def test_control_api_drives_users(client: httpx.AsyncClient) -> None:
    async with SandboxServer() as sandbox:
        sent = await client.post(f"{sandbox.url}/sandbox/users/7/send", json={"text": "/start"})
        assert sent.json() == {"update_id": 1}
        assert sandbox.updates.pending()[0]["message"]["text"] == "/start"

        api = f"{sandbox.base_url}{sandbox.token}"
        markup = {"inline_keyboard": [[{"text": "好", "callback_data": "ok"}]]}
        await client.post(
            f"{api}/sendMessage", json={"chat_id": 7, "text": "欢迎", "reply_markup": markup}
        )
        listed = (await client.get(f"{sandbox.url}/sandbox/users/7/messages")).json()
        assert [(m["text"], m["buttons"]) for m in listed] == [("欢迎", [[["好", "ok"]]])]

        pressed = await client.post(f"{sandbox.url}/sandbox/users/7/press", json={"button": "好"})
        assert pressed.json() == {"update_id": 2}
        missing = await client.post(f"{sandbox.url}/sandbox/users/7/press", json={"button": "x"})
        assert missing.status_code == 404
        assert (await client.get(f"{sandbox.url}/sandbox/calls")).json() == {"sendMessage": 1}


async def test_runs_as_its_own_process(client: httpx.AsyncClient) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.sandbox",
        "--port",
        "0",
        "--token",
        TOKEN,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    try:
        url = None
        async with asyncio.timeout(10):
            while url is None:
                line = (await process.stderr.readline()).decode()
                assert line, "sandbox exited before listening"
                found = re.search(r"listening on (http://\S+)", line)
                url = found.group(1) if found else None
        me = (await client.get(f"{url}/bot{TOKEN}/getMe")).json()
        assert me["ok"] and me["result"]["id"] == 42
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 10)
    assert process.returncode == 0, stderr.decode()
