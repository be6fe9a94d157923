"""`python -m bot classify`: one complaint per line on stdin, one JSON object per line out,
so an admin can check the routing on a batch of past complaints."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from bot.settings import Settings
from bot.usecases.reader import build_reader
from db.session import Database
from nlp.entities import Place

if TYPE_CHECKING:
    # numpy and jieba come with it: `python -m bot run` should not load them at start.
    from nlp.reader import ComplaintReader


def _name(place: Place | None) -> str | None:
    return place.name if place is not None else None


def classify_lines(
    lines: Iterable[str], reader: ComplaintReader, settings: Settings
) -> Iterator[dict[str, object]]:
    for line in lines:
        text = line.strip()
        if not text:
            continue
        reading = reader.read(text)
        summary = reading.to_json_dict()
        extraction = reading.extraction
        yield {
            "text": text,
            "category": summary["category"],
            "categories": summary["categories"],
            "confidence": round(reading.classification.confidence, 3),
            "low_confidence": summary["low_confidence"],
            "choices": summary["choices"],
            "praise": summary["praise"],
            "department": settings.routing[reading.category].value,
            "site": _name(extraction.site),
            "segment": _name(extraction.segment),
            "transfer_point": _name(extraction.transfer_point),
            "tracking_numbers": summary["tracking_numbers"],
            "phones": summary["phones"],
            "urgent": summary["urgent"],
            "urgency_cues": summary["urgency_cues"],
        }


async def classify(settings: Settings) -> int:
    """Reads stdin with the organisation's place names (when the database has them)."""
    database = Database(settings.database.url)
    try:
        reader = await build_reader(database, settings.nlp.cache_dir)
    finally:
        await database.close()
    for result in classify_lines(sys.stdin, reader, settings):
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    return 0
