"""The outbox: messages to send, written with the change that causes them.

A sender instance claims rows by writing its id into ``claimed_by``; the claim lasts as long
as the instance lives. On PostgreSQL each instance holds a session advisory lock named by its
id (db/liveness.py), so another instance can tell a live claim from one left by a crash and
takes over the latter at once. On SQLite only one bot process runs
(``Database.lock_for_this_instance``), so every other id is a dead one.

A chat's rows go to one sender at a time (PostgreSQL): no sender claims rows of a chat for
which another live sender holds claims. So a chat's messages keep their order and its pace
(about one a second, which each instance's rate limiter keeps for its own sends), however
many instances send; claims are taken one instance at a time (a transaction-scoped
advisory lock) so that two claiming at once cannot both take the same chat.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Dialect,
    TextClause,
    bindparam,
    case,
    literal_column,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import and_, col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.announcements import notify_sql
from db.liveness import alive_sql, hold_lock, new_id, release_lock
from db.models import OutboxMessage
from db.session import OUTBOX_WRITTEN, run_prebuilt

Buttons = Sequence[Sequence[tuple[str, str]]]


class GiveUp(StrEnum):
    """Why the sender gave a row up (the row keeps Telegram's own words in ``last_error``)."""

    REFUSED = "refused"  # 400: Telegram will never take it as it is
    RETRIES_SPENT = "retries_spent"  # 5xx, timeouts, dropped connections, every attempt
    BLOCKED = "blocked"  # 403 from a chat the bot knows nobody by


@dataclass(frozen=True)
class Undelivered:
    reason: GiveUp
    detail: str  # Telegram's description, or the last attempt's error
    attempts: int = 1  # more than one only when the retries were spent


# What a queued message announces to other instances' senders (db/announcements.py).
ANNOUNCED_TOPIC = "outbox"
# Returned for each row inserted: the announcement on PostgreSQL (a row per message; those
# of one transaction are delivered once), just a row on SQLite.
_NEW_ROW: dict[str, ColumnElement[object]] = {
    "postgresql": literal_column(notify_sql(ANNOUNCED_TOPIC)),
    "sqlite": literal_column("1"),
}

# First key of the two-key advisory locks that mark live sender instances (PostgreSQL).
SENDER_LOCK_CLASS = 0x6F62  # "ob"
_CLAIMED_BY_A_GONE_SENDER = text("NOT " + alive_sql(SENDER_LOCK_CLASS, "outbox.claimed_by"))
# No other live sender is delivering rows of the row's chat.
_CHAT_FREE = (
    "NOT EXISTS (SELECT 1 FROM outbox AS held WHERE held.chat_id = outbox.chat_id "
    "AND held.sent_at IS NULL AND held.failed_at IS NULL "
    "AND held.claimed_by IS NOT NULL AND held.claimed_by <> :sender AND "
    + alive_sql(SENDER_LOCK_CLASS, "held.claimed_by")
    + ")"
)
# Its second key is no sender's id (those are positive).
_CLAIMING = text(f"SELECT pg_advisory_xact_lock({SENDER_LOCK_CLASS}, 0)")


def _insert_ignoring_duplicates(dialect: Dialect) -> postgresql.Insert | sqlite.Insert:
    insert = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
    return insert(OutboxMessage)


def _values(
    key: str,
    chat_id: int,
    text: str,
    now: datetime,
    buttons: Buttons | None = None,
    photo: bytes | None = None,
    document: bytes | None = None,
    document_name: str | None = None,
    photo_file_ids: Sequence[str] | None = None,
) -> dict[str, Any]:
    return {
        "key": key,
        "chat_id": chat_id,
        "text": text,
        "buttons": json.dumps([[list(b) for b in row] for row in buttons]) if buttons else None,
        "photo": photo,
        "document": document,
        "document_name": document_name,
        "photo_file_ids": json.dumps(list(photo_file_ids)) if photo_file_ids else None,
        "created_at": now,
        "attempts": 0,
    }


def _enqueue_statement(dialect: str) -> TextClause:
    """One message queued, written out and built once: the dialects' INSERT … ON CONFLICT
    constructs cannot be cached by SQLAlchemy (compiled again for every message, see
    db/inbox.py). Typed as the columns: times stored as UTC, bytes as bytes."""
    names = list(_values("", 0, "", datetime.min))
    columns = OutboxMessage.__table__.c  # type: ignore[attr-defined]
    sql = (
        f"INSERT INTO outbox ({', '.join(names)}) "
        f"VALUES ({', '.join(f':{name}' for name in names)}) "
        f"ON CONFLICT (key) DO NOTHING RETURNING {_NEW_ROW[dialect]}"
    )
    return text(sql).bindparams(*(bindparam(name, type_=columns[name].type) for name in names))


_ENQUEUE = {dialect: _enqueue_statement(dialect) for dialect in _NEW_ROW}


async def enqueue_message(
    *,
    session: AsyncSession,
    key: str,
    chat_id: int,
    text: str,
    now: datetime,
    buttons: Buttons | None = None,
    photo: bytes | None = None,
    document: bytes | None = None,
    document_name: str | None = None,
    photo_file_ids: Sequence[str] | None = None,
) -> bool:
    """Queue one message; a key already queued is left alone. True when newly queued (then
    announced to other instances on PostgreSQL). ``photo_file_ids``: photos Telegram
    already has, sent as one photo or one album (2–10) with ``text`` as the caption."""
    values = _values(
        key, chat_id, text, now, buttons, photo, document, document_name, photo_file_ids
    )
    assert session.bind is not None
    statement = _ENQUEUE[session.bind.dialect.name]
    result = await run_prebuilt(session, statement, values)
    session.info[OUTBOX_WRITTEN] = True
    return result.first() is not None


@dataclass(frozen=True)
class TextMessage:
    key: str
    chat_id: int
    text: str
    buttons: Buttons | None = None


# Messages per statement of enqueue_texts: each batch's parameters are processed on the
# event loop, a few milliseconds' worth.
ENQUEUE_BATCH = 500


async def enqueue_texts(
    *, session: AsyncSession, messages: Sequence[TextMessage], now: datetime
) -> set[str]:
    """Queue many text messages (a morning's pushes), a batch per statement instead of a
    statement each; keys already queued are left alone. The keys newly queued (announced
    as enqueue_message's are)."""
    dialect = session.bind.dialect
    statement = (
        _insert_ignoring_duplicates(dialect)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(col(OutboxMessage.key), _NEW_ROW[dialect.name])
    )
    rows = [_values(m.key, m.chat_id, m.text, now, m.buttons) for m in messages]
    queued: set[str] = set()
    for start in range(0, len(rows), ENQUEUE_BATCH):
        result = await session.exec(statement, params=rows[start : start + ENQUEUE_BATCH])
        queued.update(key for key, _ in result)
    if rows:
        session.info[OUTBOX_WRITTEN] = True
    return queued


def decode_photo_file_ids(message: OutboxMessage) -> list[str]:
    ids: list[str] = json.loads(message.photo_file_ids) if message.photo_file_ids else []
    return ids


def decode_buttons(message: OutboxMessage) -> list[list[tuple[str, str]]]:
    rows: list[list[list[str]]] = json.loads(message.buttons) if message.buttons else []
    return [[(text, data) for text, data in row] for row in rows]


def new_sender_id() -> int:
    """A random id for one sender instance."""
    return new_id()


async def lock_sender_id(engine: AsyncEngine, sender_id: int) -> AsyncConnection | None:
    """On PostgreSQL, hold the advisory lock that says this sender is alive, on a connection
    of its own kept open for the sender's life. None on SQLite (nothing to hold)."""
    if engine.dialect.name != "postgresql":
        return None
    return await hold_lock(engine, SENDER_LOCK_CLASS, sender_id)


async def unlock_sender_id(connection: AsyncConnection, sender_id: int) -> None:
    await release_lock(connection, SENDER_LOCK_CLASS, sender_id)


def _claimable(dialect: Dialect, sender_id: int) -> ColumnElement[bool]:
    """Unclaimed, or claimed by a sender that is gone (never by this one: it has them); on
    PostgreSQL, of a chat no other live sender is delivering to."""
    claimed_by = col(OutboxMessage.claimed_by)
    if dialect.name == "postgresql":
        chat_free = text(_CHAT_FREE).bindparams(sender=sender_id)
        return and_(or_(claimed_by.is_(None), _CLAIMED_BY_A_GONE_SENDER), chat_free)
    return or_(claimed_by.is_(None), claimed_by != sender_id)


async def claim_due_messages(
    *, session: AsyncSession, sender_id: int, limit: int
) -> list[OutboxMessage]:
    """The oldest unsent messages nobody alive has claimed, now claimed by this sender.
    On PostgreSQL instances claim one after the other, and never rows of a chat another
    live sender is delivering to."""
    assert session.bind is not None
    if session.bind.dialect.name == "postgresql":
        # Held to the commit, which makes these claims seen by the next one to claim.
        await (await session.connection()).execute(_CLAIMING)
    statement = (
        select(OutboxMessage)
        .where(col(OutboxMessage.sent_at).is_(None), col(OutboxMessage.failed_at).is_(None))
        .where(_claimable(session.bind.dialect, sender_id))
        .order_by(col(OutboxMessage.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    messages = list((await session.exec(statement)).all())
    if messages:
        await session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_([m.id for m in messages]))
            .values(claimed_by=sender_id)
        )
    return messages


async def mark_sent(
    *, session: AsyncSession, telegram_message_ids: Mapping[int, int], now: datetime
) -> None:
    """Rows Telegram accepted (outbox id → Telegram's message id), in one statement."""
    if not telegram_message_ids:
        return
    await session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(list(telegram_message_ids)))
        .values(
            sent_at=now,
            telegram_message_id=case(telegram_message_ids, value=col(OutboxMessage.id)),
            claimed_by=None,
        )
    )


async def mark_attempt_failed(
    *,
    session: AsyncSession,
    message_id: int,
    error: str,
    give_up_at: datetime | None,
    recorded: bool = False,
) -> int:
    """Record a failed attempt and return how many there were; with give_up_at the message
    is never tried again (``recorded``: that attempt was counted already, only the giving up
    is new). The claim stays while this sender retries."""
    values: dict[str, object] = {
        "attempts": OutboxMessage.attempts + (0 if recorded else 1),
        "last_error": error[:1000],
        "failed_at": give_up_at,
    }
    if give_up_at is not None:
        values["claimed_by"] = None
    result = await session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id)
        .values(**values)
        .returning(col(OutboxMessage.attempts))
    )
    return int(result.scalar_one())


async def release_claims(*, session: AsyncSession, sender_id: int) -> int:
    """A stopping sender hands back what it has not sent, for whoever runs next."""
    result = await session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.claimed_by) == sender_id)
        .values(claimed_by=None)
    )
    return int(result.rowcount)
