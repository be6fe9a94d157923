"""Who is writing, and binding an account with an invite code."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services import Services
from bot.usecases.messages import enqueue_message
from bot.views import texts
from db.chat_state import get_staff_and_chat_state
from db.models import Staff
from db.staff import (
    Redemption,
    get_unit,
    list_staff_posts,
    load_staff,
    redeem_invite,
)
from scheduler.org import Role


@dataclass(frozen=True)
class Registration:
    outcome: Redemption
    staff: Staff | None = None
    unit_name: str = ""


async def identify(services: Services, telegram_user_id: int) -> Staff | None:
    """The staff record bound to this Telegram account, or None for a stranger; their chat
    state is read with it, for the update's handlers (db/chat_state.py)."""
    async with services.db.session() as session:
        return await get_staff_and_chat_state(session=session, telegram_user_id=telegram_user_id)


async def unit_name(services: Services, unit_id: int) -> str:
    async with services.db.session() as session:
        return (await get_unit(session=session, unit_id=unit_id)).name


async def register(services: Services, code: str, telegram_user_id: int) -> Registration:
    """Redeems the invite code for this account; the outcome says why when it cannot."""
    async with services.db.session() as session:
        result = await redeem_invite(
            session=session, code=code, telegram_user_id=telegram_user_id, now=services.clock.now()
        )
        if result.staff is None:
            return Registration(result.outcome)
        unit = await get_unit(session=session, unit_id=result.staff.unit_id)
        if result.previous_account is not None:
            await _tell_of_rebinding(
                services, session, result.staff, unit.name, result.previous_account
            )
    return Registration(result.outcome, result.staff, unit.name)


async def _tell_of_rebinding(
    services: Services, session: AsyncSession, staff: Staff, unit: str, previous: int
) -> None:
    """The record was bound to another account: that account learns it no longer is (if it
    was the real person's, they know at once), and so do the admins."""
    now = services.clock.now()
    key = f"rebound:{staff.id}:{now.isoformat()}"
    await enqueue_message(
        session=session,
        key=f"{key}:previous",
        chat_id=previous,
        text=texts.account_moved_away(staff.name),
        now=now,
    )
    posts = await list_staff_posts(session=session, role=Role.ADMIN)
    admins = await load_staff(session=session, staff_ids=[p.staff_id for p in posts])
    for admin in admins.values():
        if admin.telegram_user_id is None or admin.id == staff.id:
            continue
        await enqueue_message(
            session=session,
            key=f"{key}:{admin.id}",
            chat_id=admin.telegram_user_id,
            text=texts.account_rebound(staff.name, staff.code, unit),
            now=now,
        )
