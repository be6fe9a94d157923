"""What a person's next message answers (a check question, a complaint step, nothing)."""

from __future__ import annotations

from bot.services import Services
from db.chat_state import clear_chat_state, get_chat_state
from db.models import ChatState, Staff


async def pending_state(services: Services, staff: Staff) -> ChatState | None:
    assert staff.id is not None
    async with services.db.session() as session:
        return await get_chat_state(session=session, staff_id=staff.id)


async def forget_pending(services: Services, staff: Staff) -> None:
    """Drops the pending question; what was already saved stays."""
    assert staff.id is not None
    async with services.db.session() as session:
        await clear_chat_state(session=session, staff_id=staff.id)
