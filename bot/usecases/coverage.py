"""无人承担: the units whose checks nobody holds the duty for (a catalog item names the duty
that performs it; staff hold duties). Such checks are never planned for anyone, so they must
never pass in silence: every admin hears of the gaps in their scope at every start and after
every organisation import; /progress and the monthly report show them apart from misses."""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services import Services
from bot.usecases.messages import enqueue_message
from bot.views import texts
from db.checks import load_org_snapshot
from db.staff import latest_org_import, list_staff_posts, load_org_units, reachable_holders
from scheduler.catalog import Catalog
from scheduler.complaints import units_within
from scheduler.org import Role
from scheduler.planner import uncovered

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Gap:
    """One unit x catalog item with nobody to do it."""

    unit_id: int
    unit: str
    item: str
    duty: str


async def list_gaps(
    catalog: Catalog, *, session: AsyncSession, scope: Collection[int] | None = None
) -> list[Gap]:
    """Every unit x item nobody holds the duty for (within ``scope`` when given)."""
    org = await load_org_snapshot(session=session)  # operating days do not matter here
    names = {unit.id: unit.name for unit in org.units}
    items = {item.id: item for item in catalog}
    gaps: list[Gap] = []
    for gap in uncovered(catalog, org):
        if scope is not None and gap.unit_id not in scope:
            continue
        item = items[gap.item_id]
        duty = catalog.duty(item.duty).name if item.duty else ""
        gaps.append(Gap(gap.unit_id, names.get(gap.unit_id, ""), item.title, duty))
    return gaps


async def tell_admins_about_gaps(services: Services) -> int:
    """Scheduled step: at start and after each organisation import, every admin gets the
    gaps within their unit; returns how many messages were queued."""
    now = services.clock.now()
    async with services.db.session() as session:
        latest = await latest_org_import(session=session)
        if services.gaps_told == (latest,):
            return 0
        gaps = await list_gaps(services.catalog, session=session)
        units = await load_org_units(session=session)
        queued = 0
        told = False
        admins = await list_staff_posts(session=session, role=Role.ADMIN)
        for admin in await reachable_holders(session=session, posts=admins):
            scope = units_within(admin.post.unit_id, units)
            mine = [gap for gap in gaps if gap.unit_id in scope]
            if not mine:
                continue
            told = True
            # One message per admin per import and start (the start is part of the key).
            queued += await enqueue_message(
                session=session,
                key=f"uncovered:{latest}:{now:%Y%m%dT%H%M}:{admin.post.staff_id}",
                chat_id=admin.chat_id,
                text=texts.uncovered_notice(
                    [(gap.unit_id, gap.unit, gap.duty, gap.item) for gap in mine]
                ),
                now=now,
            )
    if gaps:
        logger.warning("%d unit x item checks have nobody holding their duty (无人承担)", len(gaps))
    if gaps and not told:
        logger.error(
            "no admin can be told of the %d 无人承担 checks: none registered over them, "
            "or all blocked the bot",
            len(gaps),
        )
    services.gaps_told = (latest,)
    return queued
