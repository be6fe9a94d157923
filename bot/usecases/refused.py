"""The outbox gave a message up (Telegram refused it for good: too long, bad markup, a chat
that does not exist …; or every retry failed; or a chat nobody is known by blocked the bot):
the row is marked failed with Telegram's reason, and the admins are told why in their words,
since the person it was for gets nothing and does not know it."""

from __future__ import annotations

import logging

from bot.services import Services
from bot.usecases.messages import enqueue_message
from bot.views import texts
from db.models import OutboxMessage
from db.outbox import Undelivered
from db.staff import get_staff_by_telegram_id, list_staff_posts, reachable_holders
from scheduler.org import Role

logger = logging.getLogger(__name__)

REFUSED_KEY = "refused"


async def message_refused(
    services: Services, message: OutboxMessage, undelivered: Undelivered
) -> int:
    """Queue one notice per reachable admin; how many were queued. A refused notice is not
    reported again (it would be refused the same way, for ever)."""
    if message.key.startswith(f"{REFUSED_KEY}:"):
        logger.error(
            "outbox %s: a refusal notice was given up too (%s): %s",
            message.key,
            undelivered.reason,
            undelivered.detail,
        )
        return 0
    now = services.clock.now()
    queued = 0
    async with services.db.session() as session:
        person = await get_staff_by_telegram_id(session=session, telegram_user_id=message.chat_id)
        recipient = (person.name, person.role) if person is not None else None
        posts = await list_staff_posts(session=session, role=Role.ADMIN)
        text = texts.message_refused(recipient, message.key, undelivered)
        for admin in await reachable_holders(session=session, posts=posts):
            queued += await enqueue_message(
                session=session,
                key=f"{REFUSED_KEY}:{message.id}:{admin.post.staff_id}",
                chat_id=admin.chat_id,
                text=text,
                now=now,
            )
    if not queued:
        logger.error(
            "outbox %s given up (%s: %s) and no admin can be told: none registered, "
            "or all blocked the bot",
            message.key,
            undelivered.reason,
            undelivered.detail,
        )
    return queued
