"""The business calendar: official 2020–2026 data, an admin's 2027, unknown years, working time."""

from __future__ import annotations

import logging
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from scheduler.business_calendar import (
    SHIPPED_CALENDAR_DIR,
    BusinessCalendar,
    CalendarError,
    Holiday,
    WorkingHours,
    YearCalendar,
    import_year_file,
    load_calendar_years,
    load_year_file,
)

TZ = ZoneInfo("Asia/Shanghai")
HOURS = WorkingHours(start=time(8, 30), end=time(17, 30))
SEEDED_YEARS = list(range(2020, 2027))
# chinese_calendar's holiday values, as named in our data files.
PACKAGE_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
}

CALENDAR_2027 = """\
# 国务院办公厅关于2027年部分节假日安排的通知 (transcribed by an admin)
year = 2027
source = "国务院办公厅关于2027年部分节假日安排的通知"
workdays = [
    2027-01-31,  # 春节
    2027-02-20,  # 春节
    2027-04-25,  # 劳动节
    2027-05-08,  # 劳动节
    2027-09-26,  # 国庆节
    2027-10-09,  # 国庆节
]

[[holidays]]
name = "元旦"
start = 2027-01-01
end = 2027-01-03

[[holidays]]
name = "春节"
start = 2027-02-05
end = 2027-02-13

[[holidays]]
name = "清明节"
start = 2027-04-03
end = 2027-04-05

[[holidays]]
name = "劳动节"
start = 2027-05-01
end = 2027-05-05

[[holidays]]
name = "端午节"
start = 2027-06-09
end = 2027-06-09

[[holidays]]
name = "中秋节"
start = 2027-09-15
end = 2027-09-15

[[holidays]]
name = "国庆节"
start = 2027-10-01
end = 2027-10-07
"""


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


@pytest.fixture(scope="module")
def shipped() -> dict[int, YearCalendar]:
    return load_calendar_years(SHIPPED_CALENDAR_DIR)


@pytest.fixture
def calendar(shipped: dict[int, YearCalendar]) -> BusinessCalendar:
    return BusinessCalendar(shipped, tz=TZ, working_hours=HOURS)


# --- the shipped official calendar -------------------------------------------------------


def test_shipped_years(shipped: dict[int, YearCalendar]) -> None:
    assert sorted(shipped) == SEEDED_YEARS


def test_2026_holiday_periods(shipped: dict[int, YearCalendar]) -> None:
    periods = {h.name: (h.start, h.end) for h in shipped[2026].holidays}
    assert periods == {
        "元旦": (date(2026, 1, 1), date(2026, 1, 3)),
        "春节": (date(2026, 2, 15), date(2026, 2, 23)),
        "清明节": (date(2026, 4, 4), date(2026, 4, 6)),
        "劳动节": (date(2026, 5, 1), date(2026, 5, 5)),
        "端午节": (date(2026, 6, 19), date(2026, 6, 21)),
        "中秋节": (date(2026, 9, 25), date(2026, 9, 27)),
        "国庆节": (date(2026, 10, 1), date(2026, 10, 7)),
    }
    assert shipped[2026].workdays == {
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    }


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 1, 1), False),  # 元旦
        (date(2026, 1, 2), False),  # 元旦, a Friday
        (date(2026, 1, 4), True),  # Sunday, 调休上班
        (date(2026, 1, 5), True),
        (date(2026, 2, 14), True),  # Saturday, 调休上班
        (date(2026, 2, 16), False),  # 春节
        (date(2026, 2, 23), False),  # last day of 春节, a Monday
        (date(2026, 2, 24), True),
        (date(2026, 2, 28), True),  # Saturday, 调休上班
        (date(2026, 3, 7), False),  # an ordinary Saturday
        (date(2026, 3, 8), False),  # an ordinary Sunday
        (date(2026, 3, 11), True),  # an ordinary Wednesday
        (date(2026, 4, 6), False),  # 清明节, a Monday
        (date(2026, 5, 5), False),  # 劳动节, a Tuesday
        (date(2026, 5, 9), True),  # Saturday, 调休上班
        (date(2026, 6, 19), False),  # 端午节, a Friday
        (date(2026, 9, 20), True),  # Sunday, 调休上班
        (date(2026, 9, 25), False),  # 中秋节, a Friday
        (date(2026, 10, 1), False),  # 国庆节
        (date(2026, 10, 7), False),  # 国庆节, a Wednesday
        (date(2026, 10, 8), True),
        (date(2026, 10, 10), True),  # Saturday, 调休上班
        (date(2026, 10, 11), False),  # an ordinary Sunday
    ],
)
def test_2026_working_days(calendar: BusinessCalendar, day: date, working: bool) -> None:
    assert calendar.is_working_day(day) is working


