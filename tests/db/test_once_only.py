"""Once-only inserts tell the one caller that inserted apart from the rest, on both databases
(psycopg reports an INSERT's rowcount as -1 unless SQLAlchemy is asked to keep it)."""

from __future__ import annotations

import json

from sqlmodel import col, select

from bot.clock import ManualClock
from db.jobs import claim_job, is_job_claimed
from db.models import OutboxMessage
from db.outbox import ENQUEUE_BATCH, TextMessage, enqueue_message, enqueue_texts
from db.session import Database


async def test_a_job_is_claimed_once(database: Database, clock: ManualClock) -> None:
    claims = []
    for _ in range(2):
        async with database.session() as session:
            claims.append(
                await claim_job(session=session, key="morning:2026-11-25", now=clock.now())
            )
    assert claims == [True, False]
    async with database.session() as session:
        assert await is_job_claimed(session=session, key="morning:2026-11-25")
        assert not await is_job_claimed(session=session, key="morning:2026-11-26")


async def test_a_message_key_is_queued_once(database: Database, clock: ManualClock) -> None:
    queued = []
    for _ in range(2):
        async with database.session() as session:
            queued.append(
                await enqueue_message(
                    session=session,
                    key="morning:2026-11-25:8",
                    chat_id=1,
                    text="早",
                    now=clock.now(),
                )
            )
    assert queued == [True, False]


async def test_many_messages_are_queued_once_each(database: Database, clock: ManualClock) -> None:
    """A morning's pushes in batches: the keys newly queued come back, in every batch;
    keys queued before are left as they were."""
    async with database.session() as session:
        await enqueue_message(session=session, key="push:3", chat_id=3, text="先", now=clock.now())
    messages = [
        TextMessage(f"push:{n}", n, f"早 {n}", [[("打开", f"open:{n}")]])
        for n in range(ENQUEUE_BATCH + 10)
    ]
    async with database.session() as session:
        queued = await enqueue_texts(session=session, messages=messages, now=clock.now())
    assert queued == {m.key for m in messages} - {"push:3"}
    async with database.session() as session:
        again = await enqueue_texts(session=session, messages=messages[:5], now=clock.now())
        stored = (await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
    assert again == set()
    assert len(stored) == ENQUEUE_BATCH + 10
    by_key = {row.key: row for row in stored}
    assert by_key["push:3"].text == "先"
    assert by_key["push:7"].text == "早 7"
    assert json.loads(by_key["push:7"].buttons or "") == [[["打开", "open:7"]]]
