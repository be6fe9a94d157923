"""Once-only inserts tell the one caller that inserted apart from the rest, on both databases
(psycopg reports an INSERT's rowcount as -1 unless SQLAlchemy is asked to keep it)."""

from __future__ import annotations

from bot.clock import ManualClock
from db.jobs import claim_job
from db.outbox import enqueue_message
from db.session import Database


async def test_a_job_is_claimed_once(database: Database, clock: ManualClock) -> None:
    claims = []
    for _ in range(2):
        async with database.session() as session:
            claims.append(
                await claim_job(session=session, key="morning:2026-11-25", now=clock.now())
            )
    assert claims == [True, False]


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
