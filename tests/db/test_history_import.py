"""Visits made before go-live: imported all or nothing, once, and counted by coverage; a
row the database refuses named like a row the checks refuse."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from bot.views import texts
from db.checks import load_org_snapshot, read_history
from db.history_import import HISTORY_COLUMNS, REQUIRED_COLUMNS, HistorySummary, import_history
from db.models import Assignment, AssignmentStatus
from db.org_import import (
    OrgFileError,
    Problem,
    Refusal,
    import_org,
    read_org_file,
    read_table,
)
from db.session import Database
from scheduler.catalog import load_catalog
from scheduler.planner import Requirement, evaluate_period
from tests.conftest import SAMPLE_ORG
from tests.scheduler.test_planner import FakeCalendar

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
GO_LIVE = date(2026, 10, 1)
CATALOG = load_catalog()


async def imported(database: Database, tmp_path: Path, body: str) -> HistorySummary:
    path = tmp_path / "history.csv"
    path.write_text(",".join(HISTORY_COLUMNS) + "\n" + body, encoding="utf-8")
    async with database.session() as session:
        return await import_history(
            read_table(path, REQUIRED_COLUMNS), catalog=CATALOG, session=session, before=GO_LIVE
        )


@pytest.fixture
async def sample(database: Database) -> Database:
    async with database.session() as session:
        await import_org(
            read_org_file(SAMPLE_ORG), labels=texts.IMPORT_LABELS, session=session, now=NOW
        )
    return database


async def test_visits_before_go_live_count_for_the_half_years_coverage(
    sample: Database, tmp_path: Path
) -> None:
    body = (
        "2026-08-12,city_letters_field_check,I001,TZ-D2,\n"
        "2026/9/15,盟市分公司平常函件跟段检查,I001,TK-D2,\n"
        "2026-09-21,delivery_transfer_points_urban,I003,TZ-D1,TZ-D1-T1、TZ-D1-T2\n"
    )
    first = await imported(sample, tmp_path, body)
    again = await imported(sample, tmp_path, body)
    assert (first.created, first.already_there) == (3, 0)
    assert (again.created, again.already_there) == (0, 3)
    async with sample.session() as session:
        rows = (await session.exec(select(Assignment))).all()
        assert {row.status for row in rows} == {AssignmentStatus.DONE}
        org = await load_org_snapshot(session=session)
    history = await asyncio.to_thread(
        sample.blocking_read,
        lambda connection: read_history(
            connection=connection, since=date(2026, 7, 1), before=date(2027, 1, 1)
        ),
    )
    statuses = evaluate_period(
        CATALOG, org, FakeCalendar(), history, date(2026, 7, 1), date(2026, 12, 31), go_live=GO_LIVE
    )
    (half_year,) = [
        s
        for s in statuses
        if s.item_id == "city_letters_field_check" and s.requirement is Requirement.ALL_SITES
    ]
    # The two rural stations were visited before go-live; the half-year needs all four.
    assert (half_year.required, half_year.done, half_year.partial) == (4, 2, True)


@pytest.mark.parametrize(
    ("row", "column", "problem"),
    [
        ("2026-13-01,city_letters_field_check,I001,TZ-D2,", "date", Problem.BAD_DATE),
        ("2026-10-01,city_letters_field_check,I001,TZ-D2,", "date", Problem.NOT_BEFORE_GO_LIVE),
        ("2026-09-01,没有的项目,I001,TZ-D2,", "item", Problem.UNKNOWN_ITEM),
        ("2026-09-01,city_letters_field_check,X999,TZ-D2,", "staff", Problem.UNKNOWN_STAFF),
        ("2026-09-01,city_letters_field_check,I001,NOPE,", "site", Problem.UNKNOWN_SITE),
        ("2026-09-01,city_letters_field_check,I001,TZ-C1,", "site", Problem.SITE_NOT_FOR_ITEM),
        ("2026-09-01,county_letters_field_check,I002,TK-D1,", "site", Problem.SITE_NOT_IN_SCOPE),
        ("2026-09-01,city_letters_field_check,I001,,", "site", Problem.REQUIRED),
        (
            "2026-09-01,delivery_transfer_points_urban,I003,TZ-D1,TK-D1-T1",
            "transfer_points",
            Problem.UNKNOWN_POINT,
        ),
    ],
)
async def test_a_bad_row_is_named_and_nothing_is_written(
    sample: Database, tmp_path: Path, row: str, column: str, problem: Problem
) -> None:
    good = "2026-08-12,city_letters_field_check,I001,TZ-D2,\n"
    with pytest.raises(OrgFileError) as raised:
        await imported(sample, tmp_path, good + row + "\n")
    assert [(p.line, p.column, p.problem) for p in raised.value.problems] == [(3, column, problem)]
    assert "{" not in texts.org_problem(raised.value.problems[0])
    async with sample.session() as session:
        assert (await session.exec(select(Assignment))).all() == []


async def test_a_row_the_database_itself_refuses_is_named_with_its_line_and_column(
    sample: Database, tmp_path: Path
) -> None:
    """A rule of the database's own that the checks cannot know (here a unique index: one
    check per site): the batch is written again row by row to find which one, and nothing
    is written."""
    async with sample.session() as session:
        index = "CREATE UNIQUE INDEX one_check_per_site ON assignment (target_site_id)"
        await session.exec(text(index))  # type: ignore[call-overload]
    body = (
        "2026-08-12,city_letters_field_check,I001,TZ-D2,\n"
        "2026-08-13,city_letters_field_check,I001,TK-D2,\n"
        "2026-09-15,city_letters_field_check,I001,TZ-D2,\n"
    )
    with pytest.raises(OrgFileError) as raised:
        await imported(sample, tmp_path, body)
    (problem,) = raised.value.problems
    assert (problem.line, problem.column, problem.problem, problem.wanted, problem.value) == (
        4,
        "site",
        Problem.DATABASE_ROW,
        Refusal.UNIQUE,
        "TZ-D2",
    )
    assert texts.org_problem(problem) == (
        "第 4 行，列 site：数据库拒绝写入这一行：与数据库中已有的记录重复（“TZ-D2”）"
        "（文件中的任何内容都没有写入）"
    )
    async with sample.session() as session:
        assert (await session.exec(select(Assignment))).all() == []
    # Without the repeated site the file goes in whole.
    summary = await imported(sample, tmp_path, body.rsplit("2026-09-15", 1)[0])
    assert (summary.created, summary.already_there) == (2, 0)


async def test_what_is_imported_goes_if_its_unit_of_work_fails_later(
    sample: Database, tmp_path: Path
) -> None:
    """The writes run in a savepoint: on SQLite one opened before any write is a transaction
    of its own, committed by its release, and the rows would stay."""
    path = tmp_path / "history.csv"
    path.write_text(
        ",".join(HISTORY_COLUMNS) + "\n2026-08-12,city_letters_field_check,I001,TZ-D2,\n",
        encoding="utf-8",
    )
    with pytest.raises(RuntimeError):
        async with sample.session() as session:
            rows = read_table(path, REQUIRED_COLUMNS)
            await import_history(rows, catalog=CATALOG, session=session, before=GO_LIVE)
            raise RuntimeError("something after the import failed")
    async with sample.session() as session:
        assert (await session.exec(select(Assignment))).all() == []
