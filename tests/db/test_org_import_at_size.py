"""Imports that would break the tree, overflow a column, use another encoding, or hold a
province's 100k rows (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import func, select

from bot.views import texts
from db.models import Segment, Staff, TransferPoint, Unit
from db.org_import import OrgFileError, Problem, import_org, read_org_file
from db.session import Database
from tests.conftest import SAMPLE_ORG

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
HEADER = "type,code,name,parent,level,kind,area,role,department,phone\n"


async def import_file(database: Database, path: Path) -> None:
    async with database.session() as session:
        await import_org(read_org_file(path), labels=texts.IMPORT_LABELS, session=session, now=NOW)


async def counts(database: Database) -> dict[str, int]:
    async with database.session() as session:
        return {
            model.__name__: (await session.exec(select(func.count()).select_from(model))).one()
            for model in (Unit, Segment, TransferPoint, Staff)
        }


def write(tmp_path: Path, body: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "org.csv"
    path.write_bytes((HEADER + body).encode(encoding))
    return path


async def problems_of(database: Database, path: Path) -> list[tuple[int, str, Problem, str]]:
    with pytest.raises(OrgFileError) as error:
        await import_file(database, path)
    for problem in error.value.problems:
        assert texts.org_problem(problem)  # every problem has its words
    return [(p.line, p.column, p.problem, p.value) for p in error.value.problems]


async def test_a_reimport_that_would_make_a_cycle_is_refused_whole(
    database: Database, tmp_path: Path
) -> None:
    await import_file(database, SAMPLE_ORG)
    before = await counts(database)
    # The city becomes a site under one of its own counties: TZ → HH → TZ.
    found = await problems_of(
        database, write(tmp_path, "unit,HH,呼和浩特市分公司,TZ,site,counter,urban\n")
    )
    assert (2, "level", Problem.CHILD_LEVEL, "TZ") in found
    assert (2, "parent", Problem.CYCLE, "HH → TZ → HH") in found
    assert await counts(database) == before


async def test_a_site_whose_stored_segments_would_stand_under_a_counter_is_refused(
    database: Database, tmp_path: Path
) -> None:
    await import_file(database, SAMPLE_ORG)
    found = await problems_of(
        database, write(tmp_path, "unit,TZ-D1,察素齐投递部,TZ,site,counter,urban\n")
    )
    assert {(line, column, problem) for line, column, problem, _ in found} == {
        (2, "kind", Problem.CHILD_KIND)
    }
    # Made a county, its stored segments would stand under a county.
    found = await problems_of(database, write(tmp_path, "unit,TZ-D2,毕克齐投递支局,HH,county,,\n"))
    assert (2, "level", Problem.CHILD_LEVEL, "TZ-D2-S1") in found


async def test_what_a_column_cannot_hold_is_a_row_error_with_its_line(
    database: Database, tmp_path: Path
) -> None:
    await import_file(database, SAMPLE_ORG)
    body = (
        "staff,X001," + "长" * 51 + ",TZ,,,,inspector,,\n"
        "staff,X002,王五,TZ,,,,inspector,," + "1" * 33 + "\n"
        "unit,X-C1," + "名" * 101 + ",TZ,site,counter,urban,,,\n"
        "staff," + "X" * 33 + ",赵六,TZ,,,,inspector,,\n"
    )
    found = await problems_of(database, write(tmp_path, body))
    assert [(line, column, problem) for line, column, problem, _ in found] == [
        (2, "name", Problem.TOO_LONG),
        (3, "phone", Problem.TOO_LONG),
        (4, "name", Problem.TOO_LONG),
        (5, "code", Problem.TOO_LONG),
    ]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_an_encoding_other_than_utf8_or_gb18030_is_refused_clearly(
    tmp_path: Path, encoding: str
) -> None:
    path = write(tmp_path, "unit,NM,内蒙古邮政区公司,,region,,,,,\n", encoding)
    with pytest.raises(OrgFileError) as error:
        read_org_file(path)
    (problem,) = error.value.problems
    assert problem.problem is Problem.ENCODING
    assert "UTF-8" in texts.org_problem(problem) and "GB18030" in texts.org_problem(problem)


def province_csv(rows: int) -> str:
    """About ``rows`` rows: counties of 20 sites, each site with a segment or a transfer
    point and an inspector, the counties' managers and handlers."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER.strip().split(","))
    writer.writerow(["unit", "NM", "区公司", "", "region"])
    city, county, written = 0, 0, 1
    while written < rows:
        if county % 10 == 0:
            city += 1
            writer.writerow(["unit", f"C{city}", f"第{city}分公司", "NM", "city"])
            written += 1
        county += 1
        code = f"K{county}"
        writer.writerow(["unit", code, f"第{county}县局", f"C{city}", "county"])
        writer.writerow(["staff", f"M{county}", f"经理{county}", code, "", "", "", "manager"])
        writer.writerow(
            ["staff", f"H{county}", f"处理人{county}", code, "", "", "", "handler", "delivery"]
        )
        written += 3
        for n in range(20):
            site, kind = f"{code}-{n}", "delivery" if n % 2 else "counter"
            writer.writerow(["unit", site, f"{county}县{n}号网点", code, "site", kind, "urban"])
            place = "segment" if kind == "delivery" else "transfer_point"
            writer.writerow([place, f"{site}-P", f"{n}号段", site])
            writer.writerow(
                ["staff", f"I{county}-{n}", f"检查员{county}-{n}", site, "", "", "", "inspector"]
            )
            written += 3
    return out.getvalue()


async def import_province(database: Database, tmp_path: Path, rows: int) -> None:
    path = tmp_path / "province.csv"
    path.write_text(province_csv(rows), encoding="utf-8")
    started = time.perf_counter()
    await import_file(database, path)
    first = time.perf_counter() - started
    await import_file(database, path)  # again: every row an update, nothing duplicated
    again = time.perf_counter() - started - first
    print(f"\n{rows} rows: first import {first:.1f} s, again {again:.1f} s")
    total = sum((await counts(database)).values())
    assert rows <= total <= rows + 70


async def test_ten_thousand_rows_import_twice(database: Database, tmp_path: Path) -> None:
    await import_province(database, tmp_path, 10_000)


@pytest.mark.slow
async def test_a_hundred_thousand_rows_import_twice(database: Database, tmp_path: Path) -> None:
    await import_province(database, tmp_path, 100_000)