@pytest.mark.parametrize("year", SEEDED_YEARS)
def test_shipped_data_equal_chinese_calendar(
    shipped: dict[int, YearCalendar], calendar: BusinessCalendar, year: int
) -> None:
    ours = shipped[year]
    package_holidays = {
        d: PACKAGE_NAMES[name]
        for d, name in chinese_calendar.constants.holidays.items()
        if d.year == year
    }
    our_holidays = {d: h.name for h in ours.holidays for d in _days(h.start, h.end)}
    assert our_holidays == package_holidays
    assert ours.holiday_dates == package_holidays.keys()
    assert ours.workdays == {d for d in chinese_calendar.constants.workdays if d.year == year}
    for day in _days(date(year, 1, 1), date(year, 12, 31)):
        assert calendar.is_working_day(day) is chinese_calendar.is_workday(day), day


def test_runtime_module_does_not_import_chinese_calendar() -> None:
    code = "import sys, scheduler.business_calendar; sys.exit('chinese_calendar' in sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])


def test_working_days_and_next_working_day(calendar: BusinessCalendar) -> None:
    assert calendar.working_days(date(2026, 9, 28), date(2026, 10, 11)) == [
        date(2026, 9, 28),
        date(2026, 9, 29),
        date(2026, 9, 30),
        date(2026, 10, 8),
        date(2026, 10, 9),
        date(2026, 10, 10),
    ]
    assert calendar.working_days(date(2026, 10, 9), date(2026, 10, 8)) == []
    assert calendar.next_working_day(date(2026, 9, 30)) == date(2026, 10, 8)
    assert calendar.next_working_day(date(2026, 2, 13)) == date(2026, 2, 14)
    assert calendar.next_working_day(date(2026, 2, 14)) == date(2026, 2, 24)
    assert calendar.next_working_day(date(2026, 3, 6)) == date(2026, 3, 9)


# --- an admin adds 2027 ------------------------------------------------------------------


