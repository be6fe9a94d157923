"""Several bot instances on one PostgreSQL: one receives (polling), the others only handle
what it stores (mode = "worker"), all taking updates from the same inbox. Interleaved
updates of the same chats: each handled once (counted in the database and at the sandbox),
each chat's replies in the order of its updates, and the work shared between instances."""

from __future__ import annotations

from collections import Counter
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from sqlmodel import select

from bot.demo.processes import bot_processes
from bot.sandbox import SandboxServer, SandboxUser
from db.models import Complaint
from db.session import Database
from tests.e2e.test_crash import (
    FIRST_CHAT,
    START_TIMEOUT,
    WEDNESDAY_0900,
    complaint_text,
    count_inbox,
    has_handled,
    idle,
    invite,
    reply_token,
    send_round,
    token_of,
    until,
)

STAFF = ("C001", "C002", "I001", "I002", "I004", "I005", "H001", "H002")
ROUNDS = 6


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
        receiver = await stack.enter_async_context(
            bot_processes(sandbox, database_url, tmp_path / "receiver", WEDNESDAY_0900)
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
        users: dict[str, SandboxUser] = {}
        welcomes: dict[str, int] = {}
        for number, code in enumerate(STAFF):
            user = sandbox.user(FIRST_CHAT + 700 + number, code)
            await user.send(f"/start {await invite(database, code, WEDNESDAY_0900)}")
            welcome = await user.reply(timeout=START_TIMEOUT)
            assert "欢迎" in welcome.content, welcome.describe()
            users[code], welcomes[code] = user, welcome.message_id
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
    async with database.session() as session:
        drafts = Counter((await session.exec(select(Complaint.text))).all())
    expected_texts = {
        complaint_text(code, n) for code in users for n in range(ROUNDS) if n % 3 == 0
    }
    assert set(drafts) == expected_texts
    assert [text for text, times in drafts.items() if times != 1] == []
    # No kills here: every reply exactly once, in the order of the chat's updates.
    for code, user in users.items():
        got = [token_of(code, m.content) for m in user.messages[before[code] :]]
        assert got == [reply_token(code, n) for n in range(ROUNDS) if n % 3 != 2]
