"""Double presses: the same button of the same message pressed again within a moment.

People tap twice when the answer seems slow; the second tap must not do the work again.
State-changing actions refuse a repeat on their own (a confirmed draft cannot be confirmed
twice); this also spares the repeated prompts and keyboards of the others. Per process:
the time is a human's double tap (monotonic), not the business clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable

DOUBLE_PRESS_WINDOW = 2.0  # seconds

PressKey = tuple[int, int, str]  # user, message, callback data


class PressMemory:
    def __init__(
        self,
        window: float = DOUBLE_PRESS_WINDOW,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._window = window
        self._monotonic = monotonic
        self._seen: dict[PressKey, float] = {}

    def is_repeat(self, user_id: int, message_id: int, data: str) -> bool:
        """Remembers this press; True if the same one came within the window before it."""
        now = self._monotonic()
        self._seen = {k: at for k, at in self._seen.items() if now - at < self._window}
        key = (user_id, message_id, data)
        repeat = key in self._seen
        self._seen[key] = now
        return repeat
