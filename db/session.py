"""The one door to the database: an engine and a unit of work per update or job (STYLE 6)."""

from __future__ import annotations

import asyncio
import fcntl
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from functools import partial
from typing import Any, TextIO, TypeVar

from sqlalchemy import (
    Connection,
    CursorResult,
    Engine,
    Executable,
    Row,
    Select,
    create_engine,
    event,
    make_url,
    text,
)
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import ORMExecuteState
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from db.sqlite_driver import OneTripDBAPI

# Set in session.info by db.outbox.enqueue_message; kept here to avoid an import cycle.
OUTBOX_WRITTEN = "outbox_written"
# In every session's info: its Database (db.inbox.lock_chats needs what the process holds).
DATABASE = "database"
RECYCLE_SECONDS = 1800
# The blocking drivers of Database.blocking_read, by the async driver of the bot's URL.
_BLOCKING_DRIVERS = {
    "sqlite+aiosqlite": "sqlite+pysqlite",
    "postgresql+psycopg": "postgresql+psycopg",
}
T = TypeVar("T")


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # Readers do not wait for the writer, and a commit does not wait for the disk (a power
    # cut may lose the last commits, never corrupt the file).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# Rows per batch of read_in_batches: a few milliseconds of row building on a loaded machine.
READ_BATCH = 2000


async def read_in_batches(
    session: AsyncSession, statement: Select[Any], batch: int = READ_BATCH
) -> AsyncIterator[Sequence[Row[Any]]]:
    """A large read (plain columns, not ORM objects) in batches, handing the event loop
    back between them: building all the rows at once would hold it for as long as that
    takes (a province's 7,600 transfer points as ORM objects: a quarter of a second)."""
    result = await session.stream(statement)
    async for rows in result.partitions(batch):
        yield rows
        await asyncio.sleep(0)


async def begin_at_once(session: AsyncSession) -> None:
    """Begin the session's transaction now, for savepoints (``session.begin_nested()``)
    that are to be part of it. SQLite's driver begins one only before the first write; a
    SAVEPOINT before that is a transaction of its own, which its release commits: what the
    caller's unit of work then rolls back stays stored. PostgreSQL began at the first
    statement."""
    connection = await session.connection()
    if connection.dialect.name != "sqlite":
        return
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    if not driver.in_transaction:
        await connection.exec_driver_sql("BEGIN")


