"""Someone blocked the bot (Telegram answers 403): their staff record says so from then on,
and their manager is told once, since that person no longer gets checks or alerts."""

from __future__ import annotations

import logging

from bot.services import Services
from bot.usecases.messages import enqueue_message
from bot.views import texts
from db.models import Staff
from db.staff import get_staff, get_staff_by_telegram_id, reachable_holders
from scheduler.complaints import escalation_chain

logger = logging.getLogger(__name__)


async def staff_blocked_bot(services: Services, telegram_user_id: int, occasion: str) -> bool:
    """Mark the person; queue one notice to the nearest managers who can be reached.
    ``occasion`` names what revealed the blocking (Telegram's update saying so, or the
    outbox row refused with 403), so each blocking gets its own notice.
    False when the chat is nobody's: nobody's manager can be told."""
    now = services.clock.now()
    async with services.db.session() as session:
        staff = await get_staff_by_telegram_id(session=session, telegram_user_id=telegram_user_id)
        if staff is None:
            return False
        if staff.blocked_bot_at is not None:
            return True  # told when it was first seen
        assert staff.id is not None
        staff.blocked_bot_at = now
        session.add(staff)
        reference = await services.reference.get(session)
        units = reference.units
        managers = [post for post in reference.managers if post.staff_id != staff.id]
        unit = units[staff.unit_id].name if staff.unit_id in units else ""
        text = texts.staff_blocked_bot(staff.name, staff.role, unit, staff.phone)
        for level in escalation_chain(staff.unit_id, units, managers):
            posts = {post.staff_id: post for post in managers if post.staff_id in level}
            reachable = await reachable_holders(session=session, posts=posts.values())
            for manager in reachable:
                await enqueue_message(
                    session=session,
                    # One notice per blocking: the person may unblock and block again later.
                    key=f"blocked:{staff.id}:{occasion}:{manager.post.staff_id}",
                    chat_id=manager.chat_id,
                    text=text,
                    now=now,
                )
            if reachable:
                break
        else:
            logger.warning("%s blocked the bot and no manager can be told", staff.code)
    logger.info("%s (%s) blocked the bot", staff.code, telegram_user_id)
    return True


async def staff_is_back(services: Services, staff: Staff) -> None:
    """The person wrote to the bot again, so they unblocked it."""
    if staff.blocked_bot_at is None or staff.id is None:
        return
    async with services.db.session() as session:
        current = await get_staff(session=session, staff_id=staff.id)
        current.blocked_bot_at = None
        session.add(current)
    staff.blocked_bot_at = None
    logger.info("%s unblocked the bot", staff.code)