def test_admin_imports_2027(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    notice = tmp_path / "国务院通知2027.toml"
    notice.write_text(CALENDAR_2027, encoding="utf-8")
    admin_dir = tmp_path / "admin" / "calendar"

    imported = import_year_file(notice, admin_dir)

    assert imported.year == 2027
    assert imported.source == "国务院办公厅关于2027年部分节假日安排的通知"
    assert Holiday("春节", date(2027, 2, 5), date(2027, 2, 13)) in imported.holidays
    # The admin's comments are kept.
    assert (admin_dir / "2027.toml").read_text(encoding="utf-8") == CALENDAR_2027
    assert [p.name for p in admin_dir.iterdir()] == ["2027.toml"]

    unknown: list[int] = []
    calendar = BusinessCalendar.from_dirs(
        SHIPPED_CALENDAR_DIR,
        admin_dir,
        tz=TZ,
        working_hours=HOURS,
        on_unknown_year=unknown.append,
    )
    assert calendar.known_years() == [*SEEDED_YEARS, 2027]
    with caplog.at_level(logging.WARNING):
        assert not calendar.is_working_day(date(2027, 2, 8))  # Monday in 春节
        assert calendar.is_working_day(date(2027, 2, 20))  # Saturday, 调休上班
        assert calendar.is_working_day(date(2027, 2, 15))
        # Dec 31, 2026 (a Thursday) +1: Friday Jan 1 to Sunday Jan 3 are 元旦.
        assert calendar.add_working_days(at(2026, 12, 31, 10), 1) == at(2027, 1, 4, 10)
    assert unknown == []
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_import_replaces_the_years_file(tmp_path: Path) -> None:
    admin_dir = tmp_path / "admin"
    first = tmp_path / "first.toml"
    first.write_text(CALENDAR_2027, encoding="utf-8")
    import_year_file(first, admin_dir)
    # The notice was corrected: 端午节 becomes three days.
    corrected = tmp_path / "corrected.toml"
    corrected.write_text(
        CALENDAR_2027.replace(
            "start = 2027-06-09\nend = 2027-06-09", "start = 2027-06-09\nend = 2027-06-11"
        ),
        encoding="utf-8",
    )

    import_year_file(corrected, admin_dir)

    years = load_calendar_years(SHIPPED_CALENDAR_DIR, admin_dir)
    assert Holiday("端午节", date(2027, 6, 9), date(2027, 6, 11)) in years[2027].holidays
    assert sorted(p.name for p in admin_dir.iterdir()) == ["2027.toml"]


def test_invalid_import_writes_nothing(tmp_path: Path) -> None:
    notice = tmp_path / "2027.toml"
    notice.write_text(CALENDAR_2027.replace("2027-02-20", "2027-02-22"), encoding="utf-8")
    admin_dir = tmp_path / "admin"

    with pytest.raises(CalendarError, match="workdays 2027-02-22: a Monday"):
        import_year_file(notice, admin_dir)

    assert not admin_dir.exists()


def test_later_directory_overrides_a_shipped_year(tmp_path: Path) -> None:
    shipped_2026 = (SHIPPED_CALENDAR_DIR / "2026.toml").read_text(encoding="utf-8")
    amended = shipped_2026.replace("end = 2026-10-07", "end = 2026-10-08")
    (tmp_path / "2026.toml").write_text(amended, encoding="utf-8")

    years = load_calendar_years(SHIPPED_CALENDAR_DIR, tmp_path)

    assert date(2026, 10, 8) in years[2026].holiday_dates
    assert date(2026, 10, 8) not in load_calendar_years(SHIPPED_CALENDAR_DIR)[2026].holiday_dates
    assert sorted(years) == SEEDED_YEARS


def test_missing_admin_directory_is_empty(tmp_path: Path) -> None:
    years = load_calendar_years(SHIPPED_CALENDAR_DIR, tmp_path / "not-yet-created")
    assert sorted(years) == SEEDED_YEARS


# --- a year with no data -----------------------------------------------------------------


def test_unknown_year_warns_once_and_uses_weekends(
    shipped: dict[int, YearCalendar], caplog: pytest.LogCaptureFixture
) -> None:
    alerted: list[int] = []
    calendar = BusinessCalendar(shipped, tz=TZ, working_hours=HOURS, on_unknown_year=alerted.append)

    with caplog.at_level(logging.WARNING, logger="scheduler.business_calendar"):
        assert calendar.is_working_day(date(2028, 10, 2))  # Monday: National Day unknown
        assert not calendar.is_working_day(date(2028, 10, 7))  # Saturday
        assert not calendar.is_working_day(date(2028, 1, 1))  # Saturday
        assert len(calendar.working_days(date(2028, 1, 1), date(2028, 12, 31))) == 260
        assert calendar.add_working_days(at(2028, 9, 29, 10), 1) == at(2028, 10, 2, 10)
        assert not calendar.is_working_day(date(2029, 1, 6))  # Saturday

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage().split(":")[0] for r in warnings] == [
        "No official calendar data for 2028",
        "No official calendar data for 2029",
    ]
    assert alerted == [2028, 2029]


def test_unknown_year_warns_again_in_a_new_calendar(
    shipped: dict[int, YearCalendar], caplog: pytest.LogCaptureFixture
) -> None:
    alerted: list[int] = []
    with caplog.at_level(logging.WARNING, logger="scheduler.business_calendar"):
        for _ in range(2):
            calendar = BusinessCalendar(
                shipped, tz=TZ, working_hours=HOURS, on_unknown_year=alerted.append
            )
            calendar.is_working_day(date(2028, 3, 1))
            calendar.is_working_day(date(2028, 3, 2))
    assert alerted == [2028, 2028]
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 2


