"""A session remembers what it read or wrote of a chat state (db/chat_state.py): the access
gate's one statement reads the sender with it, and what the update's handlers then ask of
it takes no statement; a rollback forgets. On both databases."""

from __future__ import annotations

import asyncio
import contextvars
from datetime import datetime

from sqlmodel import select

from bot.demo.statements import recorded_statements
from bot.views import texts
from db.chat_state import (
    clear_chat_state,
    get_chat_state,
    get_staff_and_chat_state,
    set_chat_state,
)
from db.inbox import ChatHolders, lock_chats
from db.models import ChatState, Staff
from db.org_import import import_org, read_org_file
from db.session import Database
from tests.conftest import SAMPLE_ORG, SHANGHAI

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=SHANGHAI)
ACCOUNT = 7_100_000_001


async def _registered(database: Database) -> int:
    async with database.session() as session:
        await import_org(
            read_org_file(SAMPLE_ORG), labels=texts.IMPORT_LABELS, session=session, now=NOW
        )
        staff = (await session.exec(select(Staff).where(Staff.code == "I003"))).one()
        staff.telegram_user_id = ACCOUNT
        session.add(staff)
        assert staff.id is not None
        return staff.id


async def test_what_the_gate_read_takes_no_statement_of_its_own(database: Database) -> None:
    staff_id = await _registered(database)
    with recorded_statements(database) as seen:
        async with database.session() as session:
            staff = await get_staff_and_chat_state(session=session, telegram_user_id=ACCOUNT)
            assert staff is not None and staff.id == staff_id
            assert await get_chat_state(session=session, staff_id=staff_id) is None
            await clear_chat_state(session=session, staff_id=staff_id)  # nothing to clear
            read = len(seen)
            await set_chat_state(session=session, staff_id=staff_id, flow="check", now=NOW)
            wrote = len(seen)
            state = await get_chat_state(session=session, staff_id=staff_id)
            assert state is not None and state.flow == "check"
            assert len(seen) == wrote
    assert read == 1
    with recorded_statements(database) as seen:
        async with database.session() as session:
            await get_staff_and_chat_state(session=session, telegram_user_id=ACCOUNT)
            state = await get_chat_state(session=session, staff_id=staff_id)
            assert state is not None and state.flow == "check"
            assert len(seen) == 1
            await clear_chat_state(session=session, staff_id=staff_id)
            assert await get_chat_state(session=session, staff_id=staff_id) is None
            assert len(seen) == 2
    async with database.session() as session:
        assert await session.get(ChatState, staff_id) is None
    async with database.session() as session:
        assert await get_staff_and_chat_state(session=session, telegram_user_id=1) is None


async def test_a_rollback_forgets_a_clearing(database: Database) -> None:
    staff_id = await _registered(database)
    async with database.session() as session:
        await set_chat_state(session=session, staff_id=staff_id, flow="check", now=NOW)
    async with database.session() as session:
        nested = await session.begin_nested()
        await clear_chat_state(session=session, staff_id=staff_id)
        await nested.rollback()
        state = await get_chat_state(session=session, staff_id=staff_id)
        assert state is not None and state.flow == "check"


async def test_a_job_clears_a_chat_state_only_after_the_update_under_way(
    database: Database,
) -> None:
    """The remembered state of an update's session stays true while the update is handled:
    a job (closing the day) clears the chat's state under the chat's lock (db/inbox.py
    lock_chats), which waits until the update's worker lets go of the chat. Between the
    update's blocks of statements nothing else of the chat changes, though other work runs
    (on SQLite the process's one writer is let go between them)."""
    staff_id = await _registered(database)
    async with database.session() as session:
        await set_chat_state(session=session, staff_id=staff_id, flow="check", now=NOW)
    events: list[str] = []

    async def close_the_day() -> None:
        async with database.session() as session:
            await lock_chats(session=session, chat_ids=[ACCOUNT])
            await clear_chat_state(session=session, staff_id=staff_id)
            events.append("cleared")

    holders = ChatHolders(database)
    try:
        async with database.shared_transaction() as shared, holders.holder().holding(ACCOUNT):
            shared.let_writer_go()  # as a worker does once its claim has read
            async with database.session() as session:  # the access gate
                await get_staff_and_chat_state(session=session, telegram_user_id=ACCOUNT)
            # A task of its own, as the job queue runs it: not joining the update's session.
            job = asyncio.create_task(close_the_day(), context=contextvars.Context())
            await asyncio.sleep(0.3)  # the update waits for Telegram; the job runs
            async with database.session() as session:  # the handler's use case
                remembered = await get_chat_state(session=session, staff_id=staff_id)
                stored = (
                    await session.exec(select(ChatState.flow).where(ChatState.staff_id == staff_id))
                ).first()
            assert remembered is not None and stored == remembered.flow == "check"
            assert events == []
            events.append("update done")
        await asyncio.wait_for(job, 5)
    finally:
        await holders.close()
    assert events == ["update done", "cleared"]
    async with database.session() as session:
        assert await session.get(ChatState, staff_id) is None
