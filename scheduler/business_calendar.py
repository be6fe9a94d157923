"""Working days and working hours on the official Chinese calendar (放假 and 调休上班).

The official calendar is data, one TOML file per year, transcribed by an admin each
November from 国务院办公厅关于YYYY年部分节假日安排的通知::

    year = 2027
    source = "国务院办公厅关于2027年部分节假日安排的通知"
    workdays = [2027-01-31, 2027-02-20]  # 调休上班, each a Saturday or Sunday

    [[holidays]]
    name = "春节"
    start = 2027-02-05
    end = 2027-02-13  # inclusive, weekends inside the period included

TOML wants the top-level keys (`year`, `source`, `workdays`) before the first
`[[holidays]]`. Every date lies inside `year`, so a period crossing New Year is split
between the two years' files. A year without a file falls back to weekends-only, loudly.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

logger = logging.getLogger(__name__)

SHIPPED_CALENDAR_DIR = Path(__file__).parent / "data" / "calendar"

_TOP_LEVEL_KEYS = frozenset({"year", "source", "workdays", "holidays"})
_HOLIDAY_KEYS = frozenset({"name", "start", "end"})
_YEAR_FILE_NAME = re.compile(r"[0-9]{4}\.toml")
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Official periods last at most nine days; only broken data or overrides could exhaust this.
_MAX_SEARCH_DAYS = 366


class CalendarError(ValueError):
    """Invalid calendar data; the message starts with the file (or object) at fault."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem


@dataclass(frozen=True)
class Holiday:
    """One holiday period (放假), both ends inclusive."""

    name: str
    start: date
    end: date


@dataclass(frozen=True)
class YearCalendar:
    """One year of the official calendar; validated on construction."""

    year: int
    holidays: tuple[Holiday, ...]
    workdays: frozenset[date]  # make-up working days (调休上班)
    source: str

    def __post_init__(self) -> None:
        problems = _year_problems(self)
        if problems:
            raise CalendarError(f"calendar for {self.year}", "; ".join(problems))

    @property
    def holiday_dates(self) -> frozenset[date]:
        return frozenset(d for h in self.holidays for d in _date_range(h.start, h.end))