def test_failing_unknown_year_callback_does_not_raise(
    shipped: dict[int, YearCalendar], caplog: pytest.LogCaptureFixture
) -> None:
    def broken_alert(year: int) -> None:
        raise RuntimeError("admin chat unreachable")

    calendar = BusinessCalendar(shipped, tz=TZ, working_hours=HOURS, on_unknown_year=broken_alert)
    with caplog.at_level(logging.WARNING, logger="scheduler.business_calendar"):
        assert calendar.next_working_day(date(2027, 12, 31)) == date(2028, 1, 3)
    assert any(r.levelno == logging.ERROR and r.exc_info for r in caplog.records)


# --- validation --------------------------------------------------------------------------

MINIMAL = """\
year = 2027
source = "国务院办公厅关于2027年部分节假日安排的通知"
workdays = [2027-09-26]

[[holidays]]
name = "国庆节"
start = 2027-10-01
end = 2027-10-07
"""
OVERLAPPING = '\n[[holidays]]\nname = "中秋节"\nstart = 2027-10-07\nend = 2027-10-07\n'


def edit(old: str, new: str) -> str:
    assert old in MINIMAL
    return MINIMAL.replace(old, new)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            edit("start = 2027-10-01", "start = 2026-10-01"),
            "[[holidays]] #1 (国庆节): start 2026-10-01 is not in 2027",
        ),
        (
            edit("end = 2027-10-07", "end = 2028-01-02"),
            "[[holidays]] #1 (国庆节): end 2028-01-02 is not in 2027",
        ),
        (
            edit("end = 2027-10-07", "end = 2027-09-30"),
            "[[holidays]] #1 (国庆节): end 2027-09-30 is before start 2027-10-01",
        ),
        (
            edit("[2027-09-26]", "[2027-09-26, 2027-10-02]"),
            "workdays 2027-10-02: also a holiday in [[holidays]] #1 (国庆节)",
        ),
        (
            edit("[2027-09-26]", "[2027-09-27]"),
            "workdays 2027-09-27: a Monday; a make-up working day must be a Saturday or Sunday",
        ),
        (edit("[2027-09-26]", "[2026-09-26]"), "workdays 2026-09-26: not in 2027"),
        (edit("year = 2027", "year = 2028"), "year: 2028 does not match the file name 2027.toml"),
        (edit("year = 2027", 'year = "2027"'), "year: missing or not an integer"),
        (
            edit("start = 2027-10-01", 'start = "2027-10-01"'),
            "[[holidays]] #1 (国庆节) start: '2027-10-01' is not a bare TOML date",
        ),
        (
            edit("start = 2027-10-01", "start = 2027-10-01T08:00:00"),
            "[[holidays]] #1 (国庆节) start: 2027-10-01T08:00:00 has a time of day",
        ),
        (edit("end = 2027-10-07\n", ""), "[[holidays]] #1 (国庆节) end: missing"),
        (edit('name = "国庆节"\n', ""), "[[holidays]] #1: name missing or empty"),
        (
            edit("[2027-09-26]", '["2027-09-26"]'),
            "workdays #1: '2027-09-26' is not a bare TOML date",
        ),
        (edit("source = ", "# source = "), "source: missing or empty"),
        (
            edit("workdays = ", "workday = "),
            "unknown key(s) workday; expected year, source, workdays, [[holidays]]",
        ),
        (
            edit('name = "国庆节"', 'name = "国庆节"\ndays = 7'),
            "[[holidays]] #1 (国庆节): unknown key(s) days",
        ),
        (MINIMAL.split("[[holidays]]")[0], "holidays: missing; add one [[holidays]] table"),
        (
            MINIMAL + OVERLAPPING,
            "[[holidays]] #2 (中秋节): 2027-10-07 is already in [[holidays]] #1 (国庆节)",
        ),
        (edit("year = 2027", "year = 2027\nyear = 2027"), "not valid TOML"),
    ],
)
def test_validation_names_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "2027.toml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(CalendarError) as caught:
        load_calendar_years(tmp_path)

    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_validation_reports_every_problem_at_once(tmp_path: Path) -> None:
    path = tmp_path / "2027.toml"
    path.write_text(
        edit("[2027-09-26]", "[2027-09-27]").replace("end = 2027-10-07", "end = 1"),
        encoding="utf-8",
    )
    with pytest.raises(CalendarError) as caught:
        load_year_file(path)
    assert caught.value.problem == (
        "[[holidays]] #1 (国庆节) end: 1 is not a bare TOML date such as 2027-02-06"
    )
    path.write_text(
        edit("[2027-09-26]", "[2027-09-27]").replace("end = 2027-10-07", "end = 2027-09-01"),
        encoding="utf-8",
    )
    with pytest.raises(CalendarError) as caught:
        load_year_file(path)
    assert "; workdays 2027-09-27: a Monday" in str(caught.value)
    assert "end 2027-09-01 is before start 2027-10-01" in str(caught.value)


