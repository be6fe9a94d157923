"""The inbox's workers under random sequences (seeded): updates of a few chats arrive through
the application's queue (bot/app/inbox.py InboxQueue), some held by their handler until a
later step lets them go, with one to three workers per instance (on PostgreSQL two
instances, each receiving some of the updates) and the safety net (the idle look) out of
the way. After every step: no update started twice, a chat's updates start in the order
they arrived and one at a time. Whenever a step lets everything go: every update stored is
handled soon, by the looks the workers take of their own accord (a worker that finishes
looks again only when it knows something may wait)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import delete

from bot.app.inbox import InboxQueue, UpdateWorkers
from bot.clock import ManualClock
from db.models import InboxUpdate
from db.session import Database
from tests.bot.test_update_workers import NOW, Recorder, update_of
from tests.stateful import run_seeded

CHATS = st.integers(min_value=1, max_value=4).map(lambda n: 9_100_000_000 + n)
# Long enough for a loaded machine to handle what is stored; far shorter than the idle look.
SETTLE_SECONDS = 5.0
T = TypeVar("T")


class WorkersMachine(RuleBasedStateMachine):
    database_url = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.db = Database(self.database_url)
        self.run(self._empty())
        # On PostgreSQL a second instance, with a connection pool of its own.
        self.databases = [self.db] if self.db.is_sqlite else [self.db, Database(self.database_url)]
        self.recorder = Recorder()
        self.queues = [InboxQueue(db, ManualClock(NOW)) for db in self.databases]
        self.pools: list[UpdateWorkers] = []
        self.chat_of: dict[int, int] = {}
        self.held: list[int] = []
        self.next_id = 0

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    async def _empty(self) -> None:
        async with self.db.session() as session:
            await session.exec(delete(InboxUpdate))

    def teardown(self) -> None:
        if self.pools:
            self.everything_goes()
        for pool in self.pools:
            self.run(pool.stop())
        for db in self.databases:
            self.run(db.close())
        self.loop.close()

    @initialize(concurrency=st.integers(min_value=1, max_value=3))
    def start(self, concurrency: int) -> None:
        recorder: Any = self.recorder  # stands in for each instance's Application
        for db, queue in zip(self.databases, self.queues, strict=True):
            pool = UpdateWorkers(recorder, db, ManualClock(NOW), concurrency)
            queue.served_by(pool)
            self.run(pool.start())
            self.pools.append(pool)

    # -- rules -----------------------------------------------------------------------------

    @rule(
        chat_id=CHATS,
        held=st.booleans(),
        pause=st.sampled_from([0.0, 0.005, 0.03]),
        receiver=st.integers(min_value=0, max_value=1),
    )
    def arrives(self, chat_id: int, held: bool, pause: float, receiver: int) -> None:
        self.next_id += 1
        update_id = self.next_id
        self.chat_of[update_id] = chat_id
        if held:
            self.recorder.gates[update_id] = asyncio.Event()
            self.held.append(update_id)
        self.run(self._arrive(self.queues[receiver % len(self.queues)], update_id, chat_id, pause))

    async def _arrive(self, queue: InboxQueue, update_id: int, chat_id: int, pause: float) -> None:
        await queue.put(update_of(update_id, chat_id))
        await asyncio.sleep(pause)  # the workers go on meanwhile

    @precondition(lambda self: bool(self.held))
    @rule(which=st.integers(min_value=0, max_value=10))
    def one_goes(self, which: int) -> None:
        update_id = self.held.pop(which % len(self.held))
        self.run(self._let_go(update_id))

    async def _let_go(self, update_id: int) -> None:
        self.recorder.gates[update_id].set()
        await asyncio.sleep(0.01)

    @rule()
    def everything_goes(self) -> None:
        for update_id in self.held:
            self.recorder.gates[update_id].set()
        self.held.clear()
        stored = set(self.chat_of)
        self.run(
            self.recorder.until(
                lambda events: {int(e.split()[1]) for e in events if e.startswith("end")} == stored,
                timeout=SETTLE_SECONDS,
            )
        )

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def each_starts_once_in_chat_order_one_at_a_time(self) -> None:
        started = [int(e.split()[1]) for e in self.recorder.events if e.startswith("start")]
        assert len(started) == len(set(started)), started
        in_progress: dict[int, int] = {}
        last_of_chat: dict[int, int] = {}
        for event in self.recorder.events:
            kind, number = event.split()
            update_id = int(number)
            chat = self.chat_of[update_id]
            if kind == "start":
                assert chat not in in_progress, (chat, in_progress[chat], update_id)
                assert last_of_chat.get(chat, 0) < update_id, self.recorder.events
                in_progress[chat], last_of_chat[chat] = update_id, update_id
            else:
                assert in_progress.pop(chat) == update_id


def test_the_workers_take_everything_in_chat_order(database_url: str, no_idle_look: None) -> None:
    run_seeded(WorkersMachine, examples=12, steps=30, database_url=database_url)


@pytest.mark.slow
def test_the_workers_take_everything_in_chat_order_at_length(
    database_url: str, no_idle_look: None
) -> None:
    run_seeded(WorkersMachine, examples=150, steps=40, database_url=database_url)
