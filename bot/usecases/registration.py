"""Who is writing, and binding an account with an invite code."""

from __future__ import annotations

from dataclasses import dataclass

from bot.services import Services
from db.models import Staff
from db.staff import Redemption, get_staff_by_telegram_id, get_unit, redeem_invite


@dataclass(frozen=True)
class Registration:
    outcome: Redemption
    staff: Staff | None = None
    unit_name: str = ""


async def identify(services: Services, telegram_user_id: int) -> Staff | None:
    """The staff record bound to this Telegram account, or None for a stranger."""
    async with services.db.session() as session:
        return await get_staff_by_telegram_id(session=session, telegram_user_id=telegram_user_id)


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
    return Registration(result.outcome, result.staff, unit.name)
