"""Scheduled upkeep: warn admins about missing calendar years, and pick up an organisation
re-imported by another process (new site and segment names for the complaint reader)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from bot.services import Services
from bot.usecases.messages import enqueue_message
from bot.usecases.reader import as_training_examples, load_org_names
from bot.views import texts
from db.complaints import list_labelled_examples
from db.inbox import prune_done_updates
from db.staff import get_staff, latest_org_import, list_staff_posts
from scheduler.org import Role

logger = logging.getLogger(__name__)

# From this month on, next year's holiday notice is due (the State Council publishes it
# in late October or November) and the bot starts asking admins for it.
NEXT_YEAR_WARNING_MONTH = 11


async def warn_missing_calendar_years(services: Services) -> int:
    """Tell every admin once per year: a year the calendar was asked about has no data,
    or next year is near and still unknown."""
    now = services.clock.now()
    missing = set(services.unknown_years.years)
    if now.month >= NEXT_YEAR_WARNING_MONTH and now.year + 1 not in services.calendar.known_years():
        missing.add(now.year + 1)
    if not missing:
        return 0
    sent = 0
    async with services.db.session() as session:
        for admin in await list_staff_posts(session=session, role=Role.ADMIN):
            person = await get_staff(session=session, staff_id=admin.staff_id)
            if person.telegram_user_id is None:
                continue
            for year in sorted(missing):
                sent += await enqueue_message(
                    session=session,
                    key=f"calendar-missing:{year}:{admin.staff_id}",
                    chat_id=person.telegram_user_id,
                    text=texts.calendar_year_missing(year),
                    now=now,
                )
    return sent


async def retrain_with_new_examples(services: Services) -> bool:
    """Categories that reporters chose themselves become training data: the classifier is
    retrained (off the event loop) whenever new ones were stored."""
    async with services.db.session() as session:
        stored = await list_labelled_examples(session=session)
    if len(stored) <= services.examples_trained:
        return False
    reader = await services.reader()
    await asyncio.to_thread(reader.retrain, as_training_examples(stored))
    services.examples_trained = len(stored)
    logger.info("classifier retrained with %d stored examples", len(stored))
    return True


async def refresh_names_after_import(services: Services) -> bool:
    """After an organisation import (maybe by the CLI in another process), the cached units
    and posts are read again and the reader learns the new site, segment and transfer-point
    names."""
    async with services.db.session() as session:
        latest = await latest_org_import(session=session)
        if latest is None or latest == services.org_import_seen:
            return False
        await services.reference.reload(session)
        names = await load_org_names(session)
    # Rebuilding jieba's name dictionary takes a while for a large organisation.
    reader = await services.reader()
    await asyncio.to_thread(reader.update_names, names)
    services.org_import_seen = latest
    logger.info("organisation import %s picked up: complaint reader names refreshed", latest)
    return True


async def prune_handled_updates(services: Services) -> int:
    """Handled updates older than the retention are forgotten (they only recognised
    redeliveries, which do not come that late)."""
    retention = timedelta(days=services.settings.updates.retention_days)
    async with services.db.session() as session:
        return await prune_done_updates(session=session, before=services.clock.now() - retention)