def test_file_name_must_be_the_year(tmp_path: Path) -> None:
    path = tmp_path / "calendar-2027.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    with pytest.raises(CalendarError, match=r"file name must be <year>\.toml"):
        load_calendar_years(tmp_path)


def test_year_file_must_be_utf8(tmp_path: Path) -> None:
    path = tmp_path / "2027.toml"
    path.write_bytes(MINIMAL.encode("gbk"))
    with pytest.raises(CalendarError, match="not UTF-8"):
        load_calendar_years(tmp_path)


def test_year_file_with_bom_loads(tmp_path: Path) -> None:
    path = tmp_path / "2027.toml"
    path.write_bytes(MINIMAL.encode("utf-8-sig"))
    assert load_calendar_years(tmp_path)[2027].workdays == {date(2027, 9, 26)}


def test_year_calendar_is_validated_when_built_in_code() -> None:
    with pytest.raises(CalendarError, match="workdays 2027-09-27: a Monday"):
        YearCalendar(
            year=2027,
            holidays=(Holiday("国庆节", date(2027, 10, 1), date(2027, 10, 7)),),
            workdays=frozenset({date(2027, 9, 27)}),
            source="test",
        )


# --- complaint deadlines -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "deadline"),
    [
        (at(2026, 9, 30, 10), 1, at(2026, 10, 8, 10)),  # over National Day
        (at(2026, 9, 30, 10), 2, at(2026, 10, 9, 10)),
        (at(2026, 9, 30, 10), 3, at(2026, 10, 10, 10)),  # Saturday 调休上班
        (at(2026, 9, 30, 10), 0, at(2026, 9, 30, 10)),
        (at(2026, 3, 7, 11), 1, at(2026, 3, 10, 8, 30)),  # Saturday → Monday 08:30 → Tuesday
        (at(2026, 3, 4, 18), 1, at(2026, 3, 6, 8, 30)),  # Wednesday evening → Thursday → Friday
        (at(2026, 3, 4, 17, 30), 1, at(2026, 3, 6, 8, 30)),  # closing time is already after hours
        (at(2026, 3, 4, 17, 29), 1, at(2026, 3, 5, 17, 29)),
        (at(2026, 3, 4, 7), 1, at(2026, 3, 5, 8, 30)),  # before opening → that day's 08:30
        (at(2026, 3, 4, 18), 0, at(2026, 3, 5, 8, 30)),
        (at(2026, 2, 13, 16), 1, at(2026, 2, 14, 16)),  # Friday → Saturday 调休上班
        (at(2026, 2, 14, 16), 1, at(2026, 2, 24, 16)),  # over 春节
        (at(2026, 10, 3, 9), 1, at(2026, 10, 9, 8, 30)),  # reported during the holiday
        (datetime(2026, 9, 30, 2, tzinfo=UTC), 1, at(2026, 10, 8, 10)),  # 10:00 in Shanghai
    ],
)
def test_add_working_days(
    calendar: BusinessCalendar, start: datetime, days: int, deadline: datetime
) -> None:
    result = calendar.add_working_days(start, days)
    assert result == deadline
    assert result.tzinfo == TZ


# --- working hours -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "working"),
    [
        (at(2026, 3, 4, 8, 29), False),
        (at(2026, 3, 4, 8, 30), True),
        (at(2026, 3, 4, 17, 29), True),
        (at(2026, 3, 4, 17, 30), False),
        (at(2026, 10, 2, 10), False),  # 国庆节
        (at(2026, 10, 10, 10), True),  # Saturday 调休上班
        (at(2026, 10, 11, 10), False),  # Sunday
        (datetime(2026, 3, 4, 2, tzinfo=UTC), True),  # 10:00 in Shanghai
        (datetime(2026, 3, 4, 10, tzinfo=UTC), False),  # 18:00 in Shanghai
    ],
)
def test_is_working_time(calendar: BusinessCalendar, instant: datetime, working: bool) -> None:
    assert calendar.is_working_time(instant) is working


@pytest.mark.parametrize(
    ("start", "hours", "end"),
    [
        (at(2026, 9, 30, 16, 30), timedelta(hours=2), at(2026, 10, 8, 9, 30)),  # over 国庆节
        (at(2026, 9, 30, 16, 30), timedelta(hours=1), at(2026, 9, 30, 17, 30)),
        (at(2026, 9, 30, 16, 30), timedelta(hours=10), at(2026, 10, 8, 17, 30)),
        (at(2026, 9, 30, 16, 30), timedelta(hours=10, minutes=1), at(2026, 10, 9, 8, 31)),
        (at(2026, 2, 13, 17), timedelta(hours=1), at(2026, 2, 14, 9)),  # into 调休 Saturday
        (at(2026, 2, 14, 17), timedelta(hours=1), at(2026, 2, 24, 9)),  # over 春节
        (at(2026, 3, 6, 20), timedelta(hours=9), at(2026, 3, 9, 17, 30)),  # weekend skipped
        (at(2026, 3, 6, 20), timedelta(0), at(2026, 3, 9, 8, 30)),
        (at(2026, 3, 4, 9), timedelta(hours=45), at(2026, 3, 11, 9)),  # five full days
    ],
)
def test_add_working_hours_and_back(
    calendar: BusinessCalendar, start: datetime, hours: timedelta, end: datetime
) -> None:
    assert calendar.add_working_hours(start, hours) == end
    assert calendar.working_time_between(start, end) == hours


@pytest.mark.parametrize(
    ("start", "end", "worked"),
    [
        (at(2026, 9, 30, 9), at(2026, 9, 30, 9), timedelta(0)),
        (at(2026, 9, 30, 12), at(2026, 9, 30, 9), timedelta(0)),  # end before start
        (at(2026, 9, 30, 6), at(2026, 9, 30, 20), timedelta(hours=9)),
        (at(2026, 9, 30, 17), at(2026, 10, 8, 9), timedelta(hours=1)),  # 国庆节 counts nothing
        (at(2026, 10, 1, 0), at(2026, 10, 7, 23, 59), timedelta(0)),
        (at(2026, 10, 9, 17), at(2026, 10, 12, 9), timedelta(hours=10)),  # 调休 Saturday counts
        (at(2026, 3, 6, 17), at(2026, 3, 9, 9), timedelta(hours=1)),  # ordinary weekend
        (datetime(2026, 3, 4, 1, tzinfo=UTC), at(2026, 3, 4, 10), timedelta(hours=1)),
    ],
)
def test_working_time_between(
    calendar: BusinessCalendar, start: datetime, end: datetime, worked: timedelta
) -> None:
    assert calendar.working_time_between(start, end) == worked


def test_working_hours_are_the_inverse_of_working_time(calendar: BusinessCalendar) -> None:
    starts = [at(2026, 9, 28, 0) + timedelta(minutes=97 * i) for i in range(150)]
    amounts = [timedelta(minutes=m) for m in (0, 1, 59, 540, 541, 1234, 5000)]
    for start in starts:
        for amount in amounts:
            end = calendar.add_working_hours(start, amount)
            assert calendar.working_time_between(start, end) == amount, (start, amount)


