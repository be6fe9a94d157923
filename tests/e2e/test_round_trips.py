"""Database round trips per update: a handful of statements, and none that reads a whole
table of the organisation (units, staff, segments, transfer points): those cost a second
per update at 30,000 units. The units, the segments' names and the posts come from the
reference cache (bot/reference.py), which an import refreshes."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import event, insert
from sqlmodel import col, select

from bot.clock import ManualClock
from bot.demo.statements import is_worker_look, own_statements, recorded_statements, statement_count
from bot.sandbox import SandboxServer, SandboxUser, SentMessage
from bot.settings import Settings
from bot.views import texts
from bot.views.buttons import Action, encode
from db.inbox import count_pending_updates
from db.models import Assignment, AssignmentStatus, Staff
from db.org_import import import_org, read_org_file
from db.province import generate_province
from db.session import Database
from nlp.reader import ComplaintReader
from scheduler.catalog import load_catalog
from scheduler.org import Role
from tests.conftest import SHANGHAI
from tests.e2e.harness import Harness, run_bot
from tests.e2e.test_checks import assignment, morning

WEDNESDAY = date(2026, 11, 25)
ORG_TABLES = r"(unit|staff|segment|transfer_point)"
WHOLE_TABLE = re.compile(rf"\bFROM {ORG_TABLES}\b(?!\s+(WHERE|JOIN)|.*\bWHERE\b)", re.DOTALL)
# Statements each update may take, however large the organisation: the inbox's two (store
# it, announced on PostgreSQL in the same statement when the instance has no idle worker;
# mark it done, giving the chat's next update its turn) and the look that claimed it, the
# access gate (with the chat state, in one statement), the record the update is about, its
# writes and the outbox. Confirming a complaint takes the most: it is locked, routed, its
# history written and its card built (once, for the handler's message and the reporter's
# answer).
MOST_STATEMENTS = {
    "/today": 5,
    "opening a check": 7,
    "a typed answer": 6,
    "a complaint report": 6,
    "confirming a complaint": 11,
}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 25, 7, 30, tzinfo=SHANGHAI))


async def measured(
    bot: Harness, user: SandboxUser, act: Callable[[], Awaitable[object]], *, edits: bool = False
) -> tuple[SentMessage, list[str]]:
    """The statements of one update, up to its commit; its answer, a new message or (``edits``)
    the pressed message edited into it."""
    with recorded_statements(bot.db) as seen:
        await act()
        # A loaded machine is no failure here.
        if edits:
            reply = (await user.edits(1, timeout=15))[0].message
        else:
            reply = await user.reply(timeout=15)
        await user.no_reply(within=0.2)  # the update's commit, after its reply
    return reply, seen


def assert_few_and_narrow(what: str, seen: list[str]) -> None:
    whole = [s for s in seen if WHOLE_TABLE.search(s)]
    assert not whole, f"{what} read whole tables:\n" + "\n".join(whole)
    assert any(is_worker_look(s) for s in seen), f"{what}: no worker took it"
    count = statement_count(seen)
    assert count <= MOST_STATEMENTS[what], f"{what}: {count} statements:\n" + "\n".join(
        own_statements(seen)
    )


async def test_a_check_step_and_a_complaint_take_a_handful_of_narrow_statements(
    bot: Harness,
) -> None:
    push = (await morning(bot, "I003"))["I003"]
    inspector = bot.user("I003")
    check = await assignment(bot, "I003", "delivery_express_signoff")
    assert check.id is not None
    check_id = check.id
    steps: list[tuple[str, SandboxUser, Callable[[], Awaitable[object]]]] = [
        ("/today", inspector, lambda: inspector.send("/today")),
        (
            "opening a check",
            inspector,
            lambda: inspector.press_data(push.message_id, encode(Action.OPEN_CHECK, check_id)),
        ),
        ("a typed answer", inspector, lambda: inspector.send("200")),
    ]
    for what, user, act in steps:
        _, seen = await measured(bot, user, act)
        assert_few_and_narrow(what, seen)

    clerk = await bot.register("C002")
    draft, seen = await measured(
        bot, clerk, lambda: clerk.send("东2段信件报刊积压三天了，用户很着急")
    )
    assert_few_and_narrow("a complaint report", seen)
    _, seen = await measured(
        bot, clerk, lambda: clerk.press(texts.BUTTON_CONFIRM, message=draft), edits=True
    )
    assert_few_and_narrow("confirming a complaint", seen)


async def test_an_import_refreshes_the_cached_units_and_posts(bot: Harness, tmp_path: Path) -> None:
    """A new delivery handler at the station itself is nearer than the county's: after
    the import (by another process) and the next tick, complaints go to them."""
    clerk = await bot.register("C002")
    extra = tmp_path / "org.csv"
    extra.write_text(
        "type,code,name,parent,level,kind,area,role,department,phone\n"
        "staff,H099,赵新,TZ-D1,,,,handler,delivery,13904710099\n",
        encoding="utf-8",
    )
    async with bot.db.session() as session:
        await import_org(
            read_org_file(extra), labels=texts.IMPORT_LABELS, session=session, now=bot.clock.now()
        )
    await bot.tick()
    newcomer = await bot.register("H099")
    await clerk.send("东2段信件报刊积压三天了，用户很着急")
    (draft,) = await clerk.replies(1)
    await clerk.press(texts.BUTTON_CONFIRM, message=draft)
    await clerk.edits(1)
    card = await newcomer.reply(timeout=10)
    assert "东2段" in card.content


async def settled(bot: Harness) -> None:
    """Every update received is done (its done mark is committed after its reply)."""
    async with asyncio.timeout(15):
        while True:
            async with bot.db.session() as session:
                if not await count_pending_updates(session=session):
                    return
            await asyncio.sleep(0.05)


async def a_province_day(database_url: str, now: datetime) -> tuple[str, int]:
    """A province's organisation and a day of checks for every inspector in it (ten each,
    written directly: the planner is not what this is about), the day before too. Returns
    one inspector's code and how many checks they have today."""
    database = Database(database_url)
    items = [item.id for item in load_catalog()][:10]
    try:
        async with database.session() as session:
            await import_org(
                generate_province(), labels=texts.IMPORT_LABELS, session=session, now=now
            )
        async with database.session() as session:
            inspectors = (
                await session.exec(
                    select(Staff.id, Staff.code, Staff.unit_id)
                    .where(Staff.role == Role.INSPECTOR)
                    .order_by(col(Staff.id))
                )
            ).all()
            rows = [
                {
                    "key": f"{day}:{staff_id}:{item_id}",
                    "day": day,
                    "item_id": item_id,
                    "inspector_id": staff_id,
                    "unit_id": unit_id,
                    "status": AssignmentStatus.PLANNED,
                }
                for day in (WEDNESDAY.replace(day=24), WEDNESDAY)
                for staff_id, _, unit_id in inspectors
                for item_id in items
            ]
            connection = await session.connection()
            await connection.execute(insert(Assignment), rows)
    finally:
        await database.close()
    return inspectors[len(inspectors) // 2][1], len(items)


async def test_today_at_province_size_reads_only_the_inspectors_own_checks(
    settings: Settings,
    sandbox: SandboxServer,
    clock: ManualClock,
    reader: ComplaintReader,
    database_url: str,
) -> None:
    """Among a province's day of checks (about 20,000, and as many the day before), /today
    takes the same handful of statements as in the sample organisation and loads only the
    inspector's own ten checks of today."""
    code, own = await a_province_day(database_url, clock.now())
    async with run_bot(settings, sandbox, clock, reader) as bot:
        inspector = await bot.register(code)
        await inspector.send("/today")  # the first use reads the units and posts once
        await inspector.reply(timeout=30)
        await settled(bot)
        loaded: list[Assignment] = []

        def count(target: Assignment, _context: object) -> None:
            loaded.append(target)

        event.listen(Assignment, "load", count)
        try:
            overview, seen = await measured(bot, inspector, lambda: inspector.send("/today"))
        finally:
            event.remove(Assignment, "load", count)
    assert overview.content.startswith("今日检查")
    assert_few_and_narrow("/today", seen)
    assert len(loaded) == own
    assert {a.day for a in loaded} == {WEDNESDAY}
