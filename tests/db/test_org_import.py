from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import text
from sqlmodel import func, select

from bot.views import texts
from db.models import Segment, Staff, TransferPoint, Unit
from db.org_import import (
    COLUMNS,
    OrgFileError,
    Problem,
    RecordType,
    Refusal,
    RowProblem,
    import_org,
    read_org_file,
)
from db.session import Database
from scheduler.org import Area, Department, Level, Role, SiteKind
from tests.conftest import SAMPLE_ORG

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
HEADER = "type,code,name,parent,level,kind,area,role,department,phone\n"


async def import_file(database: Database, path: Path) -> None:
    async with database.session() as session:
        await import_org(read_org_file(path), labels=texts.IMPORT_LABELS, session=session, now=NOW)


async def table_counts(database: Database) -> dict[str, int]:
    async with database.session() as session:
        return {
            model.__name__: (await session.exec(select(func.count()).select_from(model))).one()
            for model in (Unit, Segment, TransferPoint, Staff)
        }


async def all_rows(database: Database) -> list[tuple[object, ...]]:
    async with database.session() as session:
        units = (await session.exec(select(Unit).order_by(Unit.code))).all()
        staff = (await session.exec(select(Staff).order_by(Staff.code))).all()
        return [tuple(u.model_dump().values()) for u in units] + [
            tuple(s.model_dump().values()) for s in staff
        ]


