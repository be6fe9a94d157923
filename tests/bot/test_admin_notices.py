"""The admins' notices (无人承担 gaps, a report nobody received, a message given up) reach the
admins who can be reached, by one rule (db.staff.reachable_holders): registered and not
blocking the bot. When none can be, that is logged as an error, not dropped."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.services import Services
from bot.usecases.coverage import tell_admins_about_gaps
from bot.usecases.refused import REFUSED_KEY, message_refused
from bot.views import texts
from db.models import OutboxMessage, Staff, Unit
from db.org_import import COLUMNS, import_org, read_org_file
from db.outbox import GiveUp, Undelivered
from db.staff import list_staff_posts, reachable_holders
from scheduler.org import Role
from tests.bot.services import services_for
from tests.conftest import SAMPLE_ORG, SHANGHAI

NOW = datetime(2026, 11, 25, 9, tzinfo=SHANGHAI)
# The sample's admin 王海燕 and two more at the region: one never registered, one blocking.
REGISTERED, UNREGISTERED, BLOCKING = "A001", "A901", "A902"
CHATS = {REGISTERED: 7_500_000_001, BLOCKING: 7_500_000_002}


@pytest.fixture
async def services(database_url: str, tmp_path: Path) -> AsyncIterator[Services]:
    """The sample organisation with a unit nobody covers (无人承担 checks) and three admins."""
    built = services_for(database_url)
    uncovered = tmp_path / "org.csv"
    uncovered.write_text(
        ",".join(COLUMNS) + "\nunit,TZ-C9,新区营业支局,TZ,site,counter,urban,,,,,\n",
        encoding="utf-8",
    )
    async with built.db.session() as session:
        for org_file in (SAMPLE_ORG, uncovered):
            await import_org(
                read_org_file(org_file), labels=texts.IMPORT_LABELS, session=session, now=NOW
            )
        region = (await session.exec(select(Unit).where(Unit.code == "NM"))).one()
        assert region.id is not None
        for code in (UNREGISTERED, BLOCKING):
            session.add(Staff(code=code, name=f"管理员{code}", role=Role.ADMIN, unit_id=region.id))
        await session.flush()
        for code, chat in CHATS.items():
            person = (await session.exec(select(Staff).where(Staff.code == code))).one()
            person.telegram_user_id = chat
            person.blocked_bot_at = NOW if code == BLOCKING else None
            session.add(person)
    yield built
    await built.db.close()


async def block(services: Services, code: str) -> None:
    async with services.db.session() as session:
        person = (await session.exec(select(Staff).where(Staff.code == code))).one()
        person.blocked_bot_at = NOW
        session.add(person)


async def notices(services: Services, prefix: str) -> list[int]:
    """The chats of the notices queued under keys starting with `prefix`."""
    async with services.db.session() as session:
        statement = select(OutboxMessage).where(col(OutboxMessage.key).startswith(prefix))
        return sorted(row.chat_id for row in (await session.exec(statement)).all())


async def refused_row(services: Services) -> OutboxMessage:
    """A message Telegram refused (markup it cannot parse)."""
    async with services.db.session() as session:
        row = OutboxMessage(
            key="missed:broken", chat_id=7_500_000_099, text="<b>漏检汇总", created_at=NOW
        )
        session.add(row)
        await session.flush()
        return row


async def test_only_registered_admins_not_blocking_the_bot_are_reachable(
    services: Services,
) -> None:
    async with services.db.session() as session:
        admins = await list_staff_posts(session=session, role=Role.ADMIN)
        reachable = await reachable_holders(session=session, posts=admins)
    assert len(admins) == 3
    assert [admin.chat_id for admin in reachable] == [CHATS[REGISTERED]]


async def test_the_gaps_and_a_given_up_message_reach_the_reachable_admin_only(
    services: Services,
) -> None:
    assert await tell_admins_about_gaps(services) == 1
    assert await notices(services, "uncovered:") == [CHATS[REGISTERED]]
    undelivered = Undelivered(GiveUp.REFUSED, "Bad Request: can't parse entities")
    assert await message_refused(services, await refused_row(services), undelivered) == 1
    assert await notices(services, f"{REFUSED_KEY}:") == [CHATS[REGISTERED]]


async def test_when_every_admin_blocked_the_bot_the_notices_are_logged_as_errors(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    await block(services, REGISTERED)
    undelivered = Undelivered(GiveUp.RETRIES_SPENT, "Bad Gateway", attempts=500)
    with caplog.at_level(logging.ERROR, logger="bot.usecases"):
        assert await tell_admins_about_gaps(services) == 0
        assert await message_refused(services, await refused_row(services), undelivered) == 0
    assert await notices(services, "uncovered:") == []
    assert await notices(services, f"{REFUSED_KEY}:") == []
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2, errors
    assert "no admin can be told of the" in errors[0] and "无人承担" in errors[0]
    assert "outbox missed:broken given up (retries_spent: Bad Gateway)" in errors[1]
    assert all("all blocked the bot" in error for error in errors)


async def test_a_given_up_notice_names_the_kind_of_message_in_chinese(services: Services) -> None:
    undelivered = Undelivered(GiveUp.REFUSED, "Bad Request: can't parse entities")
    await message_refused(services, await refused_row(services), undelivered)
    async with services.db.session() as session:
        statement = select(OutboxMessage).where(col(OutboxMessage.key).startswith(REFUSED_KEY))
        notice = (await session.exec(statement)).one()
    assert "消息类别：当日漏检汇总" in notice.text
    assert "Telegram 的说明：Bad Request: can&#x27;t parse entities" in notice.text


def test_a_kind_nobody_named_is_shown_by_its_code() -> None:
    undelivered = Undelivered(GiveUp.RETRIES_SPENT, "Bad Gateway", attempts=8)
    text = texts.message_refused(None, "newkind:1:2", undelivered)
    assert "消息类别：其他（newkind）" in text and "连续 8 次发送失败" in text