@dataclass(frozen=True)
class WorkingHours:
    """Wall-clock opening hours of a working day in the calendar's time zone."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("WorkingHours takes wall-clock times without tzinfo")
        if self.start >= self.end:
            raise ValueError(f"WorkingHours: start {self.start} must be before end {self.end}")


class BusinessCalendar:
    """Working days (official calendar plus per-date overrides) and working hours in one zone.

    Instants must be timezone-aware; results are in the calendar's zone. Working time on a
    working day is the half-open interval [start, end).
    """

    def __init__(
        self,
        years: Mapping[int, YearCalendar],
        *,
        tz: ZoneInfo,
        working_hours: WorkingHours,
        extra_holidays: Iterable[date] = (),
        extra_workdays: Iterable[date] = (),
        on_unknown_year: Callable[[int], None] | None = None,
    ) -> None:
        for key, calendar in years.items():
            if key != calendar.year:
                raise ValueError(f"years[{key}] holds the calendar for {calendar.year}")
        self._years = dict(years)
        self._tz = tz
        self._hours = working_hours
        self._holidays: frozenset[date] = frozenset(
            d for calendar in self._years.values() for d in calendar.holiday_dates
        )
        self._workdays: frozenset[date] = frozenset(
            d for calendar in self._years.values() for d in calendar.workdays
        )
        self._extra_holidays = _plain_dates(extra_holidays, "extra_holidays")
        self._extra_workdays = _plain_dates(extra_workdays, "extra_workdays")
        both = sorted(self._extra_holidays & self._extra_workdays)
        if both:
            listed = ", ".join(d.isoformat() for d in both)
            raise ValueError(f"dates in both extra_holidays and extra_workdays: {listed}")
        self._on_unknown_year = on_unknown_year
        self._reported_years: set[int] = set()

    @classmethod
    def from_dirs(
        cls,
        *dirs: Path,
        tz: ZoneInfo,
        working_hours: WorkingHours,
        extra_holidays: Iterable[date] = (),
        extra_workdays: Iterable[date] = (),
        on_unknown_year: Callable[[int], None] | None = None,
    ) -> BusinessCalendar:
        """Load the year files of `dirs` (pass SHIPPED_CALENDAR_DIR first, admin dirs after)."""
        return cls(
            load_calendar_years(*dirs),
            tz=tz,
            working_hours=working_hours,
            extra_holidays=extra_holidays,
            extra_workdays=extra_workdays,
            on_unknown_year=on_unknown_year,
        )

    @property
    def tz(self) -> ZoneInfo:
        return self._tz

    @property
    def working_hours(self) -> WorkingHours:
        return self._hours

    def known_years(self) -> list[int]:
        return sorted(self._years)

    def is_working_day(self, day: date) -> bool:
        _require_plain_date(day)
        if day in self._extra_workdays:
            return True
        if day in self._extra_holidays:
            return False
        if day.year in self._years:
            if day in self._holidays:
                return False
            if day in self._workdays:
                return True
        else:
            self._report_unknown_year(day.year)
        return day.weekday() < 5

    def is_holiday(self, day: date) -> bool:
        """An official holiday (放假) or an extra one of the configuration; weekends inside
        a holiday period count, ordinary weekends do not."""
        _require_plain_date(day)
        if day in self._extra_workdays:
            return False
        return day in self._extra_holidays or day in self._holidays

    def working_days(self, start: date, end: date) -> list[date]:
        """The working days from start to end, both inclusive."""
        _require_plain_date(start)
        _require_plain_date(end)
        return [d for d in _date_range(start, end) if self.is_working_day(d)]

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        _require_plain_date(day)
        candidate = day
        for _ in range(_MAX_SEARCH_DAYS):
            candidate += timedelta(days=1)
            if self.is_working_day(candidate):
                return candidate
        raise CalendarError(
            "business calendar", f"no working day within {_MAX_SEARCH_DAYS} days after {day}"
        )

    def is_working_time(self, instant: datetime) -> bool:
        local = self._localize(instant)
        return (
            self.is_working_day(local.date())
            and self._hours.start <= local.time() < self._hours.end
        )

    def add_working_days(self, instant: datetime, days: int) -> datetime:
        """The same clock time `days` working days later (a complaint's answer deadline).

        An instant outside working time first moves to the start of the next working hours.
        """
        if days < 0:
            raise ValueError(f"days must not be negative, got {days}")
        start = self._next_working_instant(self._localize(instant))
        day = start.date()
        for _ in range(days):
            day = self.next_working_day(day)
        return datetime.combine(day, start.time(), tzinfo=self._tz)

    def add_working_hours(self, instant: datetime, hours: timedelta) -> datetime:
        """The instant after `hours` of working time; the inverse of working_time_between.

        Work that fills a day exactly ends at that day's closing time, not the next opening.
        """
        if hours < timedelta(0):
            raise ValueError(f"hours must not be negative, got {hours}")
        current = self._next_working_instant(self._localize(instant))
        remaining = hours
        while True:
            _, closing = self._opening_hours(current.date())
            available = _utc(closing) - _utc(current)
            if remaining <= available:
                return (_utc(current) + remaining).astimezone(self._tz)
            remaining -= available
            current, _ = self._opening_hours(self.next_working_day(current.date()))

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Working time inside [start, end); zero when end is not after start."""
        lo, hi = _utc(self._localize(start)), _utc(self._localize(end))
        total = timedelta(0)
        if hi <= lo:
            return total
        first, last = lo.astimezone(self._tz).date(), hi.astimezone(self._tz).date()
        for day in self.working_days(first, last):
            opening, closing = self._opening_hours(day)
            overlap = min(hi, _utc(closing)) - max(lo, _utc(opening))
            if overlap > timedelta(0):
                total += overlap
        return total

    def _localize(self, instant: datetime) -> datetime:
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError(f"naive datetime {instant.isoformat()}: pass a timezone-aware one")
        return instant.astimezone(self._tz)

    def _opening_hours(self, day: date) -> tuple[datetime, datetime]:
        return (
            datetime.combine(day, self._hours.start, tzinfo=self._tz),
            datetime.combine(day, self._hours.end, tzinfo=self._tz),
        )

    def _next_working_instant(self, local: datetime) -> datetime:
        """`local` itself when it is working time, else the next opening."""
        day = local.date()
        if self.is_working_day(day) and local.time() < self._hours.end:
            opening, _ = self._opening_hours(day)
            return local if local.time() >= self._hours.start else opening
        opening, _ = self._opening_hours(self.next_working_day(day))
        return opening

    def _report_unknown_year(self, year: int) -> None:
        if year in self._reported_years:
            return
        self._reported_years.add(year)
        logger.warning(
            "No official calendar data for %d: treating only Saturdays and Sundays as days "
            "off, so its holidays and make-up working days are wrong until %d.toml is "
            "imported from the State Council notice",
            year,
            year,
        )
        if self._on_unknown_year is None:
            return
        try:
            self._on_unknown_year(year)
        except Exception:
            # Alerting admins is best effort: a failing alert must not stop deadlines and
            # escalations from being computed.
            logger.exception("on_unknown_year callback failed for %d", year)


def load_year_file(path: Path, *, expected_year: int | None = None) -> YearCalendar:
    """Read and validate one year file; `expected_year` comes from a `<year>.toml` name."""
    return _parse_year_text(_read_text(path), where=str(path), expected_year=expected_year)


def load_calendar_years(*dirs: Path) -> dict[int, YearCalendar]:
    """Every `<year>.toml` in `dirs`; a later directory's year replaces an earlier one's.

    A missing directory counts as empty (the admin directory exists only after the first
    import); any other file ending in .toml is an error, so a misnamed year is not lost.
    """
    years: dict[int, YearCalendar] = {}
    for directory in dirs:
        if not directory.exists():
            logger.info("Calendar directory %s does not exist; no years from it", directory)
            continue
        if not directory.is_dir():
            raise CalendarError(str(directory), "not a directory")
        for path in sorted(directory.glob("*.toml")):
            if not _YEAR_FILE_NAME.fullmatch(path.name):
                raise CalendarError(str(path), "file name must be <year>.toml, e.g. 2027.toml")
            calendar = load_year_file(path, expected_year=int(path.stem))
            if calendar.year in years:
                logger.info("Calendar for %d from %s replaces an earlier one", calendar.year, path)
            years[calendar.year] = calendar
    return years


def import_year_file(src: Path, dest_dir: Path) -> YearCalendar:
    """Validate an admin's year file and store it as `<dest_dir>/<year>.toml`.

    The text is copied as written so the admin's comments survive; an existing file for the
    same year is replaced.
    """
    text = _read_text(src)
    calendar = _parse_year_text(text, where=str(src), expected_year=None)
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / f"{calendar.year}.toml"
    # Written beside the target and renamed: a crash must not leave a half-written year file
    # that would stop the bot at its next start. The suffix keeps it out of *.toml globs.
    fd, tmp_name = tempfile.mkstemp(dir=dest_dir, prefix=f".{calendar.year}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        tmp.chmod(0o644)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    logger.info("Imported the calendar for %d from %s into %s", calendar.year, src, dest)
    return calendar


def _read_text(path: Path) -> str:
    try:
        # utf-8-sig: Windows editors often prepend a BOM, which tomllib rejects.
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CalendarError(str(path), "not UTF-8 text; save the file as UTF-8") from exc


def _parse_year_text(text: str, *, where: str, expected_year: int | None) -> YearCalendar:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CalendarError(where, f"not valid TOML: {exc}") from exc
    problems: list[str] = []
    unknown = sorted(data.keys() - _TOP_LEVEL_KEYS)
    if unknown:
        problems.append(
            f"unknown key(s) {', '.join(unknown)}; expected year, source, workdays, [[holidays]]"
        )
    year = _year_field(data.get("year"), expected_year, problems)
    source = data.get("source")
    if not isinstance(source, str) or not source.strip():
        problems.append("source: missing or empty; name the State Council notice")
        source = ""
    holidays = _holidays_field(data.get("holidays"), problems)
    workdays = _workdays_field(data.get("workdays", []), problems)
    if problems or year is None:
        raise CalendarError(where, "; ".join(problems))
    try:
        return YearCalendar(
            year=year, holidays=holidays, workdays=frozenset(workdays), source=source
        )
    except CalendarError as exc:
        raise CalendarError(where, exc.problem) from None


def _year_field(value: Any, expected_year: int | None, problems: list[str]) -> int | None:
    if not isinstance(value, int) or isinstance(value, bool):
        problems.append("year: missing or not an integer (e.g. year = 2027)")
        return None
    if expected_year is not None and value != expected_year:
        problems.append(f"year: {value} does not match the file name {expected_year}.toml")
        return None
    return value


def _holidays_field(value: Any, problems: list[str]) -> tuple[Holiday, ...]:
    if not isinstance(value, list) or not value:
        problems.append("holidays: missing; add one [[holidays]] table per holiday period")
        return ()
    holidays: list[Holiday] = []
    for number, entry in enumerate(value, start=1):
        label = f"[[holidays]] #{number}"
        if not isinstance(entry, dict):
            problems.append(f"{label}: must be a table with name, start and end")
            continue
        name = entry.get("name")
        if isinstance(name, str) and name.strip():
            label = f"{label} ({name})"
        else:
            problems.append(f"{label}: name missing or empty")
        unknown = sorted(entry.keys() - _HOLIDAY_KEYS)
        if unknown:
            problems.append(f"{label}: unknown key(s) {', '.join(unknown)}")
        start = _date_field(entry.get("start"), f"{label} start", problems)
        end = _date_field(entry.get("end"), f"{label} end", problems)
        if isinstance(name, str) and start is not None and end is not None:
            holidays.append(Holiday(name=name, start=start, end=end))
    return tuple(holidays)


def _workdays_field(value: Any, problems: list[str]) -> list[date]:
    if not isinstance(value, list):
        problems.append("workdays: must be a list of dates, e.g. workdays = [2027-02-06]")
        return []
    workdays: list[date] = []
    for number, item in enumerate(value, start=1):
        day = _date_field(item, f"workdays #{number}", problems)
        if day is not None:
            workdays.append(day)
    return workdays


def _date_field(value: Any, label: str, problems: list[str]) -> date | None:
    # tomllib yields datetime (a date subclass) for 2027-02-06T00:00, and str for quoted dates.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if value is None:
        problems.append(f"{label}: missing")
    elif isinstance(value, datetime):
        problems.append(f"{label}: {value.isoformat()} has a time of day; write the date only")
    else:
        problems.append(f"{label}: {value!r} is not a bare TOML date such as 2027-02-06")
    return None


def _year_problems(calendar: YearCalendar) -> list[str]:
    year = calendar.year
    problems: list[str] = []
    if not 1 <= year <= 9999:
        return [f"year: {year} is out of range"]
    if not calendar.source.strip():
        problems.append("source: empty; name the State Council notice")
    if not calendar.holidays:
        problems.append("holidays: none; add one [[holidays]] table per holiday period")
    holiday_of: dict[date, str] = {}
    for number, holiday in enumerate(calendar.holidays, start=1):
        label = f"[[holidays]] #{number} ({holiday.name})"
        if not holiday.name.strip():
            problems.append(f"{label}: name is empty")
        outside = [
            f"{field} {value} is not in {year}"
            for field, value in (("start", holiday.start), ("end", holiday.end))
            if value.year != year
        ]
        if outside:
            problems.append(f"{label}: {', '.join(outside)}")
            continue
        if holiday.end < holiday.start:
            problems.append(f"{label}: end {holiday.end} is before start {holiday.start}")
            continue
        for day in _date_range(holiday.start, holiday.end):
            if day in holiday_of:
                problems.append(f"{label}: {day} is already in {holiday_of[day]}")
                break
            holiday_of[day] = label
    for day in sorted(calendar.workdays):
        label = f"workdays {day}"
        if day.year != year:
            problems.append(f"{label}: not in {year}")
        elif day.weekday() < 5:
            weekday = _WEEKDAY_NAMES[day.weekday()]
            problems.append(
                f"{label}: a {weekday}; a make-up working day must be a Saturday or Sunday"
            )
        if day in holiday_of:
            problems.append(f"{label}: also a holiday in {holiday_of[day]}")
    return problems


def _date_range(start: date, end: date) -> Iterator[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def _plain_dates(days: Iterable[date], what: str) -> frozenset[date]:
    result = frozenset(days)
    for day in result:
        _require_plain_date(day, what)
    return result


def _require_plain_date(day: date, what: str = "day") -> None:
    # A datetime is a date, but never equal to one: it would silently miss every set lookup.
    if isinstance(day, datetime) or not isinstance(day, date):
        raise TypeError(f"{what} must be a datetime.date, got {day!r}")


def _utc(instant: datetime) -> datetime:
    # Aware datetimes sharing a tzinfo compare and subtract by wall clock; UTC is exact.
    return instant.astimezone(UTC)
