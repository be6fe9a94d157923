"""Announcements reach the instances of the same tables only (PostgreSQL), and the inbox
announces a stored update only when asked (its instance has no idle worker), never a
finished one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from db.announcements import ANNOUNCER, announcements, channel_sql
from db.inbox import ANNOUNCED_TOPIC, claim_next_update, mark_update_done, store_update
from db.migrate import scratch_postgres_schema
from db.session import Database
from tests.conftest import POSTGRES_DSN, SHANGHAI

START = datetime(2026, 11, 25, 9, 0, tzinfo=SHANGHAI)
# Long enough for a NOTIFY on this machine to arrive many times over.
SILENCE_SECONDS = 1.0

ON_POSTGRESQL = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@asynccontextmanager
async def heard(url: str) -> AsyncIterator[asyncio.Queue[str]]:
    """The announcers of the inbox's announcements, once listening has begun."""
    queue: asyncio.Queue[str] = asyncio.Queue()

    async def listen() -> None:
        async for announcer in announcements(url, ANNOUNCED_TOPIC):
            await queue.put(announcer)

    listener = asyncio.create_task(listen())
    try:
        assert await asyncio.wait_for(queue.get(), 30) == ""  # listening
        yield queue
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)


async def silence(queue: asyncio.Queue[str]) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(queue.get(), SILENCE_SECONDS)


async def store(url: str, update_id: int, *, announce: bool = True) -> None:
    database = Database(url)
    try:
        async with database.session() as session:
            await store_update(
                session=session,
                update_id=update_id,
                chat_id=5,
                payload="{}",
                now=START,
                announcer=ANNOUNCER if announce else None,
            )
    finally:
        await database.close()


@ON_POSTGRESQL
async def test_another_schemas_stores_are_not_heard(database_url: str) -> None:
    """Another bot (or test run) in another schema of the same database wakes nobody here."""
    async with heard(database_url) as announcers:
        with scratch_postgres_schema(POSTGRES_DSN, "test") as elsewhere:
            await store(elsewhere, 1)
            await silence(announcers)
        # Not deaf: a store in its own schema is heard.
        await store(database_url, 2)
        assert await asyncio.wait_for(announcers.get(), 30) == ANNOUNCER


@ON_POSTGRESQL
async def test_only_stores_asked_to_are_announced(database: Database) -> None:
    """Stores whose instance keeps a worker for them say nothing; nor does finishing an
    update (its worker looks again itself). Announcements arrive in commit order, so
    one heard after all of them is the last store's."""
    async with heard(database.url) as announcers:
        await store(database.url, 7, announce=False)
        async with database.session() as session:
            claimed = await claim_next_update(session=session)
            assert claimed is not None
            await mark_update_done(session=session, claimed=claimed, now=START)
        await store(database.url, 8)
        assert await asyncio.wait_for(announcers.get(), 30) == ANNOUNCER
        await silence(announcers)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_sqlite_has_nothing_to_hear(database_url: str) -> None:
    """One process: nothing is announced, and listening ends at once."""
    assert [announcer async for announcer in announcements(database_url, ANNOUNCED_TOPIC)] == []


@ON_POSTGRESQL
async def test_listening_ends_when_its_connection_is_lost(database: Database) -> None:
    """A listener whose connection the server ends (a restart, say) fails at once, so its
    owner listens again, instead of waiting on a dead socket."""
    listening = announcements(database.url, ANNOUNCED_TOPIC)
    assert await anext(listening) == ""
    heard = asyncio.ensure_future(anext(listening))
    async with database.session() as session:
        connection = await session.connection()
        channel = (await connection.execute(text(f"SELECT {channel_sql(ANNOUNCED_TOPIC)}"))).one()
        ended = await connection.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = :listen"),
            {"listen": f"LISTEN {channel[0]}"},
        )
        assert ended.scalars().all() == [True]
    with pytest.raises(OperationalError):
        await asyncio.wait_for(heard, 30)
