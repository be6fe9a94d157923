"""Scheduled work. One repeating job ("tick") runs everything that is due; each step is
idempotent and checks the database, so a restart or a second instance neither misses nor
repeats anything, and tests can run a tick at any clock time."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.app.health import note_heartbeat
from bot.context import BotContext
from bot.services import Services
from bot.usecases.checks import close_day, plan_and_push, remind_unfinished
from bot.usecases.complaints import escalate_overdue
from bot.usecases.coverage import tell_admins_about_gaps
from bot.usecases.housekeeping import (
    prune_handled_updates,
    refresh_names_after_import,
    retrain_with_new_examples,
    warn_missing_calendar_years,
)
from bot.usecases.reports import send_monthly_reports
from bot.usecases.retention import anonymise_old_personal_data

logger = logging.getLogger(__name__)

TICK_JOB = "tick"
TICK_SECONDS = 60

Step = Callable[[Services], Awaitable[object]]
# Closing yesterday comes before planning today: the planner must see the misses.
STEPS: tuple[Step, ...] = (
    refresh_names_after_import,
    retrain_with_new_examples,
    close_day,
    plan_and_push,
    remind_unfinished,
    escalate_overdue,
    warn_missing_calendar_years,
    tell_admins_about_gaps,
    anonymise_old_personal_data,
    prune_handled_updates,
    # Last: the month's last day must be closed (missed checks counted) before it is reported.
    send_monthly_reports,
)


async def run_due_work(services: Services) -> None:
    """Run every step once; one failing step is logged and does not stop the others."""
    for step in STEPS:
        try:
            await step(services)
        except Exception:
            logger.exception("scheduled step %s failed", step.__name__)
    await note_heartbeat(services)


async def tick(context: BotContext) -> None:
    await run_due_work(context.services)
