"""The one door to the database: an engine and a unit of work per update or job (STYLE 6)."""

from __future__ import annotations

import fcntl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TextIO

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

# Set in session.info by db.outbox.enqueue_message; kept here to avoid an import cycle.
OUTBOX_WRITTEN = "outbox_written"


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class SecondInstanceError(RuntimeError):
    """Another bot process already uses this SQLite database."""


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(url, pool_pre_ping=True)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _enable_sqlite_foreign_keys)
        self._sessions = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False
        )
        self._outbox_listeners: list[Callable[[], None]] = []
        self._lock_file: TextIO | None = None

    def on_outbox_written(self, listener: Callable[[], None]) -> None:
        """Call listener after every commit that queued outgoing messages (wakes the sender)."""
        self._outbox_listeners.append(listener)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: committed when the block ends, rolled back if it raises."""
        async with self._sessions() as session:
            async with session.begin():
                yield session
            if session.info.pop(OUTBOX_WRITTEN, False):
                for listener in self._outbox_listeners:
                    listener()

    def lock_for_this_instance(self) -> None:
        """On SQLite, make sure this is the only bot process on the file: SQLite cannot
        claim rows (no SKIP LOCKED), so a second instance would send alerts twice.
        PostgreSQL needs no lock: instances claim rows."""
        if not self.is_sqlite or self._lock_file is not None:
            return
        database = self.engine.url.database
        if not database or database == ":memory:":
            return
        lock = open(f"{database}.lock", "w")  # noqa: SIM115 (held open for the process's life)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            lock.close()
            raise SecondInstanceError(database) from error
        self._lock_file = lock

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()
        if self._lock_file is not None:
            self._lock_file.close()  # closing releases the flock
            self._lock_file = None
