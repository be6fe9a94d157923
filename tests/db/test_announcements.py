"""Announcements reach the instances of the same tables only (PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from db.announcements import ANNOUNCER, announcements
from db.inbox import ANNOUNCED_TOPIC, store_update
from db.migrate import scratch_postgres_schema
from db.session import Database
from tests.conftest import POSTGRES_DSN, SHANGHAI

START = datetime(2026, 11, 25, 9, 0, tzinfo=SHANGHAI)
# Long enough for a NOTIFY on this machine to arrive many times over.
SILENCE_SECONDS = 1.0


async def store(url: str, update_id: int) -> None:
    database = Database(url)
    try:
        async with database.session() as session:
            await store_update(
                session=session, update_id=update_id, chat_id=5, payload="{}", now=START
            )
    finally:
        await database.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_another_schemas_stores_are_not_heard(database_url: str) -> None:
    """Another bot (or test run) in another schema of the same database wakes nobody here."""
    heard: asyncio.Queue[str] = asyncio.Queue()

    async def listen() -> None:
        async for announcer in announcements(database_url, ANNOUNCED_TOPIC):
            await heard.put(announcer)

    listener = asyncio.create_task(listen())
    try:
        assert await asyncio.wait_for(heard.get(), 30) == ""  # listening
        with scratch_postgres_schema(POSTGRES_DSN, "test") as elsewhere:
            await store(elsewhere, 1)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(heard.get(), SILENCE_SECONDS)
        # Not deaf: a store in its own schema is heard.
        await store(database_url, 2)
        assert await asyncio.wait_for(heard.get(), 30) == ANNOUNCER
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
