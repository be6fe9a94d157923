"""Counting the SQL statements an update runs, for the round-trip test and the per-update bench.

The outbox sender's tasks poll and mark rows whenever they like, and workers look for the
next update whenever they are idle and woken (by any update stored or done) or their idle
poll comes round: how often either happens is timing, not an update's work. So the sender's
statements are not recorded, nor the send budget's refreshes (bot/budget.py, once a second
on PostgreSQL), and an update is counted with the one look that took it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from bot.budget import BUDGET_TASK
from db.session import Database

# A worker's look for the next update (db/inbox.py `claim_next_update`).
WORKER_LOOK = "SELECT inbox."


@contextmanager
def recorded_statements(database: Database) -> Iterator[list[str]]:
    """The SQL the bot runs on `database` while the block runs, but the outbox sender's and
    the send budget's."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        task = asyncio.current_task()
        if task is None or not task.get_name().startswith(("outbox", BUDGET_TASK)):
            seen.append(statement)

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def is_worker_look(statement: str) -> bool:
    return statement.startswith(WORKER_LOOK)


def own_statements(seen: Sequence[str]) -> list[str]:
    """The update's own statements: all recorded but the workers' looks."""
    return [statement for statement in seen if not is_worker_look(statement)]


def statement_count(seen: Sequence[str]) -> int:
    """The update's statements with the one look that took it."""
    return len(own_statements(seen)) + 1
