"""Import the organisation and its staff from CSV or XLSX: all rows or nothing.

One table, one record per row; the `type` column says what the row is:

    type,code,name,parent,level,kind,area,role,department,phone
    unit,C01,呼和浩特市分公司,R01,city,,,,,
    unit,S01,察素齐投递部,X01,site,delivery,urban,,,
    segment,S01-E2,东2段,S01,,,,,,
    transfer_point,T01,县政府收发室,S01,,,,,,
    staff,E001,陈明,S01,,,,inspector,,13800000001,投递部主任

The optional ``duties`` column lists the catalog duties a person holds (ids or names,
separated by commas or 、); they say which checks the person gets. Sites may say when they
open: ``open_days`` (weekdays, "1-6", "周一至周六", "每天") and ``open_on_holidays`` (是/否);
empty means the configuration's default for the kind. ``volume`` (any unit, optional) is
the mail items it handles a month: the monthly 通报 then ranks per 10,000 items.

Codes are the keys: a re-import updates the rows with the same code and never duplicates.
Enum columns take the English code or the label the caller passes (检查员, 投递, 城市 …).
Problems are codes with the offending value; the caller words them.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import OrgImport, Segment, Staff, TransferPoint, Unit
from scheduler.catalog import Duty, load_catalog
from scheduler.org import Area, Department, Level, Role, SiteKind, parse_open_days

COLUMNS = (
    "type",
    "code",
    "name",
    "parent",
    "level",
    "kind",
    "area",
    "role",
    "department",
    "phone",
    "duties",
    "open_days",
    "open_on_holidays",
    "volume",
)
_YES: Final = frozenset({"yes", "y", "true", "1", "是", "开", "营业"})
_NO: Final = frozenset({"no", "n", "false", "0", "否", "不", "休息"})
_DUTY_SEPARATORS = re.compile(r"[,，、;；\s]+")
E = TypeVar("E", bound=StrEnum)
# Codes per IN list and rows per flush: under PostgreSQL's 65,535 parameters a statement.
_CHUNK = 5000
PARENT_LEVEL = {Level.CITY: Level.REGION, Level.COUNTY: Level.CITY, Level.SITE: Level.COUNTY}


class RecordType(StrEnum):
    UNIT = "unit"
    SEGMENT = "segment"
    TRANSFER_POINT = "transfer_point"
    STAFF = "staff"


_MODELS: dict[RecordType, type[SQLModel]] = {
    RecordType.UNIT: Unit,
    RecordType.SEGMENT: Segment,
    RecordType.TRANSFER_POINT: TransferPoint,
    RecordType.STAFF: Staff,
}


def column_limit(record: RecordType, column: str) -> int | None:
    """The longest text the table's column takes (the database refuses more)."""
    table = _MODELS[record].__table__  # type: ignore[attr-defined]
    if column not in table.c:
        return None
    length = getattr(table.c[column].type, "length", None)
    return int(length) if length else None


# The labels an import file may use instead of an enum's values, per enum.
EnumLabels = Mapping[type[StrEnum], Mapping[Any, str]]


