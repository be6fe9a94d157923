"""What a person's next message answers; kept in the database so restarts resume.

A session remembers what it read or wrote of a person's chat state (in ``session.info``: the
row, or that there is none; the identity map alone forgets rows nobody holds). The update's
session reads it with the sender's staff record (``get_staff_and_chat_state``, the access
gate's one statement), so its handlers' reads and a clearing of nothing take no statement
of their own. Only the person's own updates set a chat state, one at a time; jobs (closing
the day) and commands (offboarding) only clear it, and under the chat's lock
(db/inbox.py ``lock_chats``), which waits for the chat's update under way: what its session
remembers cannot go stale meanwhile (tests/db/test_chat_state.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, event, text
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import ChatState, Staff
from db.session import run_prebuilt

# session.info: what this session knows of chat states, by staff id (None: there is none).
_KNOWN = "chat_states"


@event.listens_for(Session, "after_soft_rollback")
def _forget_known(session: Session, _previous: Any) -> None:
    """A rollback (of a savepoint too) may undo what the session set or cleared: read again."""
    session.info.pop(_KNOWN, None)


def _known(session: AsyncSession) -> dict[int, ChatState | None]:
    known: dict[int, ChatState | None] = session.info.setdefault(_KNOWN, {})
    return known


# Built once: every update runs it (see db/inbox.py on statements built per call).
_STAFF_AND_STATE = (
    select(Staff, ChatState)
    .outerjoin(ChatState, col(ChatState.staff_id) == col(Staff.id))
    .where(col(Staff.telegram_user_id) == bindparam("telegram_user_id"))
)


async def get_staff_and_chat_state(*, session: AsyncSession, telegram_user_id: int) -> Staff | None:
    """The staff record bound to this Telegram account (None for a stranger), their chat
    state read in the same statement and remembered by the session."""
    params = {"telegram_user_id": telegram_user_id}
    row = (await session.exec(_STAFF_AND_STATE, params=params)).first()
    if row is None:
        return None
    staff, state = row
    if staff.id is not None:
        _known(session)[staff.id] = state
    return staff


async def get_chat_state(*, session: AsyncSession, staff_id: int) -> ChatState | None:
    known = _known(session)
    if staff_id not in known:
        known[staff_id] = await session.get(ChatState, staff_id)
    return known[staff_id]


_COLUMNS = ChatState.__table__.c  # type: ignore[attr-defined]
# Written out: the dialects' INSERT … ON CONFLICT constructs are compiled again for every
# call (see db/inbox.py); SQLite and PostgreSQL both take it.
_SAVE = text(
    "INSERT INTO chat_state (staff_id, flow, ref_id, data, updated_at) "
    "VALUES (:staff_id, :flow, :ref_id, :data, :updated_at) "
    "ON CONFLICT (staff_id) DO UPDATE SET flow = excluded.flow, ref_id = excluded.ref_id, "
    "data = excluded.data, updated_at = excluded.updated_at"
).bindparams(bindparam("updated_at", type_=_COLUMNS.updated_at.type))


async def set_chat_state(
    *,
    session: AsyncSession,
    staff_id: int,
    flow: str,
    now: datetime,
    ref_id: int | None = None,
    data: str | None = None,
) -> None:
    """One statement, whether the person had a state or not (none read first), past the
    ORM's unit of work; the state the session holds takes the values as stored."""
    values = {"staff_id": staff_id, "flow": flow, "ref_id": ref_id, "data": data, "updated_at": now}
    await run_prebuilt(session, _SAVE, values)
    known = _known(session)
    state = known.get(staff_id)
    if state is None:
        state = known[staff_id] = ChatState(staff_id=staff_id, flow=flow, updated_at=now)
    for name, value in values.items():
        set_committed_value(state, name, value)


async def clear_chat_state(*, session: AsyncSession, staff_id: int) -> None:
    """A statement, not the ORM's delete of a loaded row: clearing what another transaction
    cleared meanwhile is no error (the ORM's "expected to delete 1 row, 0 matched")."""
    known = _known(session)
    if staff_id in known and known[staff_id] is None:
        return
    await session.exec(delete(ChatState).where(col(ChatState.staff_id) == staff_id))
    known[staff_id] = None
