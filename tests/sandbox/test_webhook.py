"""Webhook delivery: updates POSTed with the secret header, retried until confirmed, in order;
deleteWebhook hands the queue back to getUpdates."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiohttp import web

from bot.sandbox import SandboxServer
from bot.sandbox.webhook import SECRET_HEADER

USER_ID = 4004
SECRET = "s3cret-Token_1"


@dataclass
class Receiver:
    """A bot's webhook endpoint that fails the first ``failures`` requests."""

    failures: int = 0
    received: list[tuple[str | None, dict[str, Any]]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.received.append((request.headers.get(SECRET_HEADER), body))
        if self.failures > 0:
            self.failures -= 1
            return web.Response(status=502)
        return web.Response(status=200)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    target = Receiver()
    app = web.Application()
    app.router.add_post("/hook", target.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield target, f"http://127.0.0.1:{port}/hook"
    await runner.cleanup()


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    async with SandboxServer() as server:
        yield server


async def deliveries(sandbox: SandboxServer, count: int) -> list[int | None]:
    """The statuses of the first ``count`` deliveries, once the sandbox has recorded them."""
    async with asyncio.timeout(5):
        while len(sandbox.webhook.deliveries) < count:
            await asyncio.sleep(0.02)
    return [d.status for d in sandbox.webhook.deliveries]


async def call(sandbox: SandboxServer, method: str, **params: Any) -> Any:
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{sandbox.base_url}{sandbox.token}/{method}", json=params)
    return response.json()


async def test_updates_are_posted_with_the_secret_and_retried_in_order(
    sandbox: SandboxServer, receiver: tuple[Receiver, str]
) -> None:
    target, url = receiver
    target.failures = 2
    assert (await call(sandbox, "setWebhook", url=url, secret_token=SECRET))["ok"]
    user = sandbox.user(USER_ID, "赵六")
    await user.send("第一条")
    await user.send("第二条")
    assert await deliveries(sandbox, 4) == [502, 502, 200, 200]  # refused twice, then both
    secrets = {secret for secret, _ in target.received}
    texts = [body["message"]["text"] for _, body in target.received]
    assert secrets == {SECRET}
    assert texts == ["第一条", "第一条", "第一条", "第二条"]
    info = await call(sandbox, "getWebhookInfo")
    assert info["result"]["url"] == url and info["result"]["pending_update_count"] == 0
    refused = await call(sandbox, "getUpdates", timeout=0)
    assert refused["error_code"] == 409


async def test_an_unreachable_webhook_keeps_updates_until_deleted(
    sandbox: SandboxServer, receiver: tuple[Receiver, str]
) -> None:
    _, url = receiver
    closed = url.replace("/hook", "/nothing-here")  # 404: not confirmed
    assert (await call(sandbox, "setWebhook", url=closed))["ok"]
    user = sandbox.user(USER_ID, "赵六")
    await user.send("留着")
    assert (await deliveries(sandbox, 1))[0] == 404
    assert (await call(sandbox, "deleteWebhook"))["ok"]
    polled = await call(sandbox, "getUpdates", timeout=1)
    assert [u["message"]["text"] for u in polled["result"]] == ["留着"]
