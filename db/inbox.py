"""The inbox: updates from Telegram, stored before they are acknowledged.

The receiver stores each update (its id is the key, so a redelivered one is ignored) and
only then lets Telegram forget it: polling moves the getUpdates offset past it, a webhook
answers 200. A worker takes the oldest waiting *head* (a chat's oldest pending update), runs
the handlers and marks the row done, all in one transaction: a crash before the commit
leaves the row pending and its effects undone; after it, both are there. So every update
takes effect exactly once, and one chat's updates one after the other, in order.

On PostgreSQL the claim locks the row (FOR UPDATE SKIP LOCKED): workers of several
instances never take the same row, and a chat's next update is no head while the one before
is pending, locked or not. The worker then holds the chat (``ChatHolder``: an advisory lock
named by the chat id) until its handlers return, past the commit that marks the row done,
so the chat's next update waits for the last reply of this one; scheduled work that
changes a chat's conversation takes the same lock (``lock_chats``). SQLite has no row
locks, and one process (db/session.py): its workers claim one at a time (the process's one
writer) and skip the chats the others hold (``ChatHolder.held_here``).

Whoever stores an update sees that some worker looks for it: one of its own, idle, woken
after the commit, or, when all of its own are busy, the idle workers of the other instances
(PostgreSQL): then the store announces it (db/announcements.py: NOTIFY, delivered at
commit, in the statement that stores it). A finished update is not announced: the worker
that finishes looks again itself. An announcement for every store woke an idle worker in
every instance, of which all but one claimed in vain.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Update,
    bindparam,
    case,
    delete,
    event,
    exists,
    func,
    or_,
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.orm import SessionTransaction, aliased
from sqlalchemy.pool import NullPool
from sqlmodel import Session, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select, SelectOfScalar

from db.announcements import ANNOUNCER, notify_sql
from db.models import InboxUpdate
from db.session import DATABASE, Database, ProcessLocks

# What the inbox's announcements are about (db/announcements.py).
ANNOUNCED_TOPIC = "inbox"


def _is_postgresql(session: AsyncSession) -> bool:
    assert session.bind is not None
    return session.bind.dialect.name == "postgresql"


@dataclass(frozen=True)
class ClaimedUpdate:
    update_id: int
    chat_id: int
    payload: str


async def _lock_chat(session: AsyncSession, chat_id: int) -> None:
    # The one-key (bigint) advisory locks: chat ids; the outbox's senders use two-key ones.
    await session.exec(select(func.pg_advisory_xact_lock(chat_id)))


class ChatHolders:
    """The workers' holds on chats: the chats this process holds (``Database.process_locks``),
    and on PostgreSQL connections of their own (not the pool's: each is kept for a worker's
    life) for the advisory locks that tell other instances."""

    def __init__(self, database: Database) -> None:
        self._engine: AsyncEngine | None = None
        if make_url(database.url).get_backend_name() == "postgresql":
            self._engine = create_async_engine(database.url, poolclass=NullPool)
        self._holders: list[ChatHolder] = []
        self._locks = database.process_locks

    def holder(self) -> ChatHolder:
        holder = ChatHolder(self._engine, self._locks)
        self._holders.append(holder)
        return holder

    async def close(self) -> None:
        for holder in self._holders:
            await holder.close()
        self._holders.clear()
        if self._engine is not None:
            await self._engine.dispose()


_ADVISORY_LOCK = select(func.pg_advisory_lock(bindparam("chat", type_=BigInteger)))
_ADVISORY_UNLOCK = select(func.pg_advisory_unlock(bindparam("chat", type_=BigInteger)))


class ChatHolder:
    """One worker's hold on the chat whose update it handles, from its claim until its
    handlers return (past the commits): noted for the process's other workers, whose claims
    skip the chat (``held_here``), and for its scheduled work (SQLite: ``lock_chats``), and
    on PostgreSQL an advisory lock on a connection of its own, for other instances; a crash
    drops it with the connection."""

    def __init__(self, engine: AsyncEngine | None, locks: ProcessLocks) -> None:
        self._engine = engine
        self._connection: AsyncConnection | None = None
        self._locks = locks

    @property
    def held_here(self) -> frozenset[int]:
        """The chats this process holds, or that its scheduled work waits for."""
        return frozenset(self._locks.held | self._locks.wanted)

    @asynccontextmanager
    async def holding(self, chat_id: int) -> AsyncIterator[None]:
        # Noted before anything is awaited, as the claim that skipped held chats still has
        # SQLite's one writer: a claim right after this one, or scheduled work locking the
        # chat (which takes the writer to look), must see it held.
        self._locks.held.add(chat_id)
        try:
            async with self._locking(chat_id):
                yield
        finally:
            self._locks.let_go({chat_id})

    @asynccontextmanager
    async def _locking(self, chat_id: int) -> AsyncIterator[None]:
        if self._engine is None:
            yield
            return
        if self._connection is None:
            # A session-level advisory lock needs no transaction: in autocommit, taking
            # and letting go are one round trip each, no COMMIT after them.
            opened = await self._engine.connect()
            self._connection = await opened.execution_options(isolation_level="AUTOCOMMIT")
        connection = self._connection
        await connection.execute(_ADVISORY_LOCK, {"chat": chat_id})
        try:
            yield
        finally:
            try:
                await connection.execute(_ADVISORY_UNLOCK, {"chat": chat_id})
            except Exception:
                # Closing the connection lets go of the lock as surely.
                await self.close()
                raise

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()


# The statements of every update are built once: building them again for each one (an
# aliased table, subqueries, CASE) and generating their cache keys cost more CPU than
# running them. Their values are bound parameters. They run on the session's connection
# (its transaction) as plain statements: they read and write columns, no entities, and
# the ORM's execution path cost as much again.

_STORE = (
    # Written out because the dialects' INSERT … ON CONFLICT constructs cannot be cached
    # by SQLAlchemy (compiled again for every update); SQLite and PostgreSQL both take it.
    # A row only when it was new: announced then (PostgreSQL), not for a redelivery.
    "INSERT INTO inbox (update_id, chat_id, payload, received_at, turn) "
    "VALUES (:update_id, :chat_id, :payload, :received_at, :update_id) "
    "ON CONFLICT (update_id) DO NOTHING RETURNING update_id"
)
_COLUMNS = InboxUpdate.__table__.c  # type: ignore[attr-defined]
_STORE_STATEMENT = text(_STORE).bindparams(
    bindparam("received_at", type_=_COLUMNS.received_at.type)
)
_STORE_ANNOUNCED = text(f"{_STORE}, {notify_sql(ANNOUNCED_TOPIC, ':announcer')}").bindparams(
    bindparam("received_at", type_=_COLUMNS.received_at.type)
)


async def store_update(
    *,
    session: AsyncSession,
    update_id: int,
    chat_id: int,
    payload: str,
    now: datetime,
    announcer: str | None = ANNOUNCER,
) -> bool:
    """Keep one received update; True when new, False for one stored before (redelivered).
    A new one is announced to other instances (PostgreSQL) in ``announcer``'s name, unless
    that is None."""
    values = {"update_id": update_id, "chat_id": chat_id, "payload": payload, "received_at": now}
    statement = _STORE_STATEMENT
    if announcer is not None and _is_postgresql(session):
        statement, values = _STORE_ANNOUNCED, values | {"announcer": announcer}
    connection = await session.connection()
    return (await connection.execute(statement, values)).first() is not None


def _claim_statement() -> Select[int, int, str]:
    """A head: pending, no earlier update of its chat pending, and not of a chat in
    ``skip_chats`` (a list: an empty one leaves none out)."""
    earlier = aliased(InboxUpdate)
    waits_behind = exists().where(
        col(earlier.chat_id) == col(InboxUpdate.chat_id),
        col(earlier.done_at).is_(None),
        col(earlier.update_id) < col(InboxUpdate.update_id),
    )
    return (
        select(col(InboxUpdate.update_id), col(InboxUpdate.chat_id), col(InboxUpdate.payload))
        .where(col(InboxUpdate.done_at).is_(None), ~waits_behind)
        .where(col(InboxUpdate.chat_id).not_in(bindparam("skip_chats", expanding=True)))
        .order_by(col(InboxUpdate.turn), col(InboxUpdate.update_id))
        .limit(1)
        .with_for_update(skip_locked=True, of=InboxUpdate)
    )


_CLAIM = _claim_statement()


async def claim_next_update(
    *, session: AsyncSession, skip_chats: Collection[int] = ()
) -> ClaimedUpdate | None:
    """The head whose turn is first, locked for this transaction (PostgreSQL: a head another
    transaction holds is skipped), not of ``skip_chats`` (those this process's workers hold:
    SQLite has no row locks); None when every chat is done or being handled."""
    connection = await session.connection()
    row = (await connection.execute(_CLAIM, {"skip_chats": sorted(skip_chats)})).first()
    if row is None:
        return None
    return ClaimedUpdate(*row)


def _mark_done_statement() -> Update:
    """Done (with its error) for the update named ``update_id``; its chat's next pending
    update, if one waits, gets its turn behind every head already waiting."""
    # Not named as columns: an UPDATE keeps those names for the values it sets.
    this = col(InboxUpdate.update_id) == bindparam("done_id", type_=BigInteger)
    next_of_chat = (
        select(func.min(InboxUpdate.update_id))
        .where(
            col(InboxUpdate.chat_id) == bindparam("done_chat", type_=BigInteger),
            col(InboxUpdate.done_at).is_(None),
            col(InboxUpdate.update_id) > bindparam("done_id", type_=BigInteger),
        )
        .scalar_subquery()
    )
    behind_everyone = select(func.max(InboxUpdate.update_id) + 1).scalar_subquery()
    # The values typed as their columns (AwareDateTime stores UTC).
    done_at = bindparam("done_when", type_=_COLUMNS.done_at.type)
    failed = bindparam("done_error", type_=_COLUMNS.error.type)
    return (
        update(InboxUpdate)
        .where(or_(this, col(InboxUpdate.update_id) == next_of_chat))
        .values(
            done_at=case((this, done_at), else_=col(InboxUpdate.done_at)),
            error=case((this, failed), else_=col(InboxUpdate.error)),
            turn=case((this, col(InboxUpdate.turn)), else_=behind_everyone),
        )
    )


_MARK_DONE = _mark_done_statement()


async def mark_update_done(
    *, session: AsyncSession, claimed: ClaimedUpdate, now: datetime, error: str | None = None
) -> bool:
    """Done (with the error if its handling failed); the chat's next update, if one waits,
    gets its turn behind every head already waiting. One statement changes both rows. True
    when a next update waits: then this is a new head, not announced: the worker that
    finishes looks again itself, and so is the one to take it (or another, whose own look
    was taken by this one)."""
    values: dict[str, object] = {
        "done_id": claimed.update_id,
        "done_chat": claimed.chat_id,
        "done_when": now,
        "done_error": error[:2000] if error is not None else None,
    }
    connection = await session.connection()
    return (await connection.execute(_MARK_DONE, values)).rowcount > 1


def _reclaim_statement() -> SelectOfScalar[int]:
    return (
        select(col(InboxUpdate.update_id))
        .where(
            col(InboxUpdate.update_id) == bindparam("update_id", type_=BigInteger),
            col(InboxUpdate.done_at).is_(None),
        )
        .with_for_update(skip_locked=True)
    )


_RECLAIM = _reclaim_statement()
_IS_DONE = select(col(InboxUpdate.done_at).is_not(None)).where(
    col(InboxUpdate.update_id) == bindparam("update_id", type_=BigInteger)
)
_NOTE_ERROR = (
    update(InboxUpdate)
    .where(col(InboxUpdate.update_id) == bindparam("failed_id", type_=BigInteger))
    .values(error=bindparam("failed_error", type_=_COLUMNS.error.type))
)


async def mark_update_failed(
    *, session: AsyncSession, claimed: ClaimedUpdate, now: datetime, error: str
) -> bool:
    """Done with its error, after the transaction that handled it was rolled back, while
    its worker still holds the chat. The rollback let go of the claim's row lock: a row
    still pending is locked again before it is marked (or its handling could begin again
    in between). False when a worker of another instance claimed it in that moment: it
    is handled again there (nothing of this attempt stayed). A row an earlier commit of the
    handling marked done only gets the error: the chat's next update is not touched, since
    another instance may have claimed it and be waiting for this chat."""
    connection = await session.connection()
    if (await connection.execute(_RECLAIM, {"update_id": claimed.update_id})).first() is not None:
        await mark_update_done(session=session, claimed=claimed, now=now, error=error)
        return True
    if not (await connection.execute(_IS_DONE, {"update_id": claimed.update_id})).scalar():
        return False
    values = {"failed_id": claimed.update_id, "failed_error": error[:2000]}
    await connection.execute(_NOTE_ERROR, values)
    return True


_ANNOUNCE = text(f"SELECT {notify_sql(ANNOUNCED_TOPIC, ':announcer')}")


async def announce_pending(*, session: AsyncSession, announcer: str) -> None:
    """Ask the other instances' idle workers to look (PostgreSQL), for heads this instance's
    workers would have taken had they not stopped."""
    if _is_postgresql(session):
        await (await session.connection()).execute(_ANNOUNCE, {"announcer": announcer})


async def lock_chats(*, session: AsyncSession, chat_ids: Iterable[int]) -> None:
    """Wait until no update of these chats is being handled, and keep them from starting
    until this transaction ends. Take them before any row lock and any write, as updates
    do: then nobody waits in a circle. On SQLite the chats this process holds: while it
    waits the transaction lets go of the one writer, which the updates under way need to
    finish (their handlers let it go between their statements, so it alone would not keep
    them from seeing this transaction's changes halfway)."""
    chats = set(chat_ids)
    if _is_postgresql(session):
        for chat_id in sorted(chats):
            await _lock_chat(session, chat_id)
        return
    database: Database = session.info[DATABASE]
    locks, writer = database.process_locks, database.one_writer
    assert writer is not None
    locks.wanted |= chats  # the chats' next updates are not claimed meanwhile
    try:
        while chats & locks.held:
            await writer.let_go_while(locks.freed())
    finally:
        locks.wanted -= chats
    locks.held |= chats
    session.info[_LOCKED_CHATS] = session.info.get(_LOCKED_CHATS, set()) | chats


# session.info: the chats lock_chats took in this process (SQLite), let go at the end.
_LOCKED_CHATS = "locked_chats"


@event.listens_for(Session, "after_transaction_end")
def _let_go_of_chats(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None and _LOCKED_CHATS in session.info:
        database: Database = session.info[DATABASE]
        # Claims skipped these chats' heads meanwhile: the workers look again.
        database.process_locks.let_go(session.info.pop(_LOCKED_CHATS), skipped_heads=True)


async def prune_done_updates(*, session: AsyncSession, before: datetime) -> int:
    """Forget updates done before ``before`` (their ids only guard against redelivery,
    which Telegram does not do once an update was acknowledged)."""
    result = await session.exec(
        delete(InboxUpdate).where(
            col(InboxUpdate.done_at).is_not(None), col(InboxUpdate.done_at) < before
        )
    )
    return int(result.rowcount)


async def count_pending_updates(*, session: AsyncSession) -> int:
    statement = select(func.count()).where(col(InboxUpdate.done_at).is_(None))
    return int((await session.exec(statement)).one())


async def oldest_pending_update(*, session: AsyncSession) -> datetime | None:
    """When the oldest update still waiting to be handled arrived (None: none waits)."""
    statement = select(func.min(InboxUpdate.received_at)).where(col(InboxUpdate.done_at).is_(None))
    return (await session.exec(statement)).one()
