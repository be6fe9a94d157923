"""The generated province: its size, determinism, and that it imports into a real database."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import func, select

from bot.views import texts
from db.models import Staff, Unit
from db.org_import import import_org, read_org_file
from db.province import UNCOVERED, generate_province, size_of, snapshot_of, write_csv
from db.session import Database
from scheduler.catalog import load_catalog
from scheduler.org import Level
from scheduler.planner import uncovered

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
CATALOG = load_catalog()


def test_province_has_the_size_of_inner_mongolia() -> None:
    size = size_of(generate_province())
    assert size.cities == 12
    assert size.counties == 103
    assert 1_300 <= size.sites <= 1_700
    assert size.transfer_points > 10 * size.cities * 50
    assert size.staff > 3 * size.sites


def test_same_seed_same_rows_other_seed_other_rows() -> None:
    assert generate_province(7) == generate_province(7)
    assert generate_province(7) != generate_province(8)


def test_every_duty_of_the_catalog_is_held() -> None:
    held = {name for row in generate_province() for name in row.get("duties").split("、")}
    assert {duty.name for duty in CATALOG.duties} <= held


def test_uncovered_units_are_exactly_the_ones_left_out() -> None:
    rows = generate_province()
    snapshot = snapshot_of(rows, CATALOG.duties)
    codes = {number: row.get("code") for number, row in enumerate(rows, start=1)}
    gaps = {codes[gap.unit_id] for gap in uncovered(CATALOG, snapshot)}
    assert gaps == {
        *UNCOVERED.sites_without_head,
        *UNCOVERED.counties_without_inspector,
        UNCOVERED.city_without_inspector,
    }


async def test_province_csv_imports_into_the_database(database: Database, tmp_path: Path) -> None:
    rows = generate_province()
    path = tmp_path / "province.csv"
    write_csv(rows, path)
    read_back = read_org_file(path)
    assert [row.values for row in read_back] == [row.values for row in rows]
    async with database.session() as session:
        summary = await import_org(read_back, labels=texts.IMPORT_LABELS, session=session, now=NOW)
    size = size_of(rows)
    async with database.session() as session:
        sites = await session.exec(
            select(func.count()).select_from(Unit).where(Unit.level == Level.SITE)
        )
        staff = await session.exec(select(func.count()).select_from(Staff))
        assert (sites.one(), staff.one()) == (size.sites, size.staff)
    assert sum(summary.created.values()) == len(rows)


def test_snapshot_has_every_unit_point_and_inspector() -> None:
    rows = generate_province()
    size = size_of(rows)
    snapshot = snapshot_of(rows, CATALOG.duties)
    assert sum(1 for unit in snapshot.units if unit.level is Level.SITE) == size.sites
    assert len(snapshot.transfer_points) == size.transfer_points
    units = {unit.id: unit for unit in snapshot.units}
    assert all(units[point.site_id].level is Level.SITE for point in snapshot.transfer_points)
    assert all(inspector.unit_id in units for inspector in snapshot.inspectors)
    doers = sum(1 for row in rows if row.get("role") == "inspector" or row.get("duties"))
    assert len(snapshot.inspectors) == doers
