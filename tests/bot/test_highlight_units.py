"""/highlight's unit: a code or a name in the author's scope, an ambiguous name asks for the
code, a unit outside the scope is refused; nothing is stored for a refusal. Both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlmodel import col, select

from bot.services import Services
from bot.usecases.highlights import Problem, RecordedHighlight, Refusal, record_highlight
from bot.views import texts
from db.models import Highlight, Staff, Unit
from db.org_import import OrgRow, import_org
from tests.bot.services import services_for

HEADER = ("type", "code", "name", "parent", "level", "kind", "area", "role", "department")
ORG = [
    ("unit", "R", "区公司", "", "region", "", "", "", ""),
    ("unit", "C", "市分公司", "R", "city", "", "", "", ""),
    ("unit", "A", "甲县局", "C", "county", "", "", "", ""),
    ("unit", "B", "乙县局", "C", "county", "", "", "", ""),
    # Two counters of one name in the same county, and one in the other county.
    ("unit", "A-1", "城关营业所", "A", "site", "counter", "urban", "", ""),
    ("unit", "A-2", "城关营业所", "A", "site", "counter", "rural", "", ""),
    ("unit", "A-3", "新华营业所", "A", "site", "counter", "urban", "", ""),
    ("unit", "B-1", "新华营业所", "B", "site", "counter", "urban", "", ""),
    ("staff", "IA", "县局检查员", "A", "", "", "", "inspector", "supervision"),
    ("staff", "MC", "市经理", "C", "", "", "", "manager", ""),
]


@pytest.fixture
async def services(database_url: str) -> AsyncIterator[Services]:
    services = services_for(database_url)
    rows = [OrgRow(n, dict(zip(HEADER, row, strict=True))) for n, row in enumerate(ORG, 2)]
    now = services.clock.now()
    async with services.db.session() as session:
        await import_org(rows, labels=texts.IMPORT_LABELS, session=session, now=now)
    yield services
    await services.db.close()


async def record(services: Services, staff_code: str, words: str) -> RecordedHighlight | Refusal:
    async with services.db.session() as session:
        author = (await session.exec(select(Staff).where(Staff.code == staff_code))).one()
    return await record_highlight(services, author, words)


async def stored_units(services: Services) -> list[str]:
    async with services.db.session() as session:
        statement = select(Unit.code).join(Highlight, col(Highlight.unit_id) == col(Unit.id))
        return sorted((await session.exec(statement)).all())


async def test_a_unique_name_in_scope_and_a_code(services: Services) -> None:
    by_name = await record(services, "IA", "新华营业所 营业员帮老人填单")
    assert isinstance(by_name, RecordedHighlight) and by_name.unit_name == "新华营业所"
    by_code = await record(services, "IA", "a-2 农村营业所延时服务")
    assert isinstance(by_code, RecordedHighlight) and by_code.unit_name == "城关营业所"
    assert await stored_units(services) == ["A-2", "A-3"]  # 甲县局's 新华, not 乙县局's


async def test_an_ambiguous_name_asks_for_the_code(services: Services) -> None:
    refusal = await record(services, "IA", "城关营业所 服务热情")
    assert refusal == Refusal(Problem.AMBIGUOUS_UNIT, "城关营业所", ("A-1", "A-2"))
    assert "A-1、A-2" in texts.highlight_ambiguous_unit(refusal.reference, refusal.candidates)
    assert await stored_units(services) == []


async def test_outside_the_scope_is_refused(services: Services) -> None:
    assert await record(services, "IA", "B-1 服务热情") == Refusal(Problem.OUT_OF_SCOPE, "B-1")
    assert await record(services, "IA", "乙县局 服务热情") == Refusal(
        Problem.OUT_OF_SCOPE, "乙县局"
    )
    # The city manager sees both counties: the name is ambiguous there, the code is not.
    assert isinstance(await record(services, "MC", "B-1 服务热情"), RecordedHighlight)
    assert (await record(services, "MC", "新华营业所 服务热情")) == Refusal(
        Problem.AMBIGUOUS_UNIT, "新华营业所", ("A-3", "B-1")
    )
    assert await stored_units(services) == ["B-1"]


async def test_text_length_is_checked_after_the_unit(services: Services) -> None:
    assert await record(services, "IA", "A-3 好") == Refusal(Problem.TOO_SHORT)
    long = "很" * 1001
    assert await record(services, "IA", long) == Refusal(Problem.TOO_LONG, length=1001)
    assert await stored_units(services) == []