class Problem(StrEnum):
    HEADER_MISSING = "header_missing"  # value: the missing columns
    UNSUPPORTED_FILE = "unsupported_file"  # value: the file's suffix
    BAD_CHOICE = "bad_choice"  # value: what the row says; choices: what it may say
    REQUIRED = "required"
    TOO_LONG = "too_long"  # limit
    DUPLICATE_CODE = "duplicate_code"  # value: the code
    ONLY_FOR_SITES = "only_for_sites"
    REGION_HAS_NO_PARENT = "region_has_no_parent"
    HANDLER_NEEDS_DEPARTMENT = "handler_needs_department"
    BAD_PHONE = "bad_phone"
    UNKNOWN_PARENT = "unknown_parent"  # value: the parent's code
    PARENT_LEVEL = "parent_level"  # value: the parent's code; wanted: the Level it must be
    PARENT_KIND = "parent_kind"  # value: the parent's code; wanted: the SiteKind it must be
    UNKNOWN_DUTY = "unknown_duty"  # value: what the row says; names: the duties there are
    DUTY_NOT_HERE = "duty_not_here"  # value: the duty's name; choices: its levels; wanted: kind
    ENCODING = "encoding"  # value: what the file seems to be (UTF-16 …) or ""
    # The tree the import would leave: value names the unit already stored that the row's
    # change would break (a unit below it, of the wrong level; one of a cycle).
    CHILD_LEVEL = "child_level"  # value: the child's code; wanted: the Level it needs above
    CHILD_KIND = "child_kind"  # value: a segment's code under it; wanted: SiteKind.DELIVERY
    CYCLE = "cycle"  # value: the units of the cycle, "A → B → A"
    DATABASE = "database"  # value: the database's own first line (no SQL, no parameters)
    # The database refused this row (no check above foresaw it): wanted: a Refusal; column:
    # the column it names, when it does; value: the row's value there.
    DATABASE_ROW = "database_row"
    BAD_OPEN_DAYS = "bad_open_days"  # value: what the row says
    BAD_YES_NO = "bad_yes_no"  # value: what the row says
    BAD_VOLUME = "bad_volume"  # value: what the row says
    # Visits made before go-live (db/history_import.py):
    BAD_DATE = "bad_date"  # value: what the row says
    NOT_BEFORE_GO_LIVE = "not_before_go_live"  # value: the date; names: (the go-live date,)
    UNKNOWN_ITEM = "unknown_item"  # value: what the row says
    UNKNOWN_STAFF = "unknown_staff"  # value: the code
    UNKNOWN_SITE = "unknown_site"  # value: the code
    SITE_NOT_FOR_ITEM = "site_not_for_item"  # value: the site code
    SITE_NOT_IN_SCOPE = "site_not_in_scope"  # value: the site code; names: (the staff's unit,)
    UNKNOWN_POINT = "unknown_point"  # value: the code


class Refusal(StrEnum):
    """Why the database refused a row, from its error code (PostgreSQL's SQLSTATE) or its
    message (SQLite's)."""

    UNIQUE = "unique"
    CHECK = "check"
    NOT_NULL = "not_null"
    FOREIGN_KEY = "foreign_key"
    TOO_LONG = "too_long"
    OTHER = "other"


_SQLSTATES: Final = {
    "23505": Refusal.UNIQUE,
    "23514": Refusal.CHECK,
    "23502": Refusal.NOT_NULL,
    "23503": Refusal.FOREIGN_KEY,
    "22001": Refusal.TOO_LONG,
}
_SQLITE_MESSAGE: Final = re.compile(
    r"(UNIQUE|CHECK|NOT NULL|FOREIGN KEY) constraint failed(?:: (?:\w+\.)?(\w+))?"
)
_SQLITE_REFUSALS: Final = {
    "UNIQUE": Refusal.UNIQUE,
    "CHECK": Refusal.CHECK,
    "NOT NULL": Refusal.NOT_NULL,
    "FOREIGN KEY": Refusal.FOREIGN_KEY,
}
# PostgreSQL's detail of a unique violation: Key (phone)=(13900000001) already exists.
_KEY_DETAIL: Final = re.compile(r"Key \((\w+)\)=")


def refusal_of(error: DBAPIError) -> tuple[Refusal, str]:
    """What kind of refusal, and the column it names ("" when it names none)."""
    orig: Any = error.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is not None:
        diag = orig.diag
        column = diag.column_name or ""
        if not column and (found := _KEY_DETAIL.search(diag.message_detail or "")):
            column = found[1]
        return _SQLSTATES.get(sqlstate, Refusal.OTHER), column
    found = _SQLITE_MESSAGE.search(str(orig))
    if found is None:
        return Refusal.OTHER, ""
    kind = _SQLITE_REFUSALS[found[1]]
    # A CHECK constraint's name is no column.
    return kind, (found[2] or "") if kind is not Refusal.CHECK else ""


@dataclass(frozen=True)
class RowProblem:
    """What is wrong with one row; `line` is the file's line (CSV) or row number (XLSX)."""

    line: int
    column: str
    problem: Problem
    value: str = ""
    choices: tuple[StrEnum, ...] = ()
    limit: int = 0
    wanted: StrEnum | None = None
    names: tuple[str, ...] = ()


