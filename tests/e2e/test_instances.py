"""Several bot instances on one PostgreSQL, all taking updates from the same inbox: one
receives (polling) and the others only handle what it stores (mode = "worker"); or two
webhook instances behind a proxy, both receiving. Interleaved updates of the same chats:
each handled once (counted in the database and at the sandbox), each chat's replies in the
order of its updates, and the work shared between instances."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from sqlmodel import select

from bot.app.webhook import WebhookOptions
from bot.clock import ManualClock
from bot.demo.processes import bot_processes
from bot.sandbox import SandboxServer, SandboxUser
from bot.sandbox.webhook import SECRET_HEADER
from bot.settings import Settings
from db.models import Complaint
from db.session import Database
from nlp.reader import ComplaintReader
from tests.e2e.harness import run_bot
from tests.e2e.test_crash import (
    FIRST_CHAT,
    KILLS,
    START_TIMEOUT,
    WEDNESDAY_0900,
    burst_with_kills,
    complaint_text,
    count_inbox,
    has_handled,
    idle,
    register_everyone,
    reply_token,
    send_round,
    token_of,
    until,
)
from tests.e2e.test_crash import ROUNDS as CRASH_ROUNDS
from tests.e2e.test_webhook import SECRET, free_port

STAFF = ("C001", "C002", "I001", "I002", "I004", "I005", "H001", "H002")
ROUNDS = 6
RECEIVER_WORKERS = 2
# The path the proxy serves and forwards to, the same (WebhookOptions.url_path).
HOOK_PATH = "/telegram/hook"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("instances", [2, 3])
async def test_instances_share_one_inbox_in_chat_order(
    database_url: str,
    database: Database,
    sandbox: SandboxServer,
    tmp_path: Path,
    sample_org: None,
    instances: int,
) -> None:
    async with AsyncExitStack() as stack:
        # Fewer workers than chats: the receiver's own take what it stores while one is
        # idle, so the others get work once they are all busy.
        receiver = await stack.enter_async_context(
            bot_processes(
                sandbox,
                database_url,
                tmp_path / "receiver",
                WEDNESDAY_0900,
                concurrent_chats=RECEIVER_WORKERS,
            )
        )
        workers = [
            await stack.enter_async_context(
                bot_processes(
                    sandbox, database_url, tmp_path / f"worker-{n}", WEDNESDAY_0900, "worker"
                )
            )
            for n in range(1, instances)
        ]
        everyone = [receiver, *workers]
        for bots in everyone:
            await bots.start()
        # Several processes start at once: on a busy machine that takes a while.
        await sandbox.updates.until_polled(timeout=2 * START_TIMEOUT)
        users, welcomes = await register_everyone(database, sandbox, STAFF, FIRST_CHAT + 700)
        await idle(sandbox)
        registered = await count_inbox(database, done=True)
        before = {code: len(user.messages) for code, user in users.items()}

        for n in range(ROUNDS):
            for code, user in users.items():
                await send_round(user, code, n, welcomes[code])
        total = registered + ROUNDS * len(users)
        await until(lambda: has_handled(database, total), "every update handled", 120)
        await idle(sandbox)
        for bots in everyone:
            assert await bots.stop() == 0
        shares = [bots.handled() for bots in everyone]

    assert sum(shares) == total, shares
    assert sum(1 for share in shares if share > 0) >= 2, f"one instance did it all: {shares}"
    await assert_each_once_in_chat_order(database, users, before)


async def assert_each_once_in_chat_order(
    database: Database, users: dict[str, SandboxUser], before: dict[str, int]
) -> None:
    """Every round's complaint stored once; every reply exactly once, in the order of the
    chat's updates (no kills here)."""
    async with database.session() as session:
        drafts = Counter((await session.exec(select(Complaint.text))).all())
    expected_texts = {
        complaint_text(code, n) for code in users for n in range(ROUNDS) if n % 3 == 0
    }
    assert set(drafts) == expected_texts
    assert [text for text, times in drafts.items() if times != 1] == []
    for code, user in users.items():
        got = [token_of(code, m.content) for m in user.messages[before[code] :]]
        assert got == [reply_token(code, n) for n in range(ROUNDS) if n % 3 != 2]


