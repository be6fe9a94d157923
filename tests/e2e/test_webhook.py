"""Webhook mode end to end: the sandbox posts updates to the bot's own HTTP server with the
secret token; registration and a complaint round trip work; a request without the secret
(or with a wrong one) is refused and never reaches a handler."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.app.webhook import WebhookOptions
from bot.clock import ManualClock
from bot.sandbox import SandboxServer
from bot.sandbox.webhook import SECRET_HEADER
from bot.settings import Settings
from bot.views import texts
from nlp.reader import ComplaintReader
from tests.e2e.harness import Harness, run_bot

SECRET = "e2e-Webhook_secret-at-least-32-characters"
REPORT = "东2段信件报刊积压三天了，用户多次打电话投诉"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def webhook() -> WebhookOptions:
    port = free_port()
    return WebhookOptions(
        url=f"http://127.0.0.1:{port}/telegram/hook",
        secret_token=SECRET,
        listen="127.0.0.1",
        port=port,
    )


@pytest.fixture
async def bot(
    settings: Settings,
    sandbox: SandboxServer,
    clock: ManualClock,
    reader: ComplaintReader,
    sample_org: None,
    webhook: WebhookOptions,
) -> AsyncIterator[Harness]:
    async with run_bot(settings, sandbox, clock, reader, checks=False, webhook=webhook) as bot:
        yield bot


async def test_registration_and_a_complaint_round_trip_by_webhook(
    bot: Harness, sandbox: SandboxServer, webhook: WebhookOptions
) -> None:
    assert sandbox.world.webhook["url"] == webhook.url
    assert sandbox.world.webhook["secret_token"] == SECRET
    clerk, handler = await bot.register("C002"), await bot.register("H001")
    await clerk.send(REPORT)
    (draft,) = await clerk.replies(1)
    assert "投递延误/积压" in draft.content
    await clerk.press(texts.BUTTON_CONFIRM)
    assert "马建军" in (await clerk.edits(1))[0].content
    (card,) = await handler.replies(1)
    assert "新投诉" in card.content
    await handler.press("答复")
    assert (await handler.reply()).content == texts.ASK_ANSWER
    await handler.send("已安排补投，并向用户致歉。")
    assert (await handler.reply()).content == texts.ANSWER_SAVED
    assert "已由 马建军 答复" in (await clerk.reply()).content

    assert sandbox.count("getUpdates", ok_only=False) == 0
    # Six user actions (two /start, report, confirm, 答复, answer): each posted once, in order.
    delivered = [(d.update_id, d.status) for d in sandbox.webhook.deliveries]
    assert delivered == [(update_id, 200) for update_id in range(1, 7)]


@pytest.mark.parametrize("headers", [{}, {SECRET_HEADER: "wrong-secret"}])
async def test_a_request_without_the_secret_token_is_refused(
    bot: Harness, webhook: WebhookOptions, headers: dict[str, str]
) -> None:
    clerk = await bot.register("C002")
    forged = {
        "update_id": 999_999,
        "message": {
            "message_id": 99,
            "date": 1_700_000_000,
            "chat": {"id": clerk.id, "type": "private", "first_name": clerk.first_name},
            "from": clerk.as_json,
            "text": "/help",
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
        },
    }
    async with httpx.AsyncClient() as http:
        response = await http.post(webhook.local_url, json=forged, headers=headers)
    assert response.status_code == 403
    await clerk.no_reply(within=0.5)
    # The same update with the secret is served: the refusal was about the header alone.
    async with httpx.AsyncClient() as http:
        response = await http.post(webhook.local_url, json=forged, headers={SECRET_HEADER: SECRET})
    assert response.status_code == 200
    assert "/complaint" in (await clerk.reply()).content
