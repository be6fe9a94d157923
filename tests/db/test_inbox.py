"""The inbox under random arrivals, redeliveries (after a store's commit, its
acknowledgement lost), crashes while storing (Telegram delivers again) and while handling,
failures, two workers (SQLite: of one process; PostgreSQL: of two instances) and pruning,
on both databases: after every step the table, the handlers' effects and the order they
ran in are what a model of the rules says (db/inbox.py's docstring)."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import delete
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.inbox import (
    ChatHolder,
    ChatHolders,
    ClaimedUpdate,
    claim_next_update,
    count_pending_updates,
    mark_update_done,
    prune_done_updates,
    store_update,
)
from db.jobs import claim_job
from db.models import InboxUpdate, JobRun
from db.session import Database, SharedTransaction
from tests.conftest import SHANGHAI
from tests.stateful import run_seeded

START = datetime(2026, 11, 25, 9, 0, tzinfo=SHANGHAI)
CHATS = st.integers(min_value=1, max_value=4).map(lambda n: 8_000_000_000 + n)
RETENTION = timedelta(minutes=5)
T = TypeVar("T")


class Crash(Exception):
    """The process dies before the commit."""


@dataclass
class Row:
    chat_id: int
    turn: int
    done_at: datetime | None = None
    error: str | None = None


async def _apply_effect(session: AsyncSession, claimed: ClaimedUpdate, now: datetime) -> None:
    """What a handler writes: a row that exists at most once per update."""
    assert await claim_job(session=session, key=f"effect:{claimed.update_id}", now=now)


class InboxMachine(RuleBasedStateMachine):
    database_url = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.db = Database(self.database_url)
        # Another instance's (PostgreSQL); on SQLite one process has the file, so the second
        # worker is one of this process's.
        self.other = self.db if self.db.is_sqlite else Database(self.database_url)
        self.holders = [ChatHolders(self.db)]
        if self.other is not self.db:
            self.holders.append(ChatHolders(self.other))
        self.run(self._empty())
        self.rows: dict[int, Row] = {}
        self.next_id = 100
        self.minutes = 0
        self.handled: dict[int, list[int]] = {}
        # Not stored (the store crashed): Telegram delivers it again before any later one.
        self.unacknowledged: tuple[int, int] | None = None

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    async def _empty(self) -> None:
        async with self.db.session() as session:
            await session.exec(delete(InboxUpdate))
            await session.exec(delete(JobRun))

    def teardown(self) -> None:
        for holders in self.holders:
            self.run(holders.close())
        if self.other is not self.db:
            self.run(self.other.close())
        self.run(self.db.close())
        self.loop.close()

    @property
    def now(self) -> datetime:
        return START + timedelta(minutes=self.minutes)

    # -- the model -------------------------------------------------------------------------

    def heads(self) -> list[int]:
        pending = sorted(i for i, r in self.rows.items() if r.done_at is None)
        firsts: dict[int, int] = {}
        for update_id in pending:
            firsts.setdefault(self.rows[update_id].chat_id, update_id)
        return sorted(firsts.values(), key=lambda i: (self.rows[i].turn, i))

    def model_done(self, update_id: int, error: str | None = None) -> None:
        row = self.rows[update_id]
        row.done_at, row.error = self.now, error
        later = [i for i, r in self.rows.items() if r.chat_id == row.chat_id and r.done_at is None]
        if later:
            self.rows[min(later)].turn = max(self.rows) + 1

    # -- rules -----------------------------------------------------------------------------

    @precondition(lambda self: self.unacknowledged is None)
    @rule(chat_id=CHATS)
    def arrives(self, chat_id: int) -> None:
        self.next_id += 1
        update_id = self.next_id
        self.rows[update_id] = Row(chat_id, turn=update_id)
        assert self.run(self._store(update_id, chat_id))

    @precondition(lambda self: self.unacknowledged is None)
    @rule(chat_id=CHATS)
    def crashes_while_storing(self, chat_id: int) -> None:
        """Killed before the store's commit: no row, and Telegram, never told it arrived,
        delivers it (and everything after it) again."""
        self.next_id += 1
        self.unacknowledged = (self.next_id, chat_id)
        self.run(self._crash_storing(self.next_id, chat_id))

    async def _crash_storing(self, update_id: int, chat_id: int) -> None:
        try:
            async with self.db.session() as session:
                assert await store_update(
                    session=session,
                    update_id=update_id,
                    chat_id=chat_id,
                    payload=f'{{"update_id": {update_id}}}',
                    now=self.now,
                )
                raise Crash
        except Crash:
            pass

    @precondition(lambda self: self.unacknowledged is not None)
    @rule()
    def is_delivered_after_the_crash(self) -> None:
        assert self.unacknowledged is not None
        (update_id, chat_id), self.unacknowledged = self.unacknowledged, None
        self.rows[update_id] = Row(chat_id, turn=update_id)
        assert self.run(self._store(update_id, chat_id))

    @precondition(lambda self: bool(self.rows))
    @rule(data=st.data())
    def is_redelivered(self, data: st.DataObject) -> None:
        update_id = data.draw(st.sampled_from(sorted(self.rows)))
        assert not self.run(self._store(update_id, self.rows[update_id].chat_id))

    async def _store(self, update_id: int, chat_id: int) -> bool:
        async with self.db.session() as session:
            return await store_update(
                session=session,
                update_id=update_id,
                chat_id=chat_id,
                payload=f'{{"update_id": {update_id}}}',
                now=self.now,
            )

    @rule()
    def is_handled(self) -> None:
        self.minutes += 1
        expected = self.heads()
        claimed = self.run(self._handle())
        assert claimed == (expected[0] if expected else None)
        if claimed is not None:
            self.model_done(claimed)
            self.handled.setdefault(self.rows[claimed].chat_id, []).append(claimed)

    async def _handle(self) -> int | None:
        async with self.db.shared_transaction() as shared:
            claimed = await self._claim(shared)
            if claimed is None:
                return None
            # The use case's own block: it commits when it ends, the row done with it.
            async with self.db.session() as session:
                await _apply_effect(session, claimed, self.now)
            return claimed.update_id

    async def _claim(
        self, shared: SharedTransaction, holder: ChatHolder | None = None
    ) -> ClaimedUpdate | None:
        skip = holder.held_here if holder is not None else ()
        claimed = await claim_next_update(session=shared.session, skip_chats=skip)
        if claimed is not None:
            shared.before_first_commit(
                partial(mark_update_done, session=shared.session, claimed=claimed, now=self.now)
            )
        return claimed

    @rule()
    def crashes_after_replying(self) -> None:
        """Killed after the use case committed (and replied): done, and done once."""
        self.minutes += 1
        expected = self.heads()
        claimed = self.run(self._crash_after_commit())
        assert claimed == (expected[0] if expected else None)
        if claimed is not None:
            self.model_done(claimed)
            self.handled.setdefault(self.rows[claimed].chat_id, []).append(claimed)

    async def _crash_after_commit(self) -> int | None:
        seen: int | None = None
        try:
            async with self.db.shared_transaction() as shared:
                claimed = await self._claim(shared)
                if claimed is not None:
                    seen = claimed.update_id
                    async with self.db.session() as session:
                        await _apply_effect(session, claimed, self.now)
                raise Crash
        except Crash:
            return seen

    @rule()
    def crashes_while_handling(self) -> None:
        """Killed after the handler's writes, before the commit: as if it never started."""
        expected = self.heads()
        claimed = self.run(self._crash())
        assert claimed == (expected[0] if expected else None)

    async def _crash(self) -> int | None:
        seen: int | None = None
        try:
            async with self.db.shared_transaction() as shared:
                claimed = await self._claim(shared)
                if claimed is not None:
                    seen = claimed.update_id
                    # Written, not yet committed: no block of its own has ended.
                    await _apply_effect(shared.session, claimed, self.now)
                raise Crash
        except Crash:
            return seen

    @rule()
    def handler_fails(self) -> None:
        """The handler raised: its writes are undone, the update is done with the error."""
        self.minutes += 1
        expected = self.heads()
        claimed = self.run(self._fail())
        assert claimed == (expected[0] if expected else None)
        if claimed is not None:
            self.model_done(claimed, error="ValueError: boom")

    async def _fail(self) -> int | None:
        failed: ClaimedUpdate | None = None
        try:
            async with self.db.shared_transaction() as shared:
                failed = await self._claim(shared)
                if failed is None:
                    return None
                await _apply_effect(shared.session, failed, self.now)
                raise ValueError("boom")
        except ValueError:
            assert failed is not None
            async with self.db.session() as session:
                await mark_update_done(
                    session=session, claimed=failed, now=self.now, error="ValueError: boom"
                )
            return failed.update_id

    @rule(second_crashes=st.booleans())
    def two_workers_at_once(self, second_crashes: bool) -> None:
        """Two workers as bot/app/inbox.py's: the second claims while the first holds its
        chat (claimed, handling, not committed) and gets the head of another chat: on
        PostgreSQL the first's row lock and advisory lock keep another instance off it, on
        SQLite the process's held chats. The second may die before its commit."""
        self.minutes += 1
        expected = self.heads()
        first, second = self.run(self._two_at_once(second_crashes))
        assert [i for i in (first, second) if i is not None] == expected[:2]
        if second_crashes:
            second = None
        for claimed in (second, first):  # the second commits first
            if claimed is not None:
                self.model_done(claimed)
                self.handled.setdefault(self.rows[claimed].chat_id, []).append(claimed)

    async def _two_at_once(self, second_crashes: bool) -> tuple[int | None, int | None]:
        one, two = self.holders[0].holder(), self.holders[-1].holder()
        async with self.db.shared_transaction() as shared:
            first = await self._claim(shared, one)
            if first is None:
                return None, None
            async with one.holding(first.chat_id):
                shared.let_writer_go()
                # The other worker, in a task of its own: not in this update's transaction.
                second = await asyncio.create_task(
                    self._handle_beside(two, second_crashes), context=contextvars.Context()
                )
                async with self.db.session() as session:
                    await _apply_effect(session, first, self.now)
        return first.update_id, second

    async def _handle_beside(self, holder: ChatHolder, crashes: bool) -> int | None:
        seen: int | None = None
        try:
            async with self.other.shared_transaction() as shared:
                claimed = await self._claim(shared, holder)
                if claimed is None:
                    return None
                seen = claimed.update_id
                async with holder.holding(claimed.chat_id):
                    shared.let_writer_go()
                    if crashes:
                        await _apply_effect(shared.session, claimed, self.now)
                        raise Crash
                    async with self.other.session() as session:
                        await _apply_effect(session, claimed, self.now)
        except Crash:
            pass
        return seen

    @rule()
    def old_ones_are_pruned(self) -> None:
        cutoff = self.now - RETENTION
        gone = [i for i, r in self.rows.items() if r.done_at is not None and r.done_at < cutoff]
        assert self.run(self._prune(cutoff)) == len(gone)
        for update_id in gone:
            del self.rows[update_id]

    async def _prune(self, cutoff: datetime) -> int:
        async with self.db.session() as session:
            return await prune_done_updates(session=session, before=cutoff)

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def the_table_is_the_model(self) -> None:
        stored, effects, pending = self.run(self._read())
        assert stored == {i: (r.chat_id, r.turn, r.done_at, r.error) for i, r in self.rows.items()}
        assert pending == sum(r.done_at is None for r in self.rows.values())
        # Every update handled without error took effect once; nothing else did.
        handled_ok = {i for ids in self.handled.values() for i in ids}
        assert effects == handled_ok

    @invariant()
    def each_chat_in_order(self) -> None:
        for ids in self.handled.values():
            assert ids == sorted(ids)
        for row_id, row in self.rows.items():
            if row.done_at is not None:
                continue
            later_done = [
                i
                for i, r in self.rows.items()
                if r.chat_id == row.chat_id and i > row_id and r.done_at is not None
            ]
            assert later_done == [], "a chat's update ran before an earlier one"

    async def _read(self) -> tuple[dict[int, tuple[Any, ...]], set[int], int]:
        async with self.db.session() as session:
            rows = (await session.exec(select(InboxUpdate))).all()
            keys = (await session.exec(select(JobRun.key))).all()
            pending = await count_pending_updates(session=session)
        stored = {r.update_id: (r.chat_id, r.turn, r.done_at, r.error) for r in rows}
        effects = {int(k.removeprefix("effect:")) for k in keys if k.startswith("effect:")}
        return stored, effects, pending


def run_machine(database_url: str, examples: int) -> None:
    run_seeded(
        InboxMachine,
        examples=examples,
        steps=25,
        database_url=database_url,
    )


def test_inbox_holds_its_invariants(database_url: str) -> None:
    run_machine(database_url, examples=10)


@pytest.mark.slow
def test_inbox_holds_its_invariants_at_length(database_url: str) -> None:
    run_machine(database_url, examples=300)


def test_an_update_stored_twice_is_one_row(database_url: str) -> None:
    async def scenario() -> None:
        database = Database(database_url)
        try:
            async with database.session() as session:
                assert await store_update(
                    session=session, update_id=1, chat_id=5, payload="{}", now=START
                )
            async with database.session() as session:
                assert not await store_update(
                    session=session, update_id=1, chat_id=5, payload="{}", now=START
                )
                rows = (await session.exec(select(InboxUpdate))).all()
        finally:
            await database.close()
        assert [(r.update_id, r.done_at) for r in rows] == [(1, None)]

    asyncio.run(scenario())
