"""The workers that handle the inbox: one chat's updates one after the other, in order, even
when a third arrives while the second waits; other chats meanwhile; a chat
with a long backlog delays nobody else; scheduled work that locks a chat waits for its
update under way."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from sqlmodel import col, select
from telegram import Update
from telegram.error import NetworkError

from bot.app.inbox import InboxQueue, UpdateWorkers
from bot.clock import ManualClock
from db.announcements import Listener
from db.chat_state import clear_chat_state, get_chat_state, set_chat_state
from db.inbox import (
    ANNOUNCED_TOPIC,
    ChatHolders,
    ClaimedUpdate,
    claim_next_update,
    lock_chats,
    mark_update_done,
    mark_update_failed,
    store_update,
)
from db.jobs import claim_job
from db.models import ChatState, InboxUpdate, Staff, Unit
from db.session import Database
from scheduler.org import Level, Role
from tests.conftest import SHANGHAI
from tests.e2e.test_crash import until

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=SHANGHAI)
A, B, C, F = 9_000_000_001, 9_000_000_002, 9_000_000_003, 9_000_000_004


def payload(update_id: int, chat_id: int) -> str:
    chat = {"id": chat_id, "type": "private", "first_name": "x"}
    message = {"message_id": update_id, "date": 1_764_000_000, "chat": chat, "text": "hi"}
    return json.dumps({"update_id": update_id, "message": message})


@dataclass
class Recorder:
    """Stands in for the Application: records when each update starts and ends, and lets a
    test hold an update until it says."""

    events: list[str] = field(default_factory=list)
    gates: dict[int, asyncio.Event] = field(default_factory=dict)
    delay: float = 0.0
    # Like a use case: a change committed (the update marked done) before the reply.
    commits_in: Database | None = None
    bot: None = None
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def process_update(self, update: Any) -> None:
        await self._note(f"start {update.update_id}")
        if self.commits_in is not None:
            async with self.commits_in.session() as session:
                await claim_job(session=session, key=f"effect:{update.update_id}", now=NOW)
        if update.update_id in self.gates:
            await self.gates[update.update_id].wait()
        await asyncio.sleep(self.delay)
        await self._note(f"end {update.update_id}")

    async def _note(self, event: str) -> None:
        async with self.changed:
            self.events.append(event)
            self.changed.notify_all()

    async def until(self, check: Callable[[list[str]], bool], timeout: float = 10) -> None:
        async with self.changed, asyncio.timeout(timeout):
            await self.changed.wait_for(lambda: check(self.events))


async def store(database: Database, *updates: tuple[int, int]) -> None:
    async with database.session() as session:
        for update_id, chat_id in updates:
            await store_update(
                session=session,
                update_id=update_id,
                chat_id=chat_id,
                payload=payload(update_id, chat_id),
                now=NOW,
            )


@asynccontextmanager
async def workers(
    database: Database, recorder: Recorder, concurrency: int
) -> AsyncIterator[UpdateWorkers]:
    pool = UpdateWorkers(recorder, database, ManualClock(NOW), concurrency)  # type: ignore[arg-type]
    await pool.start()
    try:
        yield pool
    finally:
        await pool.stop()


async def done_ids(database: Database) -> list[int]:
    async with database.session() as session:
        statement = select(InboxUpdate.update_id).where(col(InboxUpdate.done_at).is_not(None))
        return sorted((await session.exec(statement)).all())


def started(update_id: int) -> Callable[[list[str]], bool]:
    return lambda events: f"start {update_id}" in events


def ended(update_id: int) -> Callable[[list[str]], bool]:
    return lambda events: f"end {update_id}" in events


@pytest.mark.parametrize("commits_first", [False, True], ids=["reads", "commits first"])
async def test_a_third_update_waits_behind_the_second_while_other_chats_go_on(
    database: Database, commits_first: bool
) -> None:
    """The earlier attempt lost a chat's lock when it looked free right after a release:
    a chat's third update ran beside its second. Here the first of A is held, the second
    and third of A wait (also when the held one is done already, its change committed,
    and only its reply is still to go); B is handled meanwhile."""
    recorder = Recorder(
        gates={1: asyncio.Event(), 2: asyncio.Event()},
        commits_in=database if commits_first else None,
    )
    await store(database, (1, A), (2, A), (3, A), (4, B))
    async with workers(database, recorder, concurrency=4):
        await recorder.until(started(1))
        await recorder.until(ended(4))
        await asyncio.sleep(0.2)
        assert "start 2" not in recorder.events and "start 3" not in recorder.events
        recorder.gates[1].set()
        await recorder.until(started(2))
        # The second of A is under way (its first just released the chat): the third waits.
        await asyncio.sleep(0.2)
        assert "start 3" not in recorder.events
        recorder.gates[2].set()
        await recorder.until(ended(3))
    a_events = [e for e in recorder.events if e.split()[1] in {"1", "2", "3"}]
    assert a_events == ["start 1", "end 1", "start 2", "end 2", "start 3", "end 3"]
    assert await done_ids(database) == [1, 2, 3, 4]


async def test_a_flooding_chat_delays_nobody_else(database: Database) -> None:
    """F sent 30 updates before B and C wrote once each: B and C are handled after at most
    one more of F's (in turn), not after all of them."""
    recorder = Recorder(delay=0.02)
    await store(database, *((n, F) for n in range(1, 31)))
    await store(database, (31, B), (32, C))
    async with workers(database, recorder, concurrency=2):
        await recorder.until(lambda events: ended(31)(events) and ended(32)(events))
        flood_before = sum(
            1 for e in recorder.events[: recorder.events.index("end 32")] if e.startswith("end")
        )
        await recorder.until(ended(30))
    assert flood_before <= 4, recorder.events
    flood_order = [int(e.split()[1]) for e in recorder.events if e.startswith("start")]
    assert [n for n in flood_order if n <= 30] == list(range(1, 31))


