"""`python -m bot calendar years|import FILE`: which years the working-day calendar knows,
and adding next year's from the State Council notice before the bot needs it."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from bot.settings import Settings
from bot.views import texts
from scheduler.business_calendar import (
    SHIPPED_CALENDAR_DIR,
    CalendarError,
    import_year_file,
    load_calendar_years,
)


def _echo(text: str) -> None:
    sys.stdout.write(text + "\n")


def list_years(settings: Settings, today: date) -> int:
    years = load_calendar_years(SHIPPED_CALENDAR_DIR, settings.calendar.admin_dir)
    for year in sorted(years):
        calendar = years[year]
        _echo(
            texts.calendar_year_line(
                year, len(calendar.holidays), len(calendar.workdays), calendar.source
            )
        )
    for year in (today.year, today.year + 1):
        if year not in years:
            _echo(texts.calendar_year_missing(year))
    return 0


def import_year(settings: Settings, path: Path) -> int:
    try:
        calendar = import_year_file(path, settings.calendar.admin_dir)
    except (CalendarError, OSError) as error:
        _echo(texts.calendar_import_failed(str(error)))
        return 1
    _echo(
        texts.calendar_imported(calendar.year, len(calendar.holiday_dates), len(calendar.workdays))
    )
    return 0
