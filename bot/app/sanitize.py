"""Incoming updates made harmless before any handler sees them (the inbox's workers clean
each one as they read it, bot/app/inbox.py).

Telegram passes on what clients send, and buggy or forged clients send anything: NUL (which
PostgreSQL text columns refuse), other control characters, lone surrogates (which cannot be
encoded for the database or the Bot API). Each such character becomes a space: one UTF-16
unit for one, so message entities (a command's offset and length) stay right. Tabs and line
breaks are kept; zero-width and right-to-left marks are ordinary text and stay too.
"""

from __future__ import annotations

import logging
import re
from typing import Any

logger = logging.getLogger(__name__)

# C0 and C1 controls except \t \n \r, DEL, and UTF-16 surrogates (only lone ones reach str).
_HARMFUL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_text(text: str) -> str:
    return _HARMFUL.sub(" ", text)


def _cleaned(value: Any) -> tuple[Any, bool]:
    """The value with every string in it cleaned, and whether anything changed."""
    if isinstance(value, str):
        cleaned = clean_text(value)
        return cleaned, cleaned != value
    if isinstance(value, dict):
        items = {key: _cleaned(item) for key, item in value.items()}
        return {key: item for key, (item, _) in items.items()}, any(
            changed for _, changed in items.values()
        )
    if isinstance(value, list):
        elements = [_cleaned(item) for item in value]
        return [item for item, _ in elements], any(changed for _, changed in elements)
    return value, False


def clean_update_data(data: dict[str, Any]) -> dict[str, Any]:
    """An update as Telegram sent it (its JSON, parsed) with every string in it cleaned,
    before it becomes an ``Update``: cleaning the parsed object meant turning it back into
    a dict and, when something changed, parsing that again."""
    cleaned, changed = _cleaned(data)
    if changed:
        logger.info("update %s: control characters replaced", data.get("update_id"))
    return cleaned  # type: ignore[no-any-return]
