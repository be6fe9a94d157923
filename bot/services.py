"""What handlers and jobs need besides the update: settings, database, clock."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.settings import Settings
from db.session import Database


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock
