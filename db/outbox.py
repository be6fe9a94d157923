"""The outbox: messages to send, written with the change that causes them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Dialect, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import OutboxMessage
from db.session import OUTBOX_WRITTEN

Buttons = Sequence[Sequence[tuple[str, str]]]


def _insert_ignoring_duplicates(dialect: Dialect) -> postgresql.Insert | sqlite.Insert:
    insert = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
    return insert(OutboxMessage)


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
) -> bool:
    """Queue one message; a key already queued is left alone. True when newly queued."""
    values = {
        "key": key,
        "chat_id": chat_id,
        "text": text,
        "buttons": json.dumps([[list(b) for b in row] for row in buttons]) if buttons else None,
        "photo": photo,
        "document": document,
        "document_name": document_name,
        "created_at": now,
        "attempts": 0,
    }
    statement = (
        _insert_ignoring_duplicates(session.bind.dialect)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    result = await session.exec(statement)
    session.info[OUTBOX_WRITTEN] = True
    return bool(result.rowcount)


def decode_buttons(message: OutboxMessage) -> list[list[tuple[str, str]]]:
    rows: list[list[list[str]]] = json.loads(message.buttons) if message.buttons else []
    return [[(text, data) for text, data in row] for row in rows]


async def claim_due_messages(
    *, session: AsyncSession, now: datetime, lease: timedelta, limit: int
) -> list[OutboxMessage]:
    """Lease unsent messages to this instance; another instance skips leased rows."""
    statement = (
        select(OutboxMessage)
        .where(col(OutboxMessage.sent_at).is_(None), col(OutboxMessage.failed_at).is_(None))
        .where(
            or_(
                col(OutboxMessage.claimed_until).is_(None),
                col(OutboxMessage.claimed_until) < now,
            )
        )
        .order_by(col(OutboxMessage.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    messages = list((await session.exec(statement)).all())
    for message in messages:
        message.claimed_until = now + lease
        session.add(message)
    return messages


async def mark_sent(
    *, session: AsyncSession, message_id: int, now: datetime, telegram_message_id: int | None
) -> None:
    await session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id)
        .values(sent_at=now, telegram_message_id=telegram_message_id, claimed_until=None)
    )


async def mark_attempt_failed(
    *,
    session: AsyncSession,
    message_id: int,
    error: str,
    give_up_at: datetime | None,
    lease_until: datetime | None,
) -> None:
    """Record a failed attempt; with give_up_at the message is never tried again. The lease
    is kept while this instance retries, so another instance does not take it meanwhile."""
    await session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id)
        .values(
            attempts=OutboxMessage.attempts + 1,
            last_error=error[:1000],
            failed_at=give_up_at,
            claimed_until=lease_until,
        )
    )
