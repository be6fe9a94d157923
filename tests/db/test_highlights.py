"""Highlights (亮点) are stored per unit and counted per month for the scorecard, on both
databases."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.views import texts
from db.highlights import add_highlight, count_highlights, list_highlights
from db.models import HighlightSource, Staff, Unit
from db.org_import import import_org, read_org_file
from db.session import Database
from tests.conftest import SAMPLE_ORG

SHANGHAI = ZoneInfo("Asia/Shanghai")
DECEMBER = datetime(2026, 12, 1, tzinfo=SHANGHAI)
JANUARY = datetime(2027, 1, 1, tzinfo=SHANGHAI)


async def _ids(database: Database) -> tuple[dict[str, int], int]:
    async with database.session() as session:
        await import_org(
            read_org_file(SAMPLE_ORG), labels=texts.IMPORT_LABELS, session=session, now=DECEMBER
        )
        units = {u.code: u.id for u in (await session.exec(select(Unit))).all() if u.id}
        author = (await session.exec(select(Staff).where(Staff.code == "A001"))).one()
        assert author.id is not None
        return units, author.id


async def test_highlights_are_counted_per_unit_within_the_month(database: Database) -> None:
    units, author = await _ids(database)
    recorded = [
        ("TZ-C1", DECEMBER, HighlightSource.PRAISE),  # the first instant of the month counts
        ("TZ-C1", DECEMBER + timedelta(days=3), HighlightSource.COMMAND),
        ("TZ-D1", JANUARY - timedelta(seconds=1), HighlightSource.PRAISE),
        ("TZ-D1", JANUARY, HighlightSource.PRAISE),  # the next month's
        ("TK-C1", DECEMBER - timedelta(seconds=1), HighlightSource.COMMAND),  # the last month's
    ]
    async with database.session() as session:
        for code, at, source in recorded:
            await add_highlight(
                session=session,
                unit_id=units[code],
                author_id=author,
                text=f"{code} 服务好",
                source=source,
                now=at,
                photo_file_id="photo-1" if source is HighlightSource.COMMAND else None,
            )
    async with database.session() as session:
        scope = [units["TZ-C1"], units["TZ-D1"], units["TK-C1"], units["TK-D1"]]
        counts = await count_highlights(
            session=session, unit_ids=scope, start=DECEMBER, end=JANUARY
        )
        listed = await list_highlights(session=session, unit_ids=scope, start=DECEMBER, end=JANUARY)
    assert counts == {units["TZ-C1"]: 2, units["TZ-D1"]: 1}
    assert [(h.unit_id, h.source, h.photo_file_id) for h in listed] == [
        (units["TZ-C1"], HighlightSource.PRAISE, None),
        (units["TZ-C1"], HighlightSource.COMMAND, "photo-1"),
        (units["TZ-D1"], HighlightSource.PRAISE, None),
    ]
    assert all(h.created_at.tzinfo is not None for h in listed)
