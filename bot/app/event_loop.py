"""The event loop every process of the bot runs on: uvloop's where it is installed.

Everything the bot does per update is small pieces of work between awaits (a statement, a
request, a reply), so the loop's own cost per step shows: on uvloop the bot, the sandbox and
the echo bot of the benches each spent about a tenth less CPU per update (README,
Performance). The standard loop stays where uvloop does not exist (Windows).
"""

from __future__ import annotations

import asyncio
import logging

logger = logging.getLogger(__name__)


def use_fast_event_loop() -> str:
    """Makes new event loops uvloop's, when it is installed; the name of the loop in use."""
    try:
        import uvloop
    except ImportError:
        return "asyncio"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"
