"""The instances' rows of ``send_budget`` (PostgreSQL): each one's demand, for sharing
Telegram's overall limit among them (bot/budget.py)."""

from __future__ import annotations

import secrets

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine

# A row nobody refreshed for this long is a stopped or crashed instance's: it is deleted by
# the next refresh of any instance (a live one's row is seconds old).
FORGET_SECONDS = 60.0

# Written out: one statement per refresh, one round trip. Its own row written and the others
# read in one go; a CTE's query sees the table as it was before the statement, so this
# instance's row comes from RETURNING. Times are the database's, whatever the hosts' clocks.
_REFRESH = text(
    "WITH mine AS ("
    " INSERT INTO send_budget (instance, seen_at, demand) VALUES (:instance, now(), :demand)"
    " ON CONFLICT (instance) DO UPDATE SET seen_at = excluded.seen_at, demand = excluded.demand"
    " RETURNING instance, demand"
    "), forgotten AS ("
    " DELETE FROM send_budget WHERE instance <> :instance"
    " AND seen_at < now() - make_interval(secs => :forget)"
    ") "
    "SELECT instance, demand FROM mine UNION ALL "
    "SELECT instance, demand FROM send_budget WHERE instance <> :instance"
    " AND seen_at > now() - make_interval(secs => :expiry)"
).bindparams(bindparam("forget", value=FORGET_SECONDS))

_FORGET = text("DELETE FROM send_budget WHERE instance = :instance")


def new_instance_id() -> str:
    return secrets.token_hex(8)


async def refresh_demand(
    engine: AsyncEngine, *, instance: str, demand: float, expiry: float
) -> dict[str, float]:
    """Record this instance's demand (messages a second) and return every live instance's,
    this one's included: those seen within ``expiry`` seconds."""
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        rows = await autocommit.execute(
            _REFRESH, {"instance": instance, "demand": demand, "expiry": expiry}
        )
        return {row.instance: row.demand for row in rows}


async def forget_instance(engine: AsyncEngine, *, instance: str) -> None:
    """A stopping instance's row goes: the others take its part at their next refresh."""
    async with engine.begin() as connection:
        await connection.execute(_FORGET, {"instance": instance})
