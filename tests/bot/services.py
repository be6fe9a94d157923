"""Services for use-case tests: the shipped config on a test database, no Telegram."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bot.clock import ManualClock
from bot.services import Services
from bot.settings import load_settings
from tests.conftest import REPO, SHANGHAI


def services_for(database_url: str) -> Services:
    loaded = load_settings(
        REPO / "config.toml", {"TELEGRAM_BOT_TOKEN": "1:test", "DATABASE_URL": database_url}
    )
    calendar = loaded.calendar.model_copy(update={"admin_dir": Path("/nonexistent")})
    clock = ManualClock(datetime(2026, 11, 25, 9, tzinfo=SHANGHAI))
    return Services.create(loaded.model_copy(update={"calendar": calendar}), clock)
