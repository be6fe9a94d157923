"""Webhook delivery, as Telegram does it once setWebhook registered a URL.

Each pending update is POSTed as JSON to the URL, with the secret token (if one was set) in
the ``X-Telegram-Bot-Api-Secret-Token`` header. A 2xx answer confirms it; anything else (an
error status, a refused connection, a timeout) leaves it pending and it is tried again after
a growing pause, in order, so nothing is lost or reordered. deleteWebhook stops delivery and
getUpdates works again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.sandbox.updates import PollSuperseded
from bot.sandbox.world import World

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass(frozen=True)
class Delivery:
    """One POST of an update: its HTTP status (None when no answer came) and any error."""

    update_id: int
    url: str
    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class RetryPolicy:
    first_delay: float = 0.1
    max_delay: float = 5.0
    request_timeout: float = 10.0
    # How long one wait for new updates lasts before the webhook settings are read again.
    idle_wait: float = 1.0


class WebhookDeliverer:
    """Runs beside the sandbox server; idle until a webhook URL is set."""

    def __init__(self, world: World, retry: RetryPolicy = RetryPolicy()) -> None:
        self._world = world
        self._retry = retry
        self.deliveries: list[Delivery] = []
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def url(self) -> str:
        return str(self._world.webhook.get("url") or "")

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="sandbox-webhook")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._stopping = True
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _until_webhook_set(self) -> None:
        condition = self._world.changed
        async with condition:
            await condition.wait_for(lambda: bool(self.url) or self._stopping)

    async def _run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self._retry.request_timeout)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            delay = self._retry.first_delay
            while not self._stopping:
                await self._until_webhook_set()
                try:
                    batch = await self._world.updates.wait_pending(100, self._retry.idle_wait)
                except PollSuperseded:
                    continue  # a getUpdates after deleteWebhook: it reads the queue now
                for update in batch:
                    if not self.url:
                        break
                    if await self._deliver(http, update):
                        self._world.updates.confirm(int(update["update_id"]) + 1)
                        delay = self._retry.first_delay
                        continue
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self._retry.max_delay)
                    break

    async def _deliver(self, http: aiohttp.ClientSession, update: dict[str, Any]) -> bool:
        url = self.url
        headers = {"Content-Type": "application/json"}
        secret = self._world.webhook.get("secret_token")
        if secret:
            headers[SECRET_HEADER] = str(secret)
        update_id = int(update["update_id"])
        try:
            async with http.post(url, data=json.dumps(update), headers=headers) as response:
                await response.read()
                delivery = Delivery(update_id, url, response.status)
        except (aiohttp.ClientError, TimeoutError) as exc:
            delivery = Delivery(update_id, url, None, f"{type(exc).__name__}: {exc}")
        self.deliveries.append(delivery)
        if not delivery.ok:
            logger.info(
                "sandbox webhook %s -> update %s failed: %s",
                url,
                update_id,
                delivery.error or delivery.status,
            )
        return delivery.ok
