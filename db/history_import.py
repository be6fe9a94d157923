"""Visits made before go-live (``python -m bot import-history FILE``): entered as done checks,
so that coverage quotas over long periods (every site once a half-year or a year) and the
least-recently-visited picks see them. All rows or nothing, every problem with its line and
column, as for the organisation file (db/org_import.py)::

    date,item,staff,site,transfer_points
    2026-09-15,city_letters_field_check,I001,TZ-D1,
    2026-09-21,delivery_transfer_points_urban,I003,TZ-D1,TZ-D1-T1、TZ-D1-T2

``item`` is the catalog id or title, ``staff`` the 工号 of who did it, ``site`` the site
checked (for a site's own checks: the site itself), ``transfer_points`` the points visited.
Re-importing a file adds nothing twice. A row the database itself refuses (a rule of its own
the checks cannot know) is named with its line and column too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import UpdateBase
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.checks import encode_ids
from db.models import Assignment, AssignmentStatus, Staff, TransferPoint, Unit
from db.org_import import OrgFileError, OrgRow, Problem, RowProblem, refused_row
from db.session import begin_at_once
from scheduler.catalog import Catalog, CatalogItem
from scheduler.org import Level

HISTORY_COLUMNS = ("date", "item", "staff", "site", "transfer_points")
# The file's column of each stored column it fills, for what the database refuses.
_FILE_COLUMNS = {
    "day": "date",
    "item_id": "item",
    "inspector_id": "staff",
    "target_site_id": "site",
    "transfer_point_ids": "transfer_points",
}
# Rows per statement: under SQLite's bound-parameter limit.
_BATCH = 500
REQUIRED_COLUMNS = ("date", "item", "staff")
_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]0?0:00(?::00)?)?$")
_LIST = re.compile(r"[,，、;；\s]+")


@dataclass(frozen=True)
class HistorySummary:
    created: int
    already_there: int


@dataclass(frozen=True)
class _Visit:
    row: OrgRow
    day: date
    item: CatalogItem
    staff: Staff
    site: Unit | None
    points: tuple[int, ...]

    @property
    def key(self) -> str:
        site = "-" if self.site is None else self.site.code
        return f"history:{self.day}:{self.item.id}:{self.staff.code}:{site}"


def _parse_date(text: str) -> date | None:
    match = _DATE.match(text.strip())
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


class _Org:
    def __init__(self, units: Iterable[Unit], staff: Iterable[Staff]) -> None:
        self.units = {unit.code: unit for unit in units}
        self.by_id = {unit.id: unit for unit in self.units.values()}
        self.staff = {person.code: person for person in staff}

    def ancestor_at(self, unit: Unit, level: Level) -> Unit | None:
        current: Unit | None = unit
        for _ in range(len(self.by_id) + 1):  # a cycle cannot loop forever
            if current is None or current.level is level:
                return current
            current = self.by_id.get(current.parent_id)
        return None


async def import_history(
    rows: Iterable[OrgRow],
    *,
    catalog: Catalog,
    session: AsyncSession,
    before: date,
) -> HistorySummary:
    """Store every visit as a done check dated before ``before`` (the go-live date, or
    today); raise OrgFileError, writing nothing, if any row is wrong."""
    org = _Org((await session.exec(select(Unit))).all(), (await session.exec(select(Staff))).all())
    points: dict[int, dict[str, int]] = {}
    for point in (await session.exec(select(TransferPoint))).all():
        assert point.id is not None
        points.setdefault(point.site_id, {})[point.code] = point.id
    items = {item.id: item for item in catalog} | {item.title: item for item in catalog}
    problems: list[RowProblem] = []
    visits: dict[str, _Visit] = {}
    for row in rows:
        visit = _check_row(row, items, org, points, before, problems)
        if visit is not None:
            visits.setdefault(visit.key, visit)
    if problems:
        raise OrgFileError(sorted(problems, key=lambda p: p.line))
    existing: set[str] = set()
    keys = list(visits)
    for start in range(0, len(keys), 500):
        statement = select(Assignment.key).where(col(Assignment.key).in_(keys[start : start + 500]))
        existing.update((await session.exec(statement)).all())
    await _insert(session, [visit for key, visit in visits.items() if key not in existing])
    return HistorySummary(created=len(visits) - len(existing), already_there=len(existing))


def _check_row(
    row: OrgRow,
    items: Mapping[str, CatalogItem],
    org: _Org,
    points: Mapping[int, Mapping[str, int]],
    before: date,
    problems: list[RowProblem],
) -> _Visit | None:
    found = len(problems)
    day = _parse_date(row.get("date"))
    if not row.get("date"):
        problems.append(RowProblem(row.line, "date", Problem.REQUIRED))
    elif day is None:
        problems.append(RowProblem(row.line, "date", Problem.BAD_DATE, row.get("date")))
    elif day >= before:
        problem = Problem.NOT_BEFORE_GO_LIVE
        problems.append(RowProblem(row.line, "date", problem, str(day), names=(str(before),)))
    item = items.get(row.get("item"))
    if item is None:
        problem = Problem.REQUIRED if not row.get("item") else Problem.UNKNOWN_ITEM
        problems.append(RowProblem(row.line, "item", problem, row.get("item")))
    staff = org.staff.get(row.get("staff"))
    if staff is None:
        problem = Problem.REQUIRED if not row.get("staff") else Problem.UNKNOWN_STAFF
        problems.append(RowProblem(row.line, "staff", problem, row.get("staff")))
    site = org.units.get(row.get("site")) if row.get("site") else None
    if row.get("site") and (site is None or site.level is not Level.SITE):
        problems.append(RowProblem(row.line, "site", Problem.UNKNOWN_SITE, row.get("site")))
        return None
    if item is None or staff is None or day is None or len(problems) > found:
        return None
    needs_site = item.level is Level.SITE or item.selects_sites or item.uses_transfer_points
    if site is None and needs_site:
        problems.append(RowProblem(row.line, "site", Problem.REQUIRED))
        return None
    if site is not None:
        if site.site_kind is not item.site_kind or (
            item.area is not None and site.area is not item.area
        ):
            problems.append(RowProblem(row.line, "site", Problem.SITE_NOT_FOR_ITEM, site.code))
            return None
        inspecting = org.ancestor_at(site, item.level)
        if inspecting is None or inspecting.id != staff.unit_id:
            unit = org.by_id.get(staff.unit_id)
            names = (unit.name,) if unit is not None else ()
            problems.append(
                RowProblem(row.line, "site", Problem.SITE_NOT_IN_SCOPE, site.code, names=names)
            )
            return None
    elif (unit := org.by_id.get(staff.unit_id)) is None or unit.level is not item.level:
        wanted = item.level
        problems.append(
            RowProblem(row.line, "staff", Problem.PARENT_LEVEL, staff.code, wanted=wanted)
        )
        return None
    visited: list[int] = []
    own = points.get(site.id, {}) if site is not None and site.id is not None else {}
    for code in _LIST.split(row.get("transfer_points")):
        if not code:
            continue
        if code not in own:
            problems.append(RowProblem(row.line, "transfer_points", Problem.UNKNOWN_POINT, code))
        else:
            visited.append(own[code])
    if len(problems) > found:
        return None
    return _Visit(row, day, item, staff, site, tuple(sorted(set(visited))))


async def _insert(session: AsyncSession, visits: list[_Visit]) -> None:
    """Every visit, or an OrgFileError naming the row the database refused (the caller's
    unit of work rolls back what was written)."""
    if not visits:
        return
    await begin_at_once(session)  # the savepoints below are part of the caller's transaction
    try:
        async with session.begin_nested():
            for start in range(0, len(visits), _BATCH):
                await session.exec(_statement(session, visits[start : start + _BATCH]))
        return
    except DBAPIError as error:
        # Every check passed, so the database has a rule of its own (a constraint added
        # there, rows another writer stored meanwhile): which row? Each again, alone, in a
        # savepoint of its own.
        refused_in_batch = error
    for visit in visits:
        try:
            async with session.begin_nested():
                await session.exec(_statement(session, [visit]))
        except DBAPIError as error:
            raise OrgFileError([refused_row(visit.row, error, _FILE_COLUMNS)]) from None
    raise OrgFileError([refused_row(None, refused_in_batch, _FILE_COLUMNS)]) from None


def _statement(session: AsyncSession, visits: Sequence[_Visit]) -> UpdateBase:
    assert session.bind is not None
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    rows = [
        {
            "key": visit.key,
            "day": visit.day,
            "item_id": visit.item.id,
            "inspector_id": visit.staff.id,
            "unit_id": visit.site.id
            if visit.site is not None and visit.item.level is Level.SITE
            else visit.staff.unit_id,
            "target_site_id": None if visit.site is None else visit.site.id,
            "transfer_point_ids": encode_ids(visit.points),
            "status": AssignmentStatus.DONE,
            "is_recheck": False,
            "answers": "{}",
        }
        for visit in visits
    ]
    return insert(Assignment).values(rows).on_conflict_do_nothing(index_elements=["key"])
