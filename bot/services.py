"""What handlers and jobs need besides the update: settings, database, clock, calendar."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.clock import Clock
from bot.presses import PressMemory
from bot.reference import ReferenceCache
from bot.settings import Settings
from db.session import Database
from scheduler.business_calendar import SHIPPED_CALENDAR_DIR, BusinessCalendar, WorkingHours
from scheduler.catalog import Catalog, load_catalog

if TYPE_CHECKING:
    # The reader's module imports numpy and jieba: loaded where the reader is built.
    from nlp.reader import ComplaintReader


@dataclass
class UnknownYears:
    """Years the calendar was asked about but has no data for; admins are told once each."""

    years: set[int] = field(default_factory=set)

    def __call__(self, year: int) -> None:
        self.years.add(year)


def build_calendar(settings: Settings, unknown_years: UnknownYears) -> BusinessCalendar:
    section = settings.calendar
    return BusinessCalendar.from_dirs(
        SHIPPED_CALENDAR_DIR,
        section.admin_dir,
        tz=settings.time.tz,
        working_hours=WorkingHours(section.work_start, section.work_end),
        extra_holidays=section.extra_holidays,
        extra_workdays=section.extra_workdays,
        on_unknown_year=unknown_years,
    )


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock
    calendar: BusinessCalendar
    unknown_years: UnknownYears
    catalog: Catalog
    # Built in the background from start-up on (jieba and the model take a second or
    # more, and most updates do not need it); tests may pass one in.
    complaint_reader: ComplaintReader | None = None
    reader_building: asyncio.Task[ComplaintReader] | None = None
    # The organisation import whose names the reader has (None: the state at start-up).
    org_import_seen: int | None = None
    # How many stored labelled examples the classifier was last trained with.
    examples_trained: int = 0
    # The organisation import whose 无人承担 gaps the admins were told of (None: not yet
    # since start-up; bot.usecases.coverage).
    gaps_told: tuple[int | None] | None = None
    presses: PressMemory = field(default_factory=PressMemory)
    # Units and posts, read once and again after an import (bot/reference.py).
    reference: ReferenceCache = field(default_factory=ReferenceCache)

    async def reader(self) -> ComplaintReader:
        """The complaint reader, once built (the first complaints after a start wait)."""
        if self.complaint_reader is None:
            assert self.reader_building is not None, "post_init starts building the reader"
            self.complaint_reader = await asyncio.shield(self.reader_building)
        return self.complaint_reader

    @classmethod
    def create(cls, settings: Settings, clock: Clock) -> Services:
        unknown_years = UnknownYears()
        return cls(
            settings=settings,
            db=Database(settings.database.url),
            clock=clock,
            calendar=build_calendar(settings, unknown_years),
            unknown_years=unknown_years,
            catalog=load_catalog(settings.checks.catalog),
        )