def write(tmp_path: Path, body: str, name: str = "org.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes((HEADER + body).encode(encoding))
    return path


async def test_sample_imported_twice_gives_the_same_rows(database: Database) -> None:
    async with database.session() as session:
        first = await import_org(
            read_org_file(SAMPLE_ORG), labels=texts.IMPORT_LABELS, session=session, now=NOW
        )
    counts, rows = await table_counts(database), await all_rows(database)
    async with database.session() as session:
        second = await import_org(
            read_org_file(SAMPLE_ORG), labels=texts.IMPORT_LABELS, session=session, now=NOW
        )
    assert counts == {"Unit": 12, "Segment": 7, "TransferPoint": 8, "Staff": 16}
    assert await table_counts(database) == counts
    assert await all_rows(database) == rows
    assert first.created[RecordType.STAFF] == 16 and first.updated[RecordType.STAFF] == 0
    assert second.created[RecordType.STAFF] == 0 and second.updated[RecordType.STAFF] == 16


async def test_sample_builds_the_hierarchy(database: Database) -> None:
    await import_file(database, SAMPLE_ORG)
    async with database.session() as session:
        station = (await session.exec(select(Unit).where(Unit.code == "TZ-D1"))).one()
        county = await session.get(Unit, station.parent_id)
        handler = (await session.exec(select(Staff).where(Staff.code == "H001"))).one()
    assert (station.level, station.site_kind, station.area) == (
        Level.SITE,
        SiteKind.DELIVERY,
        Area.URBAN,
    )
    assert county is not None and county.code == "TZ" and county.level is Level.COUNTY
    assert handler.role is Role.HANDLER and handler.department is Department.DELIVERY


async def test_reimport_updates_changed_fields(database: Database, tmp_path: Path) -> None:
    await import_file(database, SAMPLE_ORG)
    changed = write(tmp_path, "staff,I003,陈明明,TZ-D2,,,,manager,,\n")
    await import_file(database, changed)
    async with database.session() as session:
        person = (await session.exec(select(Staff).where(Staff.code == "I003"))).one()
        unit = await session.get(Unit, person.unit_id)
    assert (person.name, person.role) == ("陈明明", Role.MANAGER)
    assert unit is not None and unit.code == "TZ-D2"
    assert (await table_counts(database))["Staff"] == 16


async def test_a_broken_row_is_reported_with_its_line_and_nothing_is_written(
    database: Database, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "unit,R1,区公司,,region,,,,,\n"
        "unit,C1,某市分公司,R1,city,,,,,\n"
        "staff,E1,张三,C1,,,,boss,,\n"  # line 4: unknown role
        "unit,X1,某县局,NOPE,county,,,,,\n",  # line 5: unknown parent
    )
    with pytest.raises(OrgFileError) as raised:
        await import_file(database, path)
    found = [(p.line, p.column) for p in raised.value.problems]
    assert found == [(4, "role"), (5, "parent")]
    assert "boss" in texts.org_problem(raised.value.problems[0])
    assert await table_counts(database) == {"Unit": 0, "Segment": 0, "TransferPoint": 0, "Staff": 0}


@pytest.mark.parametrize(
    ("body", "line", "column"),
    [
        ("unit,S1,网点,,site,delivery,urban,,,\n", 2, "parent"),
        ("unit,R1,区,,region,,,,,\nunit,S1,网点,R1,site,delivery,urban,,,\n", 3, "parent"),
        ("unit,R1,区,,region,,,,,\nunit,C1,市,R1,city,counter,,,,\n", 3, "kind"),
        ("unit,R1,区,,region,,,,,\nunit,R1,区2,,region,,,,,\n", 3, "code"),
        ("unit,R1,区,,region,,,,,\nstaff,H1,处理人,R1,,,,handler,,\n", 3, "department"),
        ("unit,R1,区,,region,,,,,\nstaff,H1,人,R1,,,,inspector,,电话\n", 3, "phone"),
        ("team,T1,队,,,,,,,\n", 2, "type"),
        ("unit,,无编码,,region,,,,,\n", 2, "code"),
    ],
)
async def test_each_kind_of_bad_row_names_line_and_column(
    database: Database, tmp_path: Path, body: str, line: int, column: str
) -> None:
    with pytest.raises(OrgFileError) as raised:
        await import_file(database, write(tmp_path, body))
    assert [(p.line, p.column) for p in raised.value.problems] == [(line, column)]


async def test_segment_must_belong_to_a_delivery_site(database: Database, tmp_path: Path) -> None:
    await import_file(database, SAMPLE_ORG)
    with pytest.raises(OrgFileError) as raised:
        await import_file(database, write(tmp_path, "segment,SX,东9段,TZ-C1,,,,,,\n"))
    assert "投递" in texts.org_problem(raised.value.problems[0])


async def test_chinese_labels_and_gbk_csv_from_excel(database: Database, tmp_path: Path) -> None:
    body = (
        "unit,R1,区公司,,区公司,,,,,\n"
        "unit,C1,市分公司,R1,盟市分公司,,,,,\n"
        "unit,X1,县局,C1,旗县局,,,,,\n"
        "unit,S1,城关投递部,X1,网点,投递,城市,,,\n"
        "staff,E1,李四,S1,,,,检查员,投递,\n"
    )
    await import_file(database, write(tmp_path, body, encoding="gb18030"))
    async with database.session() as session:
        person = (await session.exec(select(Staff))).one()
        site = (await session.exec(select(Unit).where(Unit.code == "S1"))).one()
    assert person.role is Role.INSPECTOR and person.department is Department.DELIVERY
    assert site.site_kind is SiteKind.DELIVERY and site.area is Area.URBAN


async def test_xlsx_import_reports_row_numbers(database: Database, tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for line in (HEADER + SAMPLE_ORG.read_text(encoding="utf-8").split("\n", 1)[1]).splitlines():
        sheet.append(line.split(","))
    good = tmp_path / "org.xlsx"
    workbook.save(good)
    await import_file(database, good)
    assert (await table_counts(database))["Staff"] == 16

    sheet.append(["staff", "E99", "某人", "NOWHERE", "", "", "", "inspector", "", ""])
    bad = tmp_path / "bad.xlsx"
    workbook.save(bad)
    with pytest.raises(OrgFileError) as raised:
        await import_file(database, bad)
    assert [(p.line, p.column) for p in raised.value.problems] == [(sheet.max_row, "parent")]


def test_unsupported_file_type(tmp_path: Path) -> None:
    path = tmp_path / "org.txt"
    path.write_text("x")
    with pytest.raises(OrgFileError):
        read_org_file(path)


def test_every_import_problem_has_words() -> None:
    for problem in Problem:
        worded = texts.org_problem(
            RowProblem(7, "name", problem, "X", (Level.CITY,), 5, Level.CITY)
        )
        assert worded.startswith("第 7 行，列 name：") and "{" not in worded


def test_every_refusal_of_the_database_has_words() -> None:
    for refusal in Refusal:
        worded = texts.org_problem(RowProblem(7, "", Problem.DATABASE_ROW, "", wanted=refusal))
        assert worded.startswith("第 7 行：数据库拒绝写入这一行：") and "{" not in worded


async def test_a_row_the_database_itself_refuses_is_named_with_its_line(
    database: Database, tmp_path: Path
) -> None:
    """A rule of the database's own that the checks cannot know (here a unique index on
    phones, added by the database's administrators): the batch is written again row by
    row to find which one, and nothing is written."""
    async with database.session() as session:
        await session.exec(text("CREATE UNIQUE INDEX one_phone_each ON staff (phone)"))  # type: ignore[call-overload]
    body = (
        "unit,R1,区公司,,region,,,,,\n"
        "staff,E1,王芳,R1,,,,admin,,13900000001\n"
        "staff,E2,李强,R1,,,,manager,,13900000002\n"
        "staff,E3,赵敏,R1,,,,manager,,13900000001\n"
    )
    with pytest.raises(OrgFileError) as raised:
        await import_file(database, write(tmp_path, body))
    (problem,) = raised.value.problems
    assert (problem.line, problem.column, problem.problem, problem.wanted) == (
        5,
        "phone",
        Problem.DATABASE_ROW,
        Refusal.UNIQUE,
    )
    assert texts.org_problem(problem) == (
        "第 5 行，列 phone：数据库拒绝写入这一行：与数据库中已有的记录重复（“13900000001”）"
        "（文件中的任何内容都没有写入）"
    )
    assert await table_counts(database) == {"Unit": 0, "Segment": 0, "TransferPoint": 0, "Staff": 0}
    # The same file without the repeated phone goes in whole.
    fixed = body.replace("赵敏,R1,,,,manager,,13900000001", "赵敏,R1,,,,manager,,13900000003")
    await import_file(database, write(tmp_path, fixed, name="fixed.csv"))
    assert (await table_counts(database))["Staff"] == 3


DUTIES_HEADER = HEADER.rstrip("\n") + ",duties\n"
DUTY_UNITS = (
    "unit,R1,区公司,,region,,,,,,\n"
    "unit,C1,市分公司,R1,city,,,,,,\n"
    "unit,X1,县局,C1,county,,,,,,\n"
    "unit,S1,城关投递部,X1,site,delivery,urban,,,,\n"
)


def write_with_duties(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "duties.csv"
    path.write_text(DUTIES_HEADER + DUTY_UNITS + body, encoding="utf-8")
    return path


async def test_duties_by_name_or_id_any_role(database: Database, tmp_path: Path) -> None:
    body = (
        "staff,E1,李四,S1,,,,inspector,,,投递部主任、班组长/质检员\n"
        "staff,E2,王五,X1,,,,manager,,,county_inspector，投递业务管理员\n"
        "staff,E3,赵六,X1,,,,inspector,,,\n"
    )
    await import_file(database, write_with_duties(tmp_path, body))
    async with database.session() as session:
        people = {s.code: s.duties for s in (await session.exec(select(Staff))).all()}
    assert people == {
        "E1": "delivery_head,team_leader",
        "E2": "county_inspector,delivery_admin",
        "E3": "",
    }


async def test_an_unknown_duty_or_one_held_at_the_wrong_unit_is_refused(
    database: Database, tmp_path: Path
) -> None:
    body = (
        "staff,E1,李四,S1,,,,inspector,,,投递部经理\n"  # line 6
        "staff,E2,王五,S1,,,,inspector,,,营业支局长\n"  # line 7: a counter duty at delivery
        "staff,E3,赵六,C1,,,,inspector,,,县局检查员\n"  # line 8: a county duty at the city
    )
    with pytest.raises(OrgFileError) as raised:
        await import_file(database, write_with_duties(tmp_path, body))
    problems = raised.value.problems
    assert [(p.line, p.column, p.problem) for p in problems] == [
        (6, "duties", Problem.UNKNOWN_DUTY),
        (7, "duties", Problem.DUTY_NOT_HERE),
        (8, "duties", Problem.DUTY_NOT_HERE),
    ]
    worded = [texts.org_problem(p) for p in problems]
    assert "投递部经理" in worded[0] and "投递部主任" in worded[0]
    assert "营业支局长" in worded[1] and "营业" in worded[1]
    assert "旗县局" in worded[2]
    assert (await table_counts(database))["Staff"] == 0


async def test_sites_say_when_they_open(database: Database, tmp_path: Path) -> None:
    header = ",".join(COLUMNS) + "\n"
    path = tmp_path / "open.csv"
    path.write_text(
        header + "unit,R1,区,,region,,,,,,,,\n"
        "unit,C1,市,R1,city,,,,,,,,\n"
        "unit,X1,县,C1,county,,,,,,,,\n"
        "unit,S1,城关营业支局,X1,site,counter,urban,,,,,周一至周六,否\n"
        "unit,S2,城关投递部,X1,site,delivery,urban,,,,,每天,是\n"
        "unit,S3,某营业所,X1,site,counter,rural,,,,,,\n",
        encoding="utf-8",
    )
    await import_file(database, path)
    async with database.session() as session:
        units = {
            u.code: (u.open_days, u.open_on_holidays)
            for u in (await session.exec(select(Unit))).all()
        }
    assert units["S1"] == ("123456", False)
    assert units["S2"] == ("1234567", True)
    assert units["S3"] == (None, None)


@pytest.mark.parametrize(
    ("cells", "column", "problem"),
    [
        ("site,counter,urban,,,,,周八,", "open_days", Problem.BAD_OPEN_DAYS),
        ("site,counter,urban,,,,,1-6,也许", "open_on_holidays", Problem.BAD_YES_NO),
        ("county,,,,,,,1-6,", "open_days", Problem.ONLY_FOR_SITES),
    ],
)
async def test_bad_opening_is_refused(
    database: Database, tmp_path: Path, cells: str, column: str, problem: Problem
) -> None:
    path = tmp_path / "open.csv"
    path.write_text(
        ",".join(COLUMNS) + "\nunit,R1,区,,region,,,,,,,,\nunit,C1,市,R1,city,,,,,,,,\n"
        f"unit,X1,县,C1,{cells}\n",
        encoding="utf-8",
    )
    with pytest.raises(OrgFileError) as raised:
        await import_file(database, path)
    assert [(p.line, p.column, p.problem) for p in raised.value.problems] == [(4, column, problem)]
    assert "{" not in texts.org_problem(raised.value.problems[0])
