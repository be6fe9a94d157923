"""The one door to the database: an engine and a unit of work per update or job (STYLE 6)."""

from __future__ import annotations

import asyncio
import fcntl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, TextIO

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

# Set in session.info by db.outbox.enqueue_message; kept here to avoid an import cycle.
OUTBOX_WRITTEN = "outbox_written"
RECYCLE_SECONDS = 1800


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # Readers do not wait for the writer, and a commit does not wait for the disk (a power
    # cut may lose the last commits, never corrupt the file).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class _OneWriter:
    """SQLite takes one writer at a time, and a transaction that read before another one
    wrote works on what it read: in one process, one session at a time. The task holding
    it may open another session meanwhile (a use case inside a job's session)."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._holder: asyncio.Task[Any] | None = None

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        task = asyncio.current_task()
        if task is not None and self._holder is task:
            yield
            return
        async with self._lock:
            self._holder = task
            try:
                yield
            finally:
                self._holder = None


class SecondInstanceError(RuntimeError):
    """Another bot process already uses this SQLite database."""


# The transaction of the update being handled (bot/app/inbox.py): every session opened while
# it runs, by the access gate, the use cases or tasks they start, joins it, so the update's
# effects and its inbox row are committed together or not at all.
_joined: ContextVar[tuple[Database, AsyncSession] | None] = ContextVar(
    "joined_session", default=None
)


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        # No ping before each checkout (a round trip per session); connections are renewed
        # every RECYCLE_SECONDS, before servers or firewalls drop idle ones, and a connection
        # found dead invalidates the pool, so the next session connects afresh.
        self.engine: AsyncEngine = create_async_engine(url, pool_recycle=RECYCLE_SECONDS)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _configure_sqlite)
        self._one_writer = _OneWriter()
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
        """One unit of work: committed when the block ends, rolled back if it raises.
        Inside ``one_transaction`` it is that transaction, committed when that ends."""
        joined = _joined.get()
        if joined is not None and joined[0] is self:
            yield joined[1]
            return
        async with self._exclusive(), self._sessions() as session:
            async with session.begin():
                yield session
            if session.info.pop(OUTBOX_WRITTEN, False):
                for listener in self._outbox_listeners:
                    listener()

    @asynccontextmanager
    async def one_transaction(self) -> AsyncIterator[AsyncSession]:
        """A session that every ``session()`` opened inside the block joins."""
        async with self.session() as session:
            token = _joined.set((self, session))
            try:
                yield session
            finally:
                _joined.reset(token)

    @asynccontextmanager
    async def _exclusive(self) -> AsyncIterator[None]:
        if not self.is_sqlite:
            yield
            return
        async with self._one_writer.held():
            yield

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
