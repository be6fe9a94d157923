"""The instances' rows of ``send_budget`` (PostgreSQL): each one's demand, for sharing
Telegram's overall limit among them (bot/budget.py). An instance counts while it holds its
liveness lock (db/liveness.py: a crashed one's goes with its connection) and has refreshed
its row lately (one that stalls stops counting too)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.liveness import alive_sql, hold_lock, release_lock

# First key of the advisory locks of live instances' budgets.
BUDGET_LOCK_CLASS = 0x7362  # "sb"
# A row nobody refreshed for this long is a stopped or crashed instance's: it is deleted by
# the next refresh of any instance (a live one's row is seconds old).
FORGET_SECONDS = 60.0

# Written out: one statement per refresh, one round trip. Its own row written and the others
# read in one go; a CTE's query sees the table as it was before the statement, so this
# instance's row comes from RETURNING, with whether its lock is still held (the lock's
# connection may have been dropped). Times are the database's, whatever the hosts' clocks.
_REFRESH = text(
    "WITH mine AS ("
    " INSERT INTO send_budget (instance, seen_at, demand) VALUES (:instance, now(), :demand)"
    " ON CONFLICT (instance) DO UPDATE SET seen_at = excluded.seen_at, demand = excluded.demand"
    " RETURNING instance, demand"
    "), forgotten AS ("
    " DELETE FROM send_budget WHERE instance <> :instance"
    " AND seen_at < now() - make_interval(secs => :forget)"
    ") "
    f"SELECT instance, demand, {alive_sql(BUDGET_LOCK_CLASS, 'mine.instance')} AS alive "
    "FROM mine UNION ALL "
    "SELECT instance, demand, true FROM send_budget WHERE instance <> :instance"
    " AND seen_at > now() - make_interval(secs => :expiry)"
    f" AND {alive_sql(BUDGET_LOCK_CLASS, 'send_budget.instance')}"
).bindparams(bindparam("forget", value=FORGET_SECONDS))

_FORGET = text("DELETE FROM send_budget WHERE instance = :instance")


@dataclass(frozen=True)
class Demands:
    by_instance: dict[int, float]  # the live instances', this one's included
    locked: bool  # this instance holds its lock: the others count it


async def refresh_demand(
    engine: AsyncEngine, *, instance: int, demand: float, expiry: float
) -> Demands:
    """Record this instance's demand (messages a second) and read every live instance's:
    those holding their lock and seen within ``expiry`` seconds."""
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        rows = list(
            await autocommit.execute(
                _REFRESH, {"instance": instance, "demand": demand, "expiry": expiry}
            )
        )
    return Demands(
        by_instance={row.instance: row.demand for row in rows},
        locked=any(row.instance == instance and row.alive for row in rows),
    )


async def lock_instance(engine: AsyncEngine, instance: int) -> AsyncConnection:
    """The lock that makes the others count this instance, on a connection of its own."""
    return await hold_lock(engine, BUDGET_LOCK_CLASS, instance)


async def forget_instance(
    engine: AsyncEngine, lock: AsyncConnection | None, *, instance: int
) -> None:
    """A stopping instance's row goes and its lock is let go: the others take its part at
    their next refresh."""
    try:
        async with engine.begin() as connection:
            await connection.execute(_FORGET, {"instance": instance})
    finally:
        if lock is not None:
            await release_lock(lock, BUDGET_LOCK_CLASS, instance)
