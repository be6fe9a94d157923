"""The reference cache: read once, read again when old or told to forget."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from bot.reference import MAX_AGE, ReferenceCache
from bot.views import texts
from db.models import Segment, Unit
from db.org_import import import_org, read_org_file
from db.session import Database
from tests.conftest import SAMPLE_ORG

NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


async def test_read_once_then_again_when_old_or_forgotten(database: Database) -> None:
    async with database.session() as session:
        await import_org(
            read_org_file(SAMPLE_ORG), labels=texts.IMPORT_LABELS, session=session, now=NOW
        )
    seconds = [0.0]
    cache = ReferenceCache(clock=lambda: seconds[0])
    async with database.session() as session:
        first = await cache.get(session)
        region = next(u for u in first.units.values() if u.parent_id is None)
        assert first.unit_name(region.id) == "内蒙古邮政区公司"
        assert first.unit_name(None) == "" and first.unit_name(10**6) == ""
        assert {p.department for p in first.handlers} >= {"delivery", "market", "finance"}
        assert first.managers and cache.seen_import() == first.org_import is not None
        unit = await session.get(Unit, region.id)
        assert unit is not None
        unit.name = "内蒙古自治区邮政分公司"
        session.add(unit)
        segment = (await session.exec(select(Segment).where(Segment.code == "TZ-D1-E2"))).one()
        assert segment.id is not None and first.segment_names[segment.id] == "东2段"
        segment.name = "东二段"
        session.add(segment)
    async with database.session() as session:
        seconds[0] = MAX_AGE - 1
        assert await cache.get(session) is first
        seconds[0] = MAX_AGE + 1
        renamed = await cache.get(session)
        assert renamed.unit_name(region.id) == "内蒙古自治区邮政分公司"
        assert renamed.segment_names[segment.id] == "东二段"
        cache.forget()
        assert await cache.get(session) is not renamed
