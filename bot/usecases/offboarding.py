"""Someone leaves (`python -m bot offboard CODE`): their account is unbound, their unused
invites revoked, and their open checks, corrective actions and complaints pass to their
nearest manager, who is told. From then on they get no checks, routing or alerts."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum

from bot.services import Services
from bot.usecases.messages import enqueue_message
from bot.views import texts
from db.chat_state import clear_chat_state
from db.checks import hand_over_open_checks
from db.complaints import hand_over_complaints
from db.inbox import lock_chats
from db.models import Staff
from db.staff import (
    get_staff_by_code,
    list_staff_posts,
    load_org_units,
    load_staff,
    revoke_invites,
)
from scheduler.complaints import escalation_chain
from scheduler.org import Role

logger = logging.getLogger(__name__)


class Outcome(Enum):
    DONE = "done"
    UNKNOWN = "unknown"
    ALREADY = "already"
    NO_MANAGER = "no_manager"


@dataclass(frozen=True)
class Offboarding:
    outcome: Outcome
    staff: Staff | None = None
    successor: Staff | None = None
    checks: int = 0
    complaints: int = 0


async def offboard(services: Services, code: str) -> Offboarding:
    now = services.clock.now()
    async with services.db.session() as session:
        staff = await get_staff_by_code(session=session, code=code)
        if staff is None or staff.id is None:
            return Offboarding(Outcome.UNKNOWN)
        if staff.left_at is not None:
            return Offboarding(Outcome.ALREADY, staff)
        if staff.telegram_user_id is not None:
            # Their update under way finishes first (it remembers their chat state), and
            # the next waits for this commit.
            await lock_chats(session=session, chat_ids=[staff.telegram_user_id])
        units = await load_org_units(session=session)
        managers = [
            post
            for post in await list_staff_posts(session=session, role=Role.MANAGER)
            if post.staff_id != staff.id
        ]
        chain = escalation_chain(staff.unit_id, units, managers)
        if not chain or not chain[0]:
            return Offboarding(Outcome.NO_MANAGER, staff)
        successor_id = min(chain[0])  # of several managers of one unit, the first imported
        successor = (await load_staff(session=session, staff_ids=[successor_id]))[successor_id]
        assert successor.id is not None
        checks = await hand_over_open_checks(
            session=session, from_staff=staff.id, to_staff=successor.id, since=now.date()
        )
        complaints = await hand_over_complaints(
            session=session, from_staff=staff.id, to_staff=successor.id, now=now
        )
        await revoke_invites(session=session, staff_id=staff.id, now=now)
        await clear_chat_state(session=session, staff_id=staff.id)
        staff.telegram_user_id = None
        staff.left_at = now
        session.add(staff)
        if successor.telegram_user_id is not None:
            await enqueue_message(
                session=session,
                key=f"offboarded:{staff.id}:{now.isoformat()}",
                chat_id=successor.telegram_user_id,
                text=texts.staff_handed_over(staff.name, staff.code, checks, complaints),
                now=now,
            )
        else:
            logger.warning("%s left; %s takes over but has not registered", code, successor.code)
    # This process routes nothing to them from now on; a bot running elsewhere within
    # bot.reference.MAX_AGE (its copy of the posts is reloaded when it is that old).
    async with services.db.session() as session:
        await services.reference.reload(session)
    logger.info("%s left: %d checks, %d complaints to %s", code, checks, complaints, successor.code)
    return Offboarding(Outcome.DONE, staff, successor, checks, complaints)
