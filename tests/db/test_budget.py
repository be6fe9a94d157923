"""The instances' rows of send_budget on PostgreSQL: each refresh writes its own and reads the
live ones, a stale row is not counted and an old one deleted; and the parts the instances
take from them (bot/budget.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bot.budget import EXPIRY_SECONDS, SharedBudget
from bot.ratelimit import Pace, PriorityRateLimiter
from db.budget import FORGET_SECONDS, forget_instance, refresh_demand
from db.session import Database

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


async def refresh(database: Database, instance: str, demand: float) -> dict[str, float]:
    return await refresh_demand(
        database.engine, instance=instance, demand=demand, expiry=EXPIRY_SECONDS
    )


async def seen_ago(database: Database, instance: str, seconds: float) -> None:
    async with database.engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE send_budget SET seen_at = now() - make_interval(secs => :seconds) "
                "WHERE instance = :instance"
            ),
            {"instance": instance, "seconds": seconds},
        )


async def instances(database: Database) -> set[str]:
    async with database.engine.connect() as connection:
        return set((await connection.execute(text("SELECT instance FROM send_budget"))).scalars())


async def test_each_refresh_writes_its_row_and_reads_the_live_ones(database: Database) -> None:
    assert await refresh(database, "a", 3.0) == {"a": 3.0}
    assert await refresh(database, "b", 5.0) == {"a": 3.0, "b": 5.0}
    assert await refresh(database, "a", 7.5) == {"a": 7.5, "b": 5.0}


async def test_a_stale_row_is_not_counted_and_an_old_one_goes(database: Database) -> None:
    for instance in ("a", "crashed", "long-gone"):
        await refresh(database, instance, 1.0)
    await seen_ago(database, "crashed", EXPIRY_SECONDS + 1)
    await seen_ago(database, "long-gone", FORGET_SECONDS + 1)
    assert await refresh(database, "a", 2.0) == {"a": 2.0}
    assert await instances(database) == {"a", "crashed"}
    # An instance back after a long pause (its own row that old) is counted again.
    await seen_ago(database, "a", FORGET_SECONDS + 1)
    assert await refresh(database, "a", 2.0) == {"a": 2.0}


async def test_a_stopped_instance_deletes_its_row(database: Database) -> None:
    await refresh(database, "a", 1.0)
    await refresh(database, "b", 1.0)
    await forget_instance(database.engine, instance="b")
    assert await refresh(database, "a", 1.0) == {"a": 1.0}


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
    assert first.overall == Pace(1.0, 1)  # a new instance starts at the floor
    await a.refresh()
    assert first.overall == Pace(29.0, 10)  # alone: all of it
    await b.start()
    assert second.overall == Pace(1.0, 1)
    await a.refresh()
    assert first.overall == Pace(14.5, 5)  # lowered at once
    await b.refresh()
    assert second.overall == Pace(14.5, 5)
    await b.stop()
    await a.refresh()
    assert first.overall == Pace(14.5, 5)  # raised one refresh late
    await a.refresh()
    assert first.overall == Pace(29.0, 10)
    await a.stop()
    assert await instances(database) == set()