class _OneWriter:
    """SQLite takes one writer at a time, and a transaction that read before another one
    wrote works on what it read: in one process, one session at a time. The task holding
    it may open another session meanwhile (a use case inside a job's session)."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._holder: asyncio.Task[Any] | None = None

    async def acquire(self) -> None:
        """For a shared transaction, which releases it between its transactions."""
        await self._lock.acquire()
        self._holder = asyncio.current_task()

    def release(self) -> None:
        self._holder = None
        self._lock.release()

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

    async def let_go_while(self, waiting: Awaitable[None]) -> None:
        """The task holding the writer, which has written nothing yet, lets others write
        while it waits for ``waiting`` (what it waits for needs the writer to finish)."""
        assert self._holder is asyncio.current_task()
        self.release()
        try:
            await waiting
        finally:
            await self.acquire()


class ProcessLocks:
    """Keys (chat ids) held by this process: SQLite's stand-in for PostgreSQL's advisory
    locks (one process per file, Database.lock_for_this_instance), kept by db/inbox.py.
    ``held`` are held, ``wanted`` awaited by a transaction: claims skip both."""

    def __init__(self) -> None:
        self.held: set[int] = set()
        self.wanted: set[int] = set()
        self._waiting: list[asyncio.Future[None]] = []
        self._skipped_heads_listeners: list[Callable[[], None]] = []

    def on_skipped_heads_freed(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` when keys are let go whose chats' heads claims may have
        skipped unbeknown to the holder (scheduled work's); returns what stops it."""
        self._skipped_heads_listeners.append(listener)
        return partial(self._skipped_heads_listeners.remove, listener)

    def freed(self) -> asyncio.Future[None]:
        """Done when some of the held keys are let go."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        return waiter

    def let_go(self, keys: set[int], *, skipped_heads: bool = False) -> None:
        self.held -= keys
        waiting, self._waiting = self._waiting, []
        for waiter in waiting:
            if not waiter.done():
                waiter.set_result(None)
        if skipped_heads:
            for listener in self._skipped_heads_listeners:
                listener()


# Set in session.info when the session wrote: flushed, or ran a statement other than a select
# (SharedTransaction commits a block that did). Listened for on the class, once: listening
# on each session cost more than the update's statements' own dispatch.
_WROTE = "wrote"


class _Session(Session):
    """The sessions of Database.session and shared_transaction."""


@event.listens_for(_Session, "after_flush")
def _flushed(session: Session, _context: Any) -> None:
    session.info[_WROTE] = True


@event.listens_for(_Session, "do_orm_execute")
def _executed(state: ORMExecuteState) -> None:
    if not state.is_select:
        state.session.info[_WROTE] = True


async def run_prebuilt(
    session: AsyncSession, statement: Executable, values: Mapping[str, Any]
) -> CursorResult[Any]:
    """A statement built once (at import) on the session's connection, in its transaction:
    for statements of columns, no entities. The ORM's execution path (and a flush's unit of
    work for a plain insert) cost more CPU than the statement's own execution. A write is
    noted for SharedTransaction's commit, as the ORM's are by the listeners above."""
    connection = await session.connection()
    result = await connection.execute(statement, values)
    if not statement.is_select:
        session.info[_WROTE] = True
    return result


class SecondInstanceError(RuntimeError):
    """Another bot process already uses this SQLite database."""


class SharedTransaction:
    """The session of the update being handled (bot/app/inbox.py). Every ``session()``
    opened while it runs (by the access gate, the use cases, tasks they start) is this one,
    and a block of them that wrote something commits when it ends, as on its own: the use
    case's changes are stored before its reply goes out. The first commit first runs the
    hook given to ``before_first_commit`` (marking the update done), so the update's first
    changes and its being done are one transaction."""

    def __init__(self, database: Database, session: AsyncSession) -> None:
        self.database = database
        self.session = session
        # SQLite: the process's one writer is held while a transaction of this one is open
        # or a block of it runs, not while the handlers wait for Telegram in between.
        self._writer: _OneWriter | None = database.one_writer
        self._holding = False
        self._blocks = 0
        self._hook: Callable[[], Awaitable[object]] | None = None

    @property
    def has_changes(self) -> bool:
        session = self.session
        return bool(session.info.get(_WROTE) or session.new or session.dirty or session.deleted)

    def before_first_commit(self, hook: Callable[[], Awaitable[object]]) -> None:
        self._hook = hook

    @property
    def first_commit_pending(self) -> bool:
        """The hook of ``before_first_commit`` has not run in a commit yet."""
        return self._hook is not None

    async def commit(self) -> None:
        await self.take_writer()
        if self._hook is not None:
            hook, self._hook = self._hook, None
            await hook()
        await self.session.commit()
        self.session.info.pop(_WROTE, None)
        self.database.committed(self.session)
        self.let_writer_go()

    async def rollback(self) -> None:
        """Undo what is not committed. The hook of ``before_first_commit`` goes too: the
        caller settles the update itself (bot/app/inbox.py, a failed handling)."""
        self._hook = None
        await self.session.rollback()
        self.session.info.pop(_WROTE, None)

    async def take_writer(self) -> None:
        if self._writer is not None and not self._holding:
            await self._writer.acquire()
            self._holding = True

    def let_writer_go(self) -> None:
        if self._writer is not None and self._holding and self._blocks == 0:
            self._holding = False
            self._writer.release()

    @asynccontextmanager
    async def block(self) -> AsyncIterator[AsyncSession]:
        """One ``session()`` block inside: commits when it ends if it changed anything."""
        await self.take_writer()
        self._blocks += 1
        try:
            yield self.session
        finally:
            self._blocks -= 1
        if self.has_changes:
            await self.commit()
        else:
            # Nothing to commit: on SQLite the reads took no lock (the driver begins a
            # transaction at the first write), so the writer may go until the next block.
            self.let_writer_go()


_shared: ContextVar[SharedTransaction | None] = ContextVar("shared_transaction", default=None)


def _driver_options(url: str) -> dict[str, Any]:
    """On aiosqlite, one trip to the driver's thread per statement (db/sqlite_driver.py)."""
    if make_url(url).drivername == "sqlite+aiosqlite":
        return {"module": OneTripDBAPI()}
    return {}


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        # No ping before each checkout (a round trip per session); connections are renewed
        # every RECYCLE_SECONDS, before servers or firewalls drop idle ones, and a connection
        # found dead invalidates the pool, so the next session connects afresh.
        self.engine: AsyncEngine = create_async_engine(
            url, pool_recycle=RECYCLE_SECONDS, **_driver_options(url)
        )
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _configure_sqlite)
        self.one_writer = _OneWriter() if self.is_sqlite else None
        self.process_locks = ProcessLocks()
        self._sessions = async_sessionmaker(
            self.engine,
            class_=AsyncSession,
            sync_session_class=_Session,
            expire_on_commit=False,
            info={DATABASE: self},
        )
        self._outbox_listeners: list[Callable[[], None]] = []
        self._lock_file: TextIO | None = None
        self._blocking_engine: Engine | None = None
        self._blocking_engine_made = threading.Lock()

    def on_outbox_written(self, listener: Callable[[], None]) -> None:
        """Call listener after every commit that queued outgoing messages (wakes the sender)."""
        self._outbox_listeners.append(listener)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: committed when the block ends, rolled back if it raises.
        Inside ``shared_transaction``, its session (see SharedTransaction)."""
        shared = _shared.get()
        if shared is not None and shared.database is self:
            async with shared.block() as session:
                yield session
            return
        async with self._exclusive(), self._sessions() as session:
            async with session.begin():
                yield session
            self.committed(session)

    def blocking_read(self, read: Callable[[Connection], T]) -> T:
        """``read`` on a blocking connection of its own, in the calling thread: a worker
        thread's, never the event loop's. For reads of hundreds of thousands of rows: an async
        driver hands each row to the event loop to build (SQLAlchemy's result processing runs
        there), which holds it as long as that takes, and on SQLite a session holds the
        process's one writer meanwhile. The connection sees what is committed (SQLite's WAL
        lets it read while another writes) and goes back to its pool when ``read`` returns."""
        with self._blocking_engine_made:
            if self._blocking_engine is None:
                self._blocking_engine = self._make_blocking_engine()
            engine = self._blocking_engine
        with engine.connect() as connection:
            return read(connection)

    def _make_blocking_engine(self) -> Engine:
        url = self.engine.url
        engine = create_engine(
            url.set(drivername=_BLOCKING_DRIVERS[url.drivername]), pool_recycle=RECYCLE_SECONDS
        )
        if self.is_sqlite:
            event.listen(engine, "connect", _configure_sqlite)
        return engine

    def committed(self, session: AsyncSession) -> None:
        if session.info.pop(OUTBOX_WRITTEN, False):
            for listener in self._outbox_listeners:
                listener()

    @asynccontextmanager
    async def shared_transaction(self) -> AsyncIterator[SharedTransaction]:
        """A session that every ``session()`` opened inside the block joins; committed at
        the end (whatever is left), rolled back if the block raises."""
        async with self._sessions() as session:
            shared = SharedTransaction(self, session)
            token = _shared.set(shared)
            try:
                await shared.take_writer()  # for the worker's claim
                yield shared
                await shared.commit()
            except BaseException:
                await session.rollback()
                raise
            finally:
                _shared.reset(token)
                shared.let_writer_go()

    @asynccontextmanager
    async def _exclusive(self) -> AsyncIterator[None]:
        if not self.is_sqlite:
            yield
            return
        assert self.one_writer is not None
        async with self.one_writer.held():
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
        if self._blocking_engine is not None:
            await asyncio.to_thread(self._blocking_engine.dispose)
            self._blocking_engine = None
        if self._lock_file is not None:
            self._lock_file.close()  # closing releases the flock
            self._lock_file = None
