"""Long loops of CPU work on the event loop, handed back to it between slices, so other
people's updates are answered meanwhile (a morning's 7,500 checks and 2,000 pushes)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import TypeVar

T = TypeVar("T")

# Items between two hand-backs: a few milliseconds of work each slice.
SLICE = 200


async def handing_back(items: Iterable[T], every: int = SLICE) -> AsyncIterator[T]:
    """The items, the event loop handed back after every ``every`` of them."""
    for number, item in enumerate(items, start=1):
        yield item
        if number % every == 0:
            await asyncio.sleep(0)