async def test_updates_stored_while_running_wake_a_worker(database: Database) -> None:
    recorder = Recorder()
    async with workers(database, recorder, concurrency=2) as pool:
        await store(database, (1, A))
        pool.wake()
        await recorder.until(ended(1), timeout=1.5)  # well before the idle poll


def update_of(update_id: int, chat_id: int) -> Update:
    return Update.de_json(json.loads(payload(update_id, chat_id)), None)


async def test_one_update_at_a_time_costs_no_look_in_vain(
    database: Database, no_idle_look: None
) -> None:
    """People writing one after another: the idle worker a store wakes takes the update; the
    worker that finished knows nothing is left and does not look again (it did after every
    update: a claim in vain each time)."""
    recorder = Recorder()
    queue = InboxQueue(database, ManualClock(NOW))
    async with workers(database, recorder, concurrency=2) as pool:
        queue.served_by(pool)

        async def both_idle() -> bool:
            return pool.looks_in_vain >= 2

        await until(both_idle, "both workers' first looks")
        before = pool.looks_in_vain
        for n in range(1, 6):
            await queue.put(update_of(n, A if n % 2 else B))
            await recorder.until(ended(n))
            await asyncio.sleep(0.05)
        assert (pool.looks - pool.looks_in_vain, pool.looks_in_vain - before) == (5, 0)


async def test_updates_stored_while_the_only_worker_is_busy_are_all_taken(
    database: Database, no_idle_look: None
) -> None:
    """One worker, three stores while it works: it looks again until none is left, not
    once per finished update (each look takes one)."""
    recorder = Recorder(gates={1: asyncio.Event()})
    queue = InboxQueue(database, ManualClock(NOW))
    async with workers(database, recorder, concurrency=1) as pool:
        queue.served_by(pool)
        await queue.put(update_of(1, A))
        await recorder.until(started(1))
        for update_id, chat in ((2, B), (3, C), (4, F)):
            await queue.put(update_of(update_id, chat))
        recorder.gates[1].set()
        await recorder.until(lambda events: all(ended(n)(events) for n in (2, 3, 4)), 5)