@asynccontextmanager
async def round_robin_proxy(ports: list[int]) -> AsyncIterator[tuple[str, list[int]]]:
    """A reverse proxy in front of several webhook instances listening on ``ports`` (nginx's
    upstream with several servers): each request goes to the next backend in turn, its
    answer back to Telegram. Yields its URL and how many requests each backend got."""
    backends = [f"http://127.0.0.1:{port}{HOOK_PATH}" for port in ports]
    forwarded = [0] * len(backends)
    turns = itertools.cycle(range(len(backends)))
    port = free_port()
    async with httpx.AsyncClient(timeout=30) as http:

        async def forward(request: web.Request) -> web.Response:
            backend = next(turns)
            forwarded[backend] += 1
            headers = {
                name: value
                for name, value in request.headers.items()
                if name.lower() in ("content-type", SECRET_HEADER.lower())
            }
            answer = await http.post(
                backends[backend], content=await request.read(), headers=headers
            )
            return web.Response(status=answer.status_code, body=answer.content)

        app = web.Application()
        app.router.add_post(HOOK_PATH, forward)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            yield f"http://127.0.0.1:{port}{HOOK_PATH}", forwarded
        finally:
            await runner.cleanup()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_two_webhook_instances_behind_a_proxy_share_one_inbox(
    settings: Settings,
    database: Database,
    sandbox: SandboxServer,
    clock: ManualClock,
    reader: ComplaintReader,
    sample_org: None,
) -> None:
    """Both instances receive (the proxy alternates: each stores every other update of a
    chat) and both take from the one inbox: interleaved updates of the same chats are each
    handled once, in chat order, whichever instance stored them."""
    ports = [free_port(), free_port()]
    async with (
        round_robin_proxy(ports) as (url, got),
        AsyncExitStack() as stack,
    ):
        bots = [
            await stack.enter_async_context(
                run_bot(
                    settings,
                    sandbox,
                    clock,
                    reader,
                    checks=False,
                    webhook=WebhookOptions(url=url, secret_token=SECRET, port=port),
                )
            )
            for port in ports
        ]
        users = {code: await bots[0].register(code) for code in STAFF}
        welcomes = {code: user.messages[-1].message_id for code, user in users.items()}
        before = {code: len(user.messages) for code, user in users.items()}
        for n in range(ROUNDS):
            for code, user in users.items():
                await send_round(user, code, n, welcomes[code])
        total = len(STAFF) * (1 + ROUNDS)
        await until(lambda: has_handled(database, total), "every update handled", 60)
        for user in users.values():
            await user.replies(sum(1 for n in range(ROUNDS) if n % 3 != 2), timeout=30)
        await asyncio.sleep(0.3)  # nothing more arrives
    assert sum(got) == total and min(got) >= total // 2, got
    assert [d.status for d in sandbox.webhook.deliveries] == [200] * total
    await assert_each_once_in_chat_order(database, users, before)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_webhook_instances_killed_again_and_again_apply_every_update_once(
    database_url: str, database: Database, sandbox: SandboxServer, tmp_path: Path, sample_org: None
) -> None:
    """Two webhook instances in processes of their own behind a proxy, one of them killed
    (kill -9) at random moments of a burst and started again: Telegram's POSTs that the
    dead one does not answer fail at the proxy and are sent again, to the other; what the
    dead one stored and did not finish, the other or its successor handles. Every update's
    effect once, each chat's replies in order (tests/e2e/test_crash.py, the burst)."""
    ports = [free_port(), free_port()]
    async with (
        round_robin_proxy(ports) as (url, got),
        AsyncExitStack() as stack,
    ):
        instances = [
            await stack.enter_async_context(
                bot_processes(
                    sandbox,
                    database_url,
                    tmp_path / f"instance-{number}",
                    WEDNESDAY_0900,
                    mode="webhook",
                    webhook=WebhookOptions(url=url, secret_token=SECRET, port=port),
                )
            )
            for number, port in enumerate(ports, start=1)
        ]
        await burst_with_kills(database, sandbox, instances, CRASH_ROUNDS, KILLS)
    assert min(got) > 0, got  # both received
    assert any(not delivery.ok for delivery in sandbox.webhook.deliveries), "no POST failed"
