"""亮点: good service recorded for a unit; the monthly scorecard counts them."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Highlight, HighlightSource

# Ids per IN list: under every database's limit on parameters (a region has 50,000 sites).
_CHUNK = 5000


async def add_highlight(
    *,
    session: AsyncSession,
    unit_id: int,
    author_id: int,
    text: str,
    source: HighlightSource,
    now: datetime,
    photo_file_id: str | None = None,
) -> Highlight:
    highlight = Highlight(
        unit_id=unit_id,
        author_id=author_id,
        text=text,
        photo_file_id=photo_file_id,
        source=source,
        created_at=now,
    )
    session.add(highlight)
    await session.flush()
    return highlight


async def count_highlights(
    *, session: AsyncSession, unit_ids: Collection[int], start: datetime, end: datetime
) -> dict[int, int]:
    """Highlights per unit recorded in [start, end); units without any are left out."""
    wanted = sorted(set(unit_ids))
    counts: dict[int, int] = {}
    for first in range(0, len(wanted), _CHUNK):
        statement = (
            select(Highlight.unit_id, func.count())
            .where(col(Highlight.unit_id).in_(wanted[first : first + _CHUNK]))
            .where(col(Highlight.created_at) >= start)
            .where(col(Highlight.created_at) < end)
            .group_by(col(Highlight.unit_id))
        )
        counts.update({unit_id: count for unit_id, count in (await session.exec(statement)).all()})
    return counts


async def list_highlights(
    *, session: AsyncSession, unit_ids: Collection[int], start: datetime, end: datetime
) -> Sequence[Highlight]:
    """The highlights of these units recorded in [start, end), oldest first."""
    wanted = sorted(set(unit_ids))
    found: list[Highlight] = []
    for first in range(0, len(wanted), _CHUNK):
        statement = (
            select(Highlight)
            .where(col(Highlight.unit_id).in_(wanted[first : first + _CHUNK]))
            .where(col(Highlight.created_at) >= start)
            .where(col(Highlight.created_at) < end)
        )
        found.extend((await session.exec(statement)).all())
    return sorted(found, key=lambda highlight: (highlight.created_at, highlight.id or 0))
