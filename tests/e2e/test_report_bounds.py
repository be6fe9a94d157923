"""Months a report can be asked for: from the go-live year (the first organisation import)
to the current month; anything else is a clear answer, never an internal error or an admin
warned about a calendar year nobody needs (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.clock import ManualClock
from bot.views import texts
from tests.conftest import SHANGHAI
from tests.e2e.harness import Harness


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 10, 20, 10, tzinfo=SHANGHAI))  # no 2027 notice yet


@pytest.mark.parametrize(
    ("command", "answer"),
    [
        ("/report 0001-01", texts.REPORT_BEFORE_GO_LIVE),
        ("/report 1900-02", texts.REPORT_BEFORE_GO_LIVE),
        ("/report 2025-12", texts.REPORT_BEFORE_GO_LIVE),
        ("/stats 1900-02", texts.REPORT_BEFORE_GO_LIVE),
        ("/report 2026-12", texts.REPORT_FUTURE_MONTH),
    ],
)
async def test_a_month_outside_go_live_to_now_gets_a_clear_answer(
    quiet_bot: Harness, command: str, answer: str
) -> None:
    admin = await quiet_bot.register("A001")
    manager = await quiet_bot.register("M003")
    await manager.send(command)
    assert (await manager.reply()).content == answer
    await quiet_bot.tick()
    await admin.no_reply(within=0.3)  # no warning about a 1900 (or 0001) holiday calendar
