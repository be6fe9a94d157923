"""Queueing a composed message: it goes into the outbox as the Telegram messages it needs.

Every use case queues through here, never through db.outbox directly (a test checks), so no
message is refused as too long. Each part is its own outbox row, in order: the sender sends a
chat's rows one after another, and a crash between two parts sends only the rest again.
The first part keeps the message's key; the others are ``<key>~2``, ``<key>~3`` …
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.loop import handing_back
from bot.views.splitting import MAX_CAPTION, split_message
from db import outbox
from db.outbox import Buttons, TextMessage

PART_KEY_SEPARATOR = "~"


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
    """Queue one message (in as many parts as it takes); a key already queued is left
    alone. True when newly queued."""
    with_file = photo is not None or document is not None or bool(photo_file_ids)
    parts = split_message(text, buttons or (), first_limit=MAX_CAPTION if with_file else None)
    queued = False
    for number, part in enumerate(parts, start=1):
        first = number == 1
        newly = await outbox.enqueue_message(
            session=session,
            key=_part_key(key, number),
            chat_id=chat_id,
            text=part.text,
            buttons=part.buttons or None,
            photo=photo if first else None,
            document=document if first else None,
            document_name=document_name if first else None,
            photo_file_ids=photo_file_ids if first else None,
            now=now,
        )
        if first and not newly:
            return False
        queued = queued or newly
    return queued


async def enqueue_messages(
    *, session: AsyncSession, messages: Sequence[TextMessage], now: datetime
) -> int:
    """Queue many text messages (in as many parts as each takes) in a few statements: a
    morning's 2,000 pushes one statement at a time held the event loop (and on SQLite the
    process's one writer) for seconds. Keys already queued are left alone; how many
    messages were newly queued."""
    parts: list[TextMessage] = []
    async for message in handing_back(messages):
        parts.extend(
            TextMessage(
                _part_key(message.key, number), message.chat_id, part.text, part.buttons or None
            )
            for number, part in enumerate(split_message(message.text, message.buttons or ()), 1)
        )
    queued = await outbox.enqueue_texts(session=session, messages=parts, now=now)
    return sum(message.key in queued for message in messages)


def _part_key(key: str, number: int) -> str:
    return key if number == 1 else f"{key}{PART_KEY_SEPARATOR}{number}"