# --- overrides from config ---------------------------------------------------------------


def test_extra_holiday_on_a_weekday_and_extra_workday_on_a_sunday(
    shipped: dict[int, YearCalendar],
) -> None:
    calendar = BusinessCalendar(
        shipped,
        tz=TZ,
        working_hours=HOURS,
        extra_holidays=[date(2026, 3, 11)],  # a Wednesday
        extra_workdays=[date(2026, 3, 15)],  # a Sunday
    )

    assert not calendar.is_working_day(date(2026, 3, 11))
    assert calendar.is_working_day(date(2026, 3, 15))
    assert calendar.add_working_days(at(2026, 3, 10, 10), 1) == at(2026, 3, 12, 10)
    assert calendar.add_working_days(at(2026, 3, 13, 10), 1) == at(2026, 3, 15, 10)
    assert calendar.add_working_days(at(2026, 3, 14, 11), 1) == at(2026, 3, 16, 8, 30)
    assert calendar.working_time_between(at(2026, 3, 10, 17), at(2026, 3, 12, 9)) == timedelta(
        hours=1
    )


def test_overrides_win_over_the_official_calendar(shipped: dict[int, YearCalendar]) -> None:
    calendar = BusinessCalendar(
        shipped,
        tz=TZ,
        working_hours=HOURS,
        extra_holidays=[date(2026, 10, 10)],  # an official 调休 Saturday
        extra_workdays=[date(2026, 10, 7)],  # an official holiday
    )
    assert not calendar.is_working_day(date(2026, 10, 10))
    assert calendar.is_working_day(date(2026, 10, 7))


def test_override_in_both_lists_is_rejected(shipped: dict[int, YearCalendar]) -> None:
    with pytest.raises(ValueError, match="2026-03-11"):
        BusinessCalendar(
            shipped,
            tz=TZ,
            working_hours=HOURS,
            extra_holidays=[date(2026, 3, 11)],
            extra_workdays=[date(2026, 3, 11)],
        )


# --- misuse ------------------------------------------------------------------------------


def test_naive_datetimes_are_rejected(calendar: BusinessCalendar) -> None:
    naive = datetime(2026, 3, 4, 10)
    aware = at(2026, 3, 4, 10)
    with pytest.raises(ValueError, match="naive"):
        calendar.is_working_time(naive)
    with pytest.raises(ValueError, match="naive"):
        calendar.add_working_days(naive, 1)
    with pytest.raises(ValueError, match="naive"):
        calendar.add_working_hours(naive, timedelta(hours=1))
    with pytest.raises(ValueError, match="naive"):
        calendar.working_time_between(naive, aware)
    with pytest.raises(ValueError, match="naive"):
        calendar.working_time_between(aware, naive)


def test_datetimes_are_not_days(shipped: dict[int, YearCalendar]) -> None:
    calendar = BusinessCalendar(shipped, tz=TZ, working_hours=HOURS)
    with pytest.raises(TypeError):
        calendar.is_working_day(at(2026, 10, 1, 10))
    with pytest.raises(TypeError):
        BusinessCalendar(shipped, tz=TZ, working_hours=HOURS, extra_holidays=[at(2026, 10, 1, 10)])


def test_negative_amounts_are_rejected(calendar: BusinessCalendar) -> None:
    with pytest.raises(ValueError):
        calendar.add_working_days(at(2026, 3, 4, 10), -1)
    with pytest.raises(ValueError):
        calendar.add_working_hours(at(2026, 3, 4, 10), timedelta(hours=-1))


def test_working_hours_must_be_a_forward_interval() -> None:
    with pytest.raises(ValueError):
        WorkingHours(start=time(17, 30), end=time(8, 30))
    with pytest.raises(ValueError):
        WorkingHours(start=time(8, 30, tzinfo=TZ), end=time(17, 30))


def test_years_mapping_must_match_its_keys(shipped: dict[int, YearCalendar]) -> None:
    with pytest.raises(ValueError, match="2025"):
        BusinessCalendar({2025: shipped[2026]}, tz=TZ, working_hours=HOURS)


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]