async def test_an_update_skipped_while_scheduled_work_wanted_its_chat_is_taken_after_it(
    database: Database, no_idle_look: None
) -> None:
    """Scheduled work waits for chat B (an update under way) to lock A and B; meanwhile an
    update of A is stored, and the idle worker's claim skips it (SQLite: the chat is wanted).
    It is taken once the work lets go of the chats, not at the idle look thirty seconds on:
    the finished worker looks again (the skipped update is still noted), and the work's
    letting go wakes a worker too, should that look have come first."""
    recorder = Recorder(gates={1: asyncio.Event()})
    queue = InboxQueue(database, ManualClock(NOW))
    job_done = asyncio.Event()

    async def job() -> None:
        async with database.session() as session:
            await lock_chats(session=session, chat_ids=[A, B])
        job_done.set()

    async with workers(database, recorder, concurrency=2) as pool:
        queue.served_by(pool)
        await queue.put(update_of(1, B))
        await recorder.until(started(1))
        work = asyncio.create_task(job())
        await asyncio.sleep(0.1)
        await queue.put(update_of(2, A))
        await asyncio.sleep(0.2)
        recorder.gates[1].set()
        await asyncio.wait_for(job_done.wait(), 5)
        await recorder.until(ended(2), timeout=3)
        await work


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_store_is_taken_here_while_a_worker_is_idle_else_by_another_instance(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The receiving instance's idle worker takes what it stores; once its workers are all
    busy, the store is announced and another instance's idle worker takes it at once, not
    at an idle look."""
    monkeypatch.setattr("bot.app.inbox.DEAF_POLL_SECONDS", 60.0)
    here, there = Recorder(gates={1: asyncio.Event()}), Recorder()
    elsewhere = Database(database.url)
    queue = InboxQueue(database, ManualClock(NOW))
    try:
        async with workers(database, here, concurrency=1) as receiving:
            queue.served_by(receiving)
            await queue.put(update_of(1, A))
            await here.until(started(1))
            # Started now, the other instance cannot take 1 (locked by its claim) first.
            async with workers(elsewhere, there, concurrency=1):
                await queue.put(update_of(2, B))  # the one worker here is busy with 1
                await there.until(ended(2), timeout=10)
            here.gates[1].set()
            await here.until(ended(1))
        assert "start 2" not in here.events and "start 1" not in there.events
    finally:
        await elsewhere.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_with_an_update_in_hand_a_store_is_announced_too(database: Database) -> None:
    """An idle instance keeps what it stores to itself; one with an update in hand announces
    it as well as waking its idle worker: another instance's idle worker may be quicker (a
    receiver under load shares the work with the worker instances)."""
    heard: list[str] = []
    listener = Listener(database.url, ANNOUNCED_TOPIC, "another instance", lambda: heard.append(""))
    listening = asyncio.create_task(listener.run())
    here = Recorder(gates={1: asyncio.Event()})
    queue = InboxQueue(database, ManualClock(NOW))

    async def hearing() -> bool:
        return listener.hearing

    try:
        await until(hearing, "listening")
        async with workers(database, here, concurrency=2) as receiving:
            queue.served_by(receiving)

            async def idle_here() -> bool:  # both workers' first looks found nothing
                return receiving.looks_in_vain >= 2

            async def heard_more() -> bool:
                return len(heard) > at_start

            await until(idle_here, "both workers idle")
            at_start = len(heard)
            await queue.put(update_of(1, A))
            await here.until(started(1))
            await queue.put(update_of(2, B))
            await here.until(ended(2))  # the idle worker here took it: nobody else looks
            await until(heard_more, "2's announcement")
            # Announcements arrive in the order of their commits: 1's would have come first.
            assert len(heard) == at_start + 1
            here.gates[1].set()
            await here.until(ended(1))
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)


async def test_a_failing_update_is_done_with_its_error_and_the_chat_goes_on(
    database: Database,
) -> None:
    class Failing(Recorder):
        async def process_update(self, update: Any) -> None:
            if update.update_id == 1:
                raise RuntimeError("handler broke")
            await super().process_update(update)

    recorder = Failing()
    await store(database, (1, A), (2, A))
    async with workers(database, recorder, concurrency=2):
        await recorder.until(ended(2))
    async with database.session() as session:
        rows = {r.update_id: r for r in (await session.exec(select(InboxUpdate))).all()}
    assert rows[1].done_at is not None and "handler broke" in (rows[1].error or "")
    assert rows[2].error is None


async def test_scheduled_work_locking_a_chat_waits_for_its_update(database: Database) -> None:
    holders = ChatHolders(database)
    holder = holders.holder()
    events: list[str] = []

    async def job() -> None:
        async with database.session() as session:
            await lock_chats(session=session, chat_ids=[B, A])
            events.append("job has the chats")

    try:
        async with holder.holding(A):
            task = asyncio.create_task(job())
            await asyncio.sleep(0.3)
            assert events == []
            events.append("update done")
        await asyncio.wait_for(task, 5)
    finally:
        await holders.close()
    assert events == ["update done", "job has the chats"]


@pytest.fixture
async def sample_staff(database: Database) -> int:
    async with database.session() as session:
        unit = Unit(code="NM", name="区公司", level=Level.REGION)
        session.add(unit)
        await session.flush()
        assert unit.id is not None
        staff = Staff(code="I001", name="吴国栋", role=Role.INSPECTOR, unit_id=unit.id)
        session.add(staff)
        await session.flush()
        assert staff.id is not None
        return staff.id


async def test_clearing_a_chat_state_cleared_meanwhile_is_no_error(
    database: Database, sample_staff: int
) -> None:
    """A scheduled close and an update both clearing one chat state (the earlier attempt
    failed with "a chat_state row deleted twice")."""
    async with database.session() as session:
        await set_chat_state(session=session, staff_id=sample_staff, flow="check", now=NOW)
    other = Database(database.url)
    try:
        async with database.session() as session:
            assert await get_chat_state(session=session, staff_id=sample_staff) is not None
            async with other.session() as meanwhile:
                await clear_chat_state(session=meanwhile, staff_id=sample_staff)
            await clear_chat_state(session=session, staff_id=sample_staff)
    finally:
        await other.close()
    async with database.session() as session:
        assert await session.get(ChatState, sample_staff) is None


async def test_an_update_that_cannot_be_stored_is_not_acknowledged() -> None:
    """The database is down: put raises a network error, so PTB's updater asks for the same
    updates again after a pause (and keeps polling), and a webhook answers 500."""
    unreachable = Database("postgresql+psycopg://postgres@127.0.0.1:1/test")
    queue = InboxQueue(unreachable, ManualClock(NOW))
    update = Update.de_json(json.loads(payload(1, A)), None)
    try:
        with pytest.raises(NetworkError):
            await queue.put(update)
    finally:
        await unreachable.close()


async def test_a_failing_update_s_unsaved_changes_are_undone_and_it_runs_once(
    database: Database,
) -> None:
    """A handler that wrote and then failed: what it wrote is undone, the update is marked
    done with its error while its chat is still held (no other worker takes it again in
    between), and the chat's next update goes on."""

    class WritesThenFails(Recorder):
        async def process_update(self, update: Any) -> None:
            if update.update_id == 1:
                await self._note("start 1")
                async with database.session() as session:
                    await claim_job(session=session, key="effect:1", now=NOW)
                    raise RuntimeError("handler broke after writing")
            await super().process_update(update)

    recorder = WritesThenFails(commits_in=database)
    await store(database, (1, A), (2, A))
    async with workers(database, recorder, concurrency=3):
        await recorder.until(ended(2))
    assert recorder.events.count("start 1") == 1
    async with database.session() as session:
        rows = {r.update_id: r for r in (await session.exec(select(InboxUpdate))).all()}
        assert not await claim_job(session=session, key="effect:2", now=NOW)  # kept
        assert await claim_job(session=session, key="effect:1", now=NOW)  # undone
    assert rows[1].done_at is not None and "handler broke after writing" in (rows[1].error or "")
    assert rows[2].done_at is not None and rows[2].error is None


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_failed_update_another_instance_claimed_is_left_to_it(database: Database) -> None:
    """After the failed handling's rollback a worker of another instance may claim the
    update before it is marked (its row lock went with the rollback): marking it then must
    neither wait for that worker (which waits for this chat) nor mark it done under it."""
    await store(database, (1, A), (2, A))
    claimed = ClaimedUpdate(1, A, payload(1, A))
    async with database.session() as other:
        assert await claim_next_update(session=other) == claimed
        async with database.session() as session, asyncio.timeout(5):
            assert not await mark_update_failed(
                session=session, claimed=claimed, now=NOW, error="RuntimeError: broke"
            )
    assert await done_ids(database) == []


async def test_a_failure_after_the_update_was_marked_done_only_notes_the_error(
    database: Database,
) -> None:
    """The handling committed once (the update marked done, its chat's next one a head that
    another instance may hold) and then failed: only the error is noted on the update."""
    await store(database, (1, A), (2, A))
    async with database.session() as session:
        claimed = await claim_next_update(session=session)
        assert claimed is not None
        await mark_update_done(session=session, claimed=claimed, now=NOW)
    async with database.session() as session:
        turns = {r.update_id: r.turn for r in (await session.exec(select(InboxUpdate))).all()}
    async with database.session() as session:
        assert await mark_update_failed(
            session=session, claimed=claimed, now=NOW, error="RuntimeError: broke"
        )
    async with database.session() as session:
        rows = {r.update_id: r for r in (await session.exec(select(InboxUpdate))).all()}
    assert rows[1].error == "RuntimeError: broke" and rows[1].done_at is not None
    assert rows[2].done_at is None and rows[2].turn == turns[2]
