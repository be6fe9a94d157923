"""Fixtures of the bot's own tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def no_idle_look(monkeypatch: pytest.MonkeyPatch) -> None:
    """The update workers' safety net (a look now and then) out of the way: every look a
    test sees is one that something asked for."""
    monkeypatch.setattr("bot.app.inbox.IDLE_POLL_SECONDS", 600.0)
    monkeypatch.setattr("bot.app.inbox.DEAF_POLL_SECONDS", 600.0)
