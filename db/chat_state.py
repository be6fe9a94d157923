"""What a person's next message answers; kept in the database so restarts resume."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import ChatState


async def get_chat_state(*, session: AsyncSession, staff_id: int) -> ChatState | None:
    return await session.get(ChatState, staff_id)


async def set_chat_state(
    *,
    session: AsyncSession,
    staff_id: int,
    flow: str,
    now: datetime,
    ref_id: int | None = None,
    data: str | None = None,
) -> None:
    state = await session.get(ChatState, staff_id)
    if state is None:
        state = ChatState(staff_id=staff_id, flow=flow, updated_at=now)
    state.flow, state.ref_id, state.data, state.updated_at = flow, ref_id, data, now
    session.add(state)
    await session.flush()


async def clear_chat_state(*, session: AsyncSession, staff_id: int) -> None:
    """A statement, not the ORM's delete of a loaded row: clearing what another transaction
    cleared meanwhile is no error (the ORM's "expected to delete 1 row, 0 matched")."""
    await session.exec(delete(ChatState).where(col(ChatState.staff_id) == staff_id))
