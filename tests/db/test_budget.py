"""The instances' rows of send_budget on PostgreSQL: each refresh writes its own and reads the
live ones, a stale row is not counted and an old one deleted; and the parts the instances
take from them (bot/budget.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.budget import EXPIRY_SECONDS, SharedBudget
from bot.ratelimit import Pace, PriorityRateLimiter
from db.budget import FORGET_SECONDS, forget_instance, lock_instance, refresh_demand
from db.session import Database

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


A, B, CRASHED, LONG_GONE = 11, 12, 13, 14


async def refresh(database: Database, instance: int, demand: float) -> dict[int, float]:
    demands = await refresh_demand(
        database.engine, instance=instance, demand=demand, expiry=EXPIRY_SECONDS
    )
    return demands.by_instance


async def seen_ago(database: Database, instance: int, seconds: float) -> None:
    async with database.engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE send_budget SET seen_at = now() - make_interval(secs => :seconds) "
                "WHERE instance = :instance"
            ),
            {"instance": instance, "seconds": seconds},
        )


async def instances(database: Database) -> set[int]:
    async with database.engine.connect() as connection:
        return set((await connection.execute(text("SELECT instance FROM send_budget"))).scalars())


async def crash(lock: AsyncConnection | None) -> None:
    """The lock's connection dropped, as by a killed process, and the server done with it:
    it lets the lock go once the connection's backend has ended (a moment later)."""
    assert lock is not None
    pid = (await lock.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    database_engine = lock.engine
    await lock.invalidate()
    async with asyncio.timeout(10):
        while True:
            async with database_engine.connect() as connection:
                held = await connection.execute(
                    text("SELECT 1 FROM pg_locks WHERE pid = :pid"), {"pid": pid}
                )
                if held.first() is None:
                    return
            await asyncio.sleep(0.01)


@pytest.fixture
async def alive(database: Database) -> AsyncIterator[dict[int, AsyncConnection]]:
    """The liveness locks of instances A, B, CRASHED and LONG_GONE, as their processes
    would hold them; a test drops one to crash its instance."""
    locks = {n: await lock_instance(database.engine, n) for n in (A, B, CRASHED, LONG_GONE)}
    yield locks
    for connection in locks.values():
        await connection.invalidate()


async def test_each_refresh_writes_its_row_and_reads_the_live_ones(
    database: Database, alive: dict[int, AsyncConnection]
) -> None:
    assert await refresh(database, A, 3.0) == {A: 3.0}
    assert await refresh(database, B, 5.0) == {A: 3.0, B: 5.0}
    assert await refresh(database, A, 7.5) == {A: 7.5, B: 5.0}


async def test_a_crashed_or_stalled_instance_is_not_counted_and_an_old_row_goes(
    database: Database, alive: dict[int, AsyncConnection]
) -> None:
    for instance in (A, B, CRASHED, LONG_GONE):
        await refresh(database, instance, 1.0)
    await crash(alive.pop(CRASHED))  # its process died: the server lets its lock go
    await seen_ago(database, B, EXPIRY_SECONDS + 1)  # alive, but no refresh for a while
    await seen_ago(database, LONG_GONE, FORGET_SECONDS + 1)
    assert await refresh(database, A, 2.0) == {A: 2.0}
    assert await instances(database) == {A, B, CRASHED}
    # An instance back after a long pause (its own row that old) is counted again.
    await seen_ago(database, A, FORGET_SECONDS + 1)
    assert await refresh(database, A, 2.0) == {A: 2.0}
    assert await refresh(database, B, 2.0) == {A: 2.0, B: 2.0}


async def test_an_instance_learns_it_lost_its_lock(
    database: Database, alive: dict[int, AsyncConnection]
) -> None:
    demands = await refresh_demand(database.engine, instance=A, demand=1.0, expiry=5.0)
    assert demands.locked
    await crash(alive.pop(A))  # the database restarted, say
    demands = await refresh_demand(database.engine, instance=A, demand=1.0, expiry=5.0)
    assert not demands.locked


async def test_a_stopped_instance_deletes_its_row(
    database: Database, alive: dict[int, AsyncConnection]
) -> None:
    await refresh(database, A, 1.0)
    await refresh(database, B, 1.0)
    await forget_instance(database.engine, alive.pop(B), instance=B)
    assert await refresh(database, A, 1.0) == {A: 1.0}


def limiter() -> PriorityRateLimiter:
    return PriorityRateLimiter(overall=Pace(29.0, 10), per_chat=Pace(1.0, 2))


async def test_instances_share_the_budget_lowering_at_once_raising_a_refresh_late(
    database: Database,
) -> None:
    first, second = limiter(), limiter()
    # No background refreshes: the test makes them.
    a = SharedBudget(database, first, refresh_seconds=3600)
    b = SharedBudget(database, second, refresh_seconds=3600)
    await a.start()
    assert first.overall == Pace(29.0, 10)  # alone: all of it
    await b.start()
    assert second.overall == Pace(14.5, 5)  # a newcomer takes its part at once
    await a.refresh()
    assert first.overall == Pace(14.5, 5)  # lowered at once
    await b.stop()
    await a.refresh()
    assert first.overall == Pace(14.5, 5)  # raised one refresh late
    await a.refresh()
    assert first.overall == Pace(29.0, 10)
    await a.stop()
    assert await instances(database) == set()


async def test_a_restarted_instance_does_not_share_with_its_crashed_self(
    database: Database,
) -> None:
    crashed, restarted = limiter(), limiter()
    before = SharedBudget(database, crashed, refresh_seconds=3600)
    await before.start()
    await crash(before._lock)  # kill -9: no stop
    after = SharedBudget(database, restarted, refresh_seconds=3600)
    await after.start()
    assert restarted.overall == Pace(29.0, 10)
    await after.stop()


async def test_an_instance_that_lost_its_lock_takes_it_again(database: Database) -> None:
    budget = SharedBudget(database, limiter(), refresh_seconds=3600)
    await budget.start()
    await crash(budget._lock)  # the database restarted, say
    await budget.refresh()  # finds it lost, takes it again
    demands = await refresh_demand(
        database.engine, instance=budget.instance, demand=0.0, expiry=EXPIRY_SECONDS
    )
    assert demands.locked
    await budget.stop()
