"""Announcements between instances that share one PostgreSQL (LISTEN / NOTIFY).

A statement that stores work for other instances (an update in the inbox, a message in the
outbox) announces it with ``notify_sql``; it is delivered at commit, and not at all if the
transaction rolls back. ``announcements`` listens. SQLite has one process, and nothing to
announce.

A channel is named by its table and the schema the bot's tables live in (the URL's
search_path): NOTIFY reaches every session of the database, and another bot, or another
test run, in another schema of the same database is nobody to wake. The schema is hashed
into the name, which PostgreSQL allows at most 63 bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncGenerator, Callable
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

if TYPE_CHECKING:
    # Only PostgreSQL listens: a bot on SQLite need not load the driver.
    from psycopg.pq.abc import PGconn

logger = logging.getLogger(__name__)

# Listening failed (the database restarting, say): tried again after this.
LISTEN_RETRY_SECONDS = 5.0
# Names this process in what it announces: its own need no announcement of their own work
# (they are woken directly).
ANNOUNCER = secrets.token_hex(8)


def channel_sql(topic: str) -> str:
    """The channel's name, worked out by the server in the session's schema."""
    return f"'{topic}_' || left(md5(current_schema()), 16)"


def notify_sql(topic: str, announcer: str = f"'{ANNOUNCER}'") -> str:
    """A SQL expression announcing to ``topic`` (a constant name); ``announcer`` is the SQL
    naming who announces (this process, or a bound value)."""
    return f"pg_notify({channel_sql(topic)}, {announcer})"


async def _listening(engine: AsyncEngine, topic: str) -> AsyncConnection:
    connection = await engine.connect()
    try:
        listening = await connection.execution_options(isolation_level="AUTOCOMMIT")
        channel = (await listening.execute(text(f"SELECT {channel_sql(topic)}"))).scalar_one()
        driver = (await listening.get_raw_connection()).driver_connection
        assert driver is not None
        # The name is hex and the topic a constant: nothing to quote.
        await driver.execute(f"LISTEN {channel}")
    except BaseException:
        await connection.close()
        raise
    return listening


async def announcements(url: str, topic: str) -> AsyncGenerator[str, None]:
    """Yields "" once listening to ``topic`` has begun (anything stored before is there to
    look at), then the announcer of each announcement, until the connection fails; on
    SQLite, nothing."""
    if make_url(url).get_backend_name() != "postgresql":
        return
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        # Cancelled half-way, psycopg leaves the new connection to the garbage collector:
        # the opening finishes whatever happens, and a cancelled one is closed at once.
        opening = asyncio.ensure_future(_listening(engine, topic))
        try:
            connection = await asyncio.shield(opening)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await (await opening).close()
            raise
        try:
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver is not None
            yield ""
            async for announcer in _heard(driver.pgconn):
                yield announcer
        finally:
            await connection.close()
    finally:
        await engine.dispose()


async def _heard(pgconn: PGconn) -> AsyncGenerator[str, None]:
    """The payloads of notifications as they arrive, the event loop watching the socket:
    psycopg's own ``notifies()`` wakes ten times a second to look (CPU while idle)."""
    loop = asyncio.get_running_loop()
    readable = asyncio.Event()
    loop.add_reader(pgconn.socket, readable.set)
    try:
        while True:
            await readable.wait()
            readable.clear()
            pgconn.consume_input()  # raises once the connection is gone
            while (notification := pgconn.notifies()) is not None:
                yield notification.extra.decode()
    finally:
        loop.remove_reader(pgconn.socket)


class Listener:
    """Calls ``wake`` for each announcement to ``topic`` not made by ``own``, and once when
    listening begins (what was stored while deaf), for as long as ``run`` runs; listens
    again after a failure. ``hearing``: whether announcements are heard now (on SQLite
    always: there is nobody else to hear), for the callers' safety looks."""

    def __init__(self, url: str, topic: str, own: str, wake: Callable[[], None]) -> None:
        self._url = url
        self._topic = topic
        self._own = own
        self._wake = wake
        self.hearing = make_url(url).get_backend_name() != "postgresql"

    async def run(self) -> None:
        if self.hearing:
            return
        while True:
            try:
                async for announcer in announcements(self._url, self._topic):
                    self.hearing = True
                    if announcer != self._own:
                        self._wake()
            except Exception:
                logger.warning(
                    "could not listen for announcements to %s; looking more often meanwhile",
                    self._topic,
                    exc_info=True,
                )
            finally:
                self.hearing = False
            await asyncio.sleep(LISTEN_RETRY_SECONDS)