class OrgFileError(Exception):
    def __init__(self, problems: Sequence[RowProblem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the organisation file")
        self.problems = tuple(problems)


@dataclass(frozen=True)
class OrgRow:
    line: int
    values: Mapping[str, str]

    def get(self, column: str) -> str:
        return self.values.get(column, "").strip()


@dataclass
class ImportSummary:
    created: dict[RecordType, int] = field(default_factory=lambda: dict.fromkeys(RecordType, 0))
    updated: dict[RecordType, int] = field(default_factory=lambda: dict.fromkeys(RecordType, 0))


_OTHER_ENCODINGS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


def _decode(raw: bytes) -> str:
    """UTF-8 (with or without BOM) or GB18030, what Excel writes; anything else is refused
    (GB18030 would read UTF-16's bytes as nonsense rather than fail)."""
    for mark, name in _OTHER_ENCODINGS:
        if raw.startswith(mark):
            raise OrgFileError([RowProblem(0, "file", Problem.ENCODING, name)])
    if b"\x00" in raw:  # UTF-16 or UTF-32 without a byte-order mark
        raise OrgFileError([RowProblem(0, "file", Problem.ENCODING, "UTF-16")])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        raise OrgFileError([RowProblem(0, "file", Problem.ENCODING, "")]) from None


def _rows_from_csv(path: Path, required: Sequence[str]) -> list[OrgRow]:
    reader = csv.reader(io.StringIO(_decode(path.read_bytes()), newline=""))
    header: list[str] | None = None
    rows: list[OrgRow] = []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        if header is None:
            header = [cell.strip().lower() for cell in cells]
            _check_header(header, reader.line_num, required)
            continue
        rows.append(OrgRow(reader.line_num, dict(zip(header, cells, strict=False))))
    return rows


def _rows_from_xlsx(path: Path, required: Sequence[str]) -> list[OrgRow]:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        header: list[str] | None = None
        rows: list[OrgRow] = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = ["" if value is None else str(value) for value in values]
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in cells]
                _check_header(header, number, required)
                continue
            rows.append(OrgRow(number, dict(zip(header, cells, strict=False))))
        return rows
    finally:
        workbook.close()


def _check_header(header: list[str], line: int, required: Sequence[str]) -> None:
    missing = [column for column in required if column not in header]
    if missing:
        columns = ", ".join(missing)
        raise OrgFileError([RowProblem(line, columns, Problem.HEADER_MISSING, columns)])


def read_org_file(path: Path) -> list[OrgRow]:
    """The rows of a .csv or .xlsx file (first sheet); the first non-empty row is the header."""
    return read_table(path, ("type", "code", "name", "parent"))


def read_table(path: Path, required: Sequence[str]) -> list[OrgRow]:
    """The rows of a .csv or .xlsx import file whose header must name ``required``."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _rows_from_csv(path, required)
    if suffix in (".xlsx", ".xlsm"):
        return _rows_from_xlsx(path, required)
    raise OrgFileError([RowProblem(0, "file", Problem.UNSUPPORTED_FILE, path.suffix)])


def _enum_value(
    enum: type[E], raw: str, labels: EnumLabels, row: OrgRow, column: str
) -> tuple[E | None, RowProblem | None]:
    if not raw:
        return None, None
    by_label = {label: member for member, label in labels.get(enum, {}).items()}
    member = by_label.get(raw) or next((m for m in enum if m.value == raw.lower()), None)
    if member is None:
        return None, RowProblem(row.line, column, Problem.BAD_CHOICE, raw, tuple(enum))
    return member, None


@dataclass(frozen=True)
class _UnitSpec:
    row: OrgRow
    level: Level
    kind: SiteKind | None
    area: Area | None
    open_days: str | None = None  # ISO weekdays, e.g. "123456"
    open_on_holidays: bool | None = None
    volume: int | None = None


@dataclass(frozen=True)
class _StaffSpec:
    row: OrgRow
    role: Role
    department: Department | None
    duties: tuple[Duty, ...] = ()


@dataclass
class _Plan:
    units: dict[str, _UnitSpec] = field(default_factory=dict)
    segments: dict[str, OrgRow] = field(default_factory=dict)
    transfer_points: dict[str, OrgRow] = field(default_factory=dict)
    staff: dict[str, _StaffSpec] = field(default_factory=dict)
    problems: list[RowProblem] = field(default_factory=list)


def _check_row_alone(
    row: OrgRow, plan: _Plan, labels: EnumLabels, duties: Mapping[str, Duty]
) -> None:
    """Checks that need only the row itself; adds the row to the plan when it passes."""
    problems = plan.problems
    type_raw = row.get("type").lower()
    record = next((t for t in RecordType if t.value == type_raw), None)
    if record is None:
        problems.append(
            RowProblem(row.line, "type", Problem.BAD_CHOICE, row.get("type"), tuple(RecordType))
        )
        return
    code, name = row.get("code"), row.get("name")
    before = len(problems)
    if not code:
        problems.append(RowProblem(row.line, "code", Problem.REQUIRED))
    if not name:
        problems.append(RowProblem(row.line, "name", Problem.REQUIRED))
    # Every text the row stores fits its column: the database never refuses a row.
    stored = ("code", "name", "phone") if record is RecordType.STAFF else ("code", "name")
    for column in stored:
        limit = column_limit(record, column)
        if limit is not None and len(row.get(column)) > limit:
            problems.append(RowProblem(row.line, column, Problem.TOO_LONG, limit=limit))
    seen = {
        RecordType.UNIT: plan.units.keys(),
        RecordType.SEGMENT: plan.segments.keys(),
        RecordType.TRANSFER_POINT: plan.transfer_points.keys(),
        RecordType.STAFF: plan.staff.keys(),
    }[record]
    if code in seen:
        problems.append(RowProblem(row.line, "code", Problem.DUPLICATE_CODE, code))
    if record is RecordType.UNIT:
        _check_unit_row(row, plan, before, labels)
    elif record is RecordType.STAFF:
        _check_staff_row(row, plan, before, labels, duties)
    else:
        if not row.get("parent"):
            problems.append(RowProblem(row.line, "parent", Problem.REQUIRED))
        if len(problems) == before:
            target = plan.segments if record is RecordType.SEGMENT else plan.transfer_points
            target[code] = row


def _check_unit_row(row: OrgRow, plan: _Plan, before: int, labels: EnumLabels) -> None:
    problems = plan.problems
    level, problem = _enum_value(Level, row.get("level"), labels, row, "level")
    kind, kind_problem = _enum_value(SiteKind, row.get("kind"), labels, row, "kind")
    area, area_problem = _enum_value(Area, row.get("area"), labels, row, "area")
    problems.extend(p for p in (problem, kind_problem, area_problem) if p)
    if level is None and problem is None:
        problems.append(RowProblem(row.line, "level", Problem.REQUIRED))
    if level is Level.SITE:
        if kind is None and kind_problem is None:
            problems.append(RowProblem(row.line, "kind", Problem.REQUIRED))
        if area is None and area_problem is None:
            problems.append(RowProblem(row.line, "area", Problem.REQUIRED))
    elif level is not None:
        for column, value in (("kind", kind), ("area", area)):
            if value is not None:
                problems.append(RowProblem(row.line, column, Problem.ONLY_FOR_SITES))
        for column in ("open_days", "open_on_holidays"):
            if row.get(column):
                problems.append(RowProblem(row.line, column, Problem.ONLY_FOR_SITES))
    open_days: str | None = None
    if level is Level.SITE and row.get("open_days"):
        weekdays = parse_open_days(row.get("open_days"))
        if weekdays is None:
            problem = RowProblem(row.line, "open_days", Problem.BAD_OPEN_DAYS, row.get("open_days"))
            problems.append(problem)
        else:
            open_days = "".join(str(day + 1) for day in sorted(weekdays))
    on_holidays: bool | None = None
    holidays_text = row.get("open_on_holidays")
    if level is Level.SITE and holidays_text:
        if holidays_text.lower() in _YES:
            on_holidays = True
        elif holidays_text.lower() in _NO:
            on_holidays = False
        else:
            problem = RowProblem(row.line, "open_on_holidays", Problem.BAD_YES_NO, holidays_text)
            problems.append(problem)
    if level is not None and level is not Level.REGION and not row.get("parent"):
        problems.append(RowProblem(row.line, "parent", Problem.REQUIRED))
    if level is Level.REGION and row.get("parent"):
        problems.append(RowProblem(row.line, "parent", Problem.REGION_HAS_NO_PARENT))
    volume = _volume(row, problems)
    if len(problems) == before and level is not None:
        plan.units[row.get("code")] = _UnitSpec(
            row, level, kind, area, open_days, on_holidays, volume
        )


def _volume(row: OrgRow, problems: list[RowProblem]) -> int | None:
    text = row.get("volume").replace(",", "")
    if not text:
        return None
    if not text.isdigit() or len(text) > 12:
        problems.append(RowProblem(row.line, "volume", Problem.BAD_VOLUME, row.get("volume")))
        return None
    return int(text)


def _check_staff_row(
    row: OrgRow, plan: _Plan, before: int, labels: EnumLabels, duties: Mapping[str, Duty]
) -> None:
    problems = plan.problems
    role, problem = _enum_value(Role, row.get("role"), labels, row, "role")
    department, dep_problem = _enum_value(
        Department, row.get("department"), labels, row, "department"
    )
    problems.extend(p for p in (problem, dep_problem) if p)
    if role is None and problem is None:
        problems.append(RowProblem(row.line, "role", Problem.REQUIRED))
    if role is Role.HANDLER and department is None and dep_problem is None:
        problems.append(RowProblem(row.line, "department", Problem.HANDLER_NEEDS_DEPARTMENT))
    if not row.get("parent"):
        problems.append(RowProblem(row.line, "parent", Problem.REQUIRED))
    phone = row.get("phone")
    if phone and not phone.replace("-", "").isdigit():
        problems.append(RowProblem(row.line, "phone", Problem.BAD_PHONE, phone))
    held: list[Duty] = []
    for token in _DUTY_SEPARATORS.split(row.get("duties")):
        if not token:
            continue
        duty = duties.get(token) or duties.get(token.lower())
        if duty is None:
            names = tuple(dict.fromkeys(f"{d.id}/{d.name}" for d in duties.values()))
            problems.append(
                RowProblem(row.line, "duties", Problem.UNKNOWN_DUTY, token, names=names)
            )
        elif duty not in held:
            held.append(duty)
    if len(problems) == before and role is not None:
        plan.staff[row.get("code")] = _StaffSpec(row, role, department, tuple(held))


async def import_org(
    rows: Iterable[OrgRow],
    *,
    labels: EnumLabels,
    session: AsyncSession,
    now: datetime,
    duties: Sequence[Duty] | None = None,
) -> ImportSummary:
    """Create or update every row; raise OrgFileError (writing nothing) if any row is wrong.
    `labels` are the names the file may use for enum values besides the values themselves;
    `duties` those staff may hold (the shipped catalog's by default), by id or name.

    The caller's unit of work must roll back on the exception: rows are only flushed after
    every check passed, but parents must exist before children can reference them.
    """
    plan = _Plan()
    known = load_catalog().duties if duties is None else duties
    by_key = {duty.id: duty for duty in known} | {duty.name: duty for duty in known}
    for row in rows:
        _check_row_alone(row, plan, labels, by_key)
    existing_units = {u.code: u for u in (await session.exec(select(Unit))).all()}
    levels = {code: unit.level for code, unit in existing_units.items()}
    kinds = {code: unit.site_kind for code, unit in existing_units.items()}
    levels.update({code: spec.level for code, spec in plan.units.items()})
    kinds.update({code: spec.kind for code, spec in plan.units.items()})
    _check_references(plan, levels, kinds)
    if not plan.problems:
        await _check_tree(plan, existing_units, session=session)
    if plan.problems:
        raise OrgFileError(sorted(plan.problems, key=lambda p: p.line))
    # Written first: on SQLite the transaction begins with a write, so the savepoints below
    # are nested in the caller's transaction (a first SAVEPOINT would begin one of its own).
    session.add(OrgImport(imported_at=now))
    await session.flush()
    try:
        async with session.begin_nested():
            return await _write(plan, existing_units, _Writing(), session=session)
    except DBAPIError:
        # Every check above passed, so the database has a rule of its own (a constraint
        # added there, rows another writer stored meanwhile): which row? The write again,
        # each row flushed alone, in a savepoint of its own.
        pass
    units = {unit.code: unit for unit in (await session.exec(select(Unit))).all()}
    writing = _Writing(chunk=1)
    try:
        async with session.begin_nested():
            return await _write(plan, units, writing, session=session)
    except DBAPIError as error:
        raise OrgFileError([refused_row(writing.row, error, _STORED_AS_IN_FILE)]) from None


@dataclass
class _Writing:
    """Rows per flush, and the row written last: the one a failed flush of one row names."""

    chunk: int = _CHUNK
    row: OrgRow | None = None
    added: int = 0


# The tables' columns the organisation file fills are named as its columns.
_STORED_AS_IN_FILE: Final = {column: column for column in COLUMNS}


def refused_row(
    row: OrgRow | None, error: DBAPIError, file_columns: Mapping[str, str]
) -> RowProblem:
    """The row the database refused, never with the statement and its parameters; a row
    refused only in a batch (a limit on statements) is the file's problem. ``file_columns``:
    the file's column for each stored column it fills (the database names the stored one)."""
    if row is None:
        detail = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
        return RowProblem(0, "file", Problem.DATABASE, detail[:300])
    refusal, stored = refusal_of(error)
    column = file_columns.get(stored, stored)
    value = row.get(column) if stored in file_columns else ""
    return RowProblem(row.line, column, Problem.DATABASE_ROW, value, wanted=refusal)


def _check_references(
    plan: _Plan, levels: Mapping[str, Level], kinds: Mapping[str, SiteKind | None]
) -> None:
    def parent_problem(row: OrgRow, wanted: Level | None, kind: SiteKind | None = None) -> None:
        parent = row.get("parent")
        if parent not in levels:
            plan.problems.append(RowProblem(row.line, "parent", Problem.UNKNOWN_PARENT, parent))
        elif wanted is not None and levels[parent] is not wanted:
            problem = RowProblem(row.line, "parent", Problem.PARENT_LEVEL, parent, wanted=wanted)
            plan.problems.append(problem)
        elif kind is not None and kinds[parent] is not kind:
            problem = RowProblem(row.line, "parent", Problem.PARENT_KIND, parent, wanted=kind)
            plan.problems.append(problem)

    for spec in plan.units.values():
        if spec.level is not Level.REGION:
            parent_problem(spec.row, PARENT_LEVEL[spec.level])
    for row in plan.segments.values():
        parent_problem(row, Level.SITE, SiteKind.DELIVERY)
    for row in plan.transfer_points.values():
        parent_problem(row, Level.SITE)
    for staff in plan.staff.values():
        parent_problem(staff.row, None)
        parent = staff.row.get("parent")
        for duty in staff.duties:
            if parent in levels and not duty.fits(levels[parent], kinds[parent]):
                problem = RowProblem(
                    staff.row.line,
                    "duties",
                    Problem.DUTY_NOT_HERE,
                    duty.name,
                    choices=duty.levels,
                    wanted=duty.site_kind,
                )
                plan.problems.append(problem)


async def _check_tree(plan: _Plan, existing: Mapping[str, Unit], *, session: AsyncSession) -> None:
    """The tree the import leaves, not only the rows of the file: a unit already stored
    keeps its parent, so changing that parent's level (or making it a site) must still
    leave every level under the one above it, no site under a site and no cycle."""
    code_of = {unit.id: code for code, unit in existing.items()}
    parent_of = {code: code_of.get(unit.parent_id) for code, unit in existing.items()}
    level_of = {code: unit.level for code, unit in existing.items()}
    kind_of = {code: unit.site_kind for code, unit in existing.items()}
    for code, spec in plan.units.items():
        parent_of[code] = spec.row.get("parent") or None
        level_of[code], kind_of[code] = spec.level, spec.kind
    for code, unit in existing.items():
        parent = parent_of[code]
        if code in plan.units or parent not in plan.units or unit.level is Level.REGION:
            continue
        wanted = PARENT_LEVEL[unit.level]
        if level_of[parent] is not wanted:
            line = plan.units[parent].row.line
            plan.problems.append(
                RowProblem(line, "level", Problem.CHILD_LEVEL, code, wanted=wanted)
            )
    changed = {
        existing[code].id: code
        for code, spec in plan.units.items()
        if code in existing
        and (spec.level is not existing[code].level or spec.kind is not existing[code].site_kind)
    }
    places: list[tuple[str, str, bool]] = [  # (code, site, a segment?)
        (item.code, changed[item.site_id], True)
        for item in await _children(Segment, list(changed), session=session)
        if item.code not in plan.segments
    ] + [
        (item.code, changed[item.site_id], False)
        for item in await _children(TransferPoint, list(changed), session=session)
        if item.code not in plan.transfer_points
    ]
    for place, site, is_segment in places:
        line = plan.units[site].row.line
        if level_of[site] is not Level.SITE:
            problem = RowProblem(line, "level", Problem.CHILD_LEVEL, place, wanted=Level.SITE)
            plan.problems.append(problem)
        elif is_segment and kind_of[site] is not SiteKind.DELIVERY:
            problem = RowProblem(line, "kind", Problem.CHILD_KIND, place, wanted=SiteKind.DELIVERY)
            plan.problems.append(problem)
    for code, spec in plan.units.items():
        path = [code]
        parent = parent_of.get(code)
        while parent is not None and parent not in path and len(path) <= len(parent_of):
            path.append(parent)
            parent = parent_of.get(parent)
        if parent is not None and parent == code:
            cycle = " → ".join([*path, code])
            plan.problems.append(RowProblem(spec.row.line, "parent", Problem.CYCLE, cycle))


async def _children(
    model: type[Place], site_ids: Sequence[int | None], *, session: AsyncSession
) -> list[Place]:
    found: list[Place] = []
    for start in range(0, len(site_ids), _CHUNK):
        chunk = site_ids[start : start + _CHUNK]
        found += (await session.exec(select(model).where(col(model.site_id).in_(chunk)))).all()
    return found


async def _write(
    plan: _Plan, units: dict[str, Unit], writing: _Writing, *, session: AsyncSession
) -> ImportSummary:
    summary = ImportSummary()

    def count(record: RecordType, created: bool) -> None:
        target = summary.created if created else summary.updated
        target[record] += 1

    # Parents before children, so that every parent_id is known when a child is written.
    for level in (Level.REGION, Level.CITY, Level.COUNTY, Level.SITE):
        for code, spec in plan.units.items():
            if spec.level is not level:
                continue
            unit = units.get(code)
            count(RecordType.UNIT, unit is None)
            unit = unit or Unit(code=code, name="", level=level)
            unit.name = spec.row.get("name")
            unit.level = level
            unit.site_kind, unit.area = spec.kind, spec.area
            unit.open_days, unit.open_on_holidays = spec.open_days, spec.open_on_holidays
            unit.volume = spec.volume
            parent = spec.row.get("parent")
            unit.parent_id = units[parent].id if parent else None
            session.add(unit)
            units[code] = unit
            await _added(spec.row, writing, session)
        await session.flush()  # this level's ids, for the next level's parent_id

    segments = await _write_places(Segment, plan.segments, units, writing, session=session)
    points = await _write_places(
        TransferPoint, plan.transfer_points, units, writing, session=session
    )
    for record, specs, created in (
        (RecordType.SEGMENT, plan.segments, segments),
        (RecordType.TRANSFER_POINT, plan.transfer_points, points),
    ):
        summary.created[record] += created
        summary.updated[record] += len(specs) - created

    existing_staff = {
        person.code: person for person in await _by_codes(Staff, list(plan.staff), session)
    }
    for code, staff_spec in plan.staff.items():
        person = existing_staff.get(code)
        count(RecordType.STAFF, person is None)
        person = person or Staff(code=code, name="", role=staff_spec.role, unit_id=0)
        person.name = staff_spec.row.get("name")
        person.role = staff_spec.role
        person.department = staff_spec.department
        person.unit_id = _id(units[staff_spec.row.get("parent")])
        person.phone = staff_spec.row.get("phone") or None
        person.duties = ",".join(duty.id for duty in staff_spec.duties)
        session.add(person)
        await _added(staff_spec.row, writing, session)
    await session.flush()
    return summary


async def _added(row: OrgRow, writing: _Writing, session: AsyncSession) -> None:
    """Flushes every ``writing.chunk`` rows (each row when looking for the one refused)."""
    writing.row = row
    writing.added += 1
    if writing.added % writing.chunk == 0:
        await session.flush()


M = TypeVar("M", Unit, Segment, TransferPoint, Staff)


async def _by_codes(model: type[M], codes: Sequence[str], session: AsyncSession) -> list[M]:
    found: list[M] = []
    for start in range(0, len(codes), _CHUNK):
        chunk = codes[start : start + _CHUNK]
        found += (await session.exec(select(model).where(col(model.code).in_(chunk)))).all()
    return found


Place = TypeVar("Place", Segment, TransferPoint)


async def _write_places(
    model: type[Place],
    rows: Mapping[str, OrgRow],
    units: Mapping[str, Unit],
    writing: _Writing,
    *,
    session: AsyncSession,
) -> int:
    """Create or update segments or transfer points; returns how many were created."""
    existing = {item.code: item for item in await _by_codes(model, list(rows), session)}
    for code, row in rows.items():
        item = existing.get(code) or model(code=code, name="", site_id=0)
        item.name = row.get("name")
        item.site_id = _id(units[row.get("parent")])
        session.add(item)
        await _added(row, writing, session)
    await session.flush()
    return len(set(rows) - set(existing))


def _id(unit: Unit) -> int:
    assert unit.id is not None, "units are flushed before their children are written"
    return unit.id
