"""Builds the complaint reader from the shipped corpus, the reporters' own labelled
examples and the organisation's place names; keeps the names fresh after re-imports."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sqlmodel.ext.asyncio.session import AsyncSession

from db.complaints import list_labelled_examples, place_names
from db.models import LabelledExample as StoredExample
from db.session import Database
from nlp.categories import Category
from nlp.corpus import LabelledExample
from nlp.entities import OrgNames, Place
from scheduler.org import Level

if TYPE_CHECKING:
    from nlp.reader import ComplaintReader

logger = logging.getLogger(__name__)


async def load_org_names(session: AsyncSession) -> OrgNames:
    units, segments, points = await place_names(session=session)
    return OrgNames(
        sites=tuple(
            Place(id=u.id, name=u.name, site_id=u.id)
            for u in units
            if u.id is not None and u.level is Level.SITE
        ),
        segments=tuple(
            Place(id=s.id, name=s.name, site_id=s.site_id) for s in segments if s.id is not None
        ),
        transfer_points=tuple(
            Place(id=p.id, name=p.name, site_id=p.site_id) for p in points if p.id is not None
        ),
    )


def as_training_examples(stored: Sequence[StoredExample]) -> list[LabelledExample]:
    return [LabelledExample(text=e.text, categories=(Category(e.category),)) for e in stored]


def _create_reader(
    names: OrgNames, extra: list[LabelledExample], cache_dir: Path
) -> ComplaintReader:
    # Imported here, in the reader's thread: numpy and jieba were a large part of the bot's
    # start-up, and polling need not wait for them.
    from nlp.reader import ComplaintReader

    return ComplaintReader.create(names, extra_examples=extra, cache_dir=cache_dir)


async def build_reader(database: Database, cache_dir: Path) -> ComplaintReader:
    """The reader for the stored examples and names; `cache_dir` keeps jieba's dictionary
    and the trained model between start-ups ([nlp] cache_dir)."""
    async with database.session() as session:
        stored = await list_labelled_examples(session=session)
        names = await load_org_names(session)
    extra = as_training_examples(stored)
    # jieba's dictionary load and the training take about a second: keep the loop free.
    reader = await asyncio.to_thread(_create_reader, names, extra, cache_dir)
    logger.info("complaint reader: %d stored examples, %d sites", len(extra), len(names.sites))
    return reader


async def refresh_names(database: Database, reader: ComplaintReader) -> None:
    async with database.session() as session:
        names = await load_org_names(session)
    reader.update_names(names)
