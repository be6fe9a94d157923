"""Every message fits, end to end: a county with 40 sites and 41 inspectors gets its push,
reminder and end-of-day summary whole (in as many messages as it takes, none refused), and a
message Telegram refuses anyway is marked failed with the reason and the admins are told."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.clock import ManualClock
from bot.sandbox import SandboxServer, SandboxUser, SentMessage
from bot.sandbox.formatting import utf16_len
from bot.settings import Settings
from bot.usecases.messages import enqueue_message
from bot.views import texts
from db.models import Assignment, AssignmentStatus, OutboxMessage
from db.org_import import import_org, read_org_file
from db.session import Database
from nlp.reader import ComplaintReader
from tests.conftest import SHANGHAI
from tests.e2e.harness import Harness, run_bot

WEDNESDAY = date(2026, 11, 25)
SITES = 40


def at(hour: int) -> datetime:
    return datetime(2026, 11, 25, hour, tzinfo=SHANGHAI)


def large_county_csv() -> bytes:
    """A county of 40 sites (counter and delivery, urban and rural), an inspector at each
    and one at the county office, its manager, and the region's admin."""
    rows = [
        ["unit", "NM", "内蒙古邮政区公司", "", "region", "", "", "", "", ""],
        ["unit", "HH", "呼和浩特市分公司", "NM", "city", "", "", "", "", ""],
        ["unit", "BIG", "大县邮政分公司", "HH", "county", "", "", "", "", ""],
        ["staff", "A001", "王海燕", "NM", "", "", "", "admin", "", "13904710001"],
        ["staff", "M-BIG", "张志强", "BIG", "", "", "", "manager", "", "13904710002"],
        ["staff", "I-BIG", "县局检查员", "BIG", "", "", "", "inspector", "", ""],
    ]
    for n in range(1, SITES + 1):
        kind = "counter" if n % 2 else "delivery"
        area = "urban" if n % 4 < 2 else "rural"
        site = f"BIG-{n:02d}"
        name = f"第{n}{'营业所' if kind == 'counter' else '投递部'}（大县{n}号网点）"
        rows.append(["unit", site, name, "BIG", "site", kind, area, "", "", ""])
        if kind == "delivery":
            rows.append(["segment", f"{site}-S1", f"{n}号段", site, "", "", "", "", "", ""])
        rows.append(["staff", f"I{n:03d}", f"检查员{n}号", site, "", "", "", "inspector", "", ""])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["type", "code", "name", "parent", "level", "kind", "area", "role", "department", "phone"]
    )
    writer.writerows(rows)
    return out.getvalue().encode()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(at(7))


@pytest.fixture
async def county_bot(
    settings: Settings,
    sandbox: SandboxServer,
    clock: ManualClock,
    reader: ComplaintReader,
    database_url: str,
    tmp_path: Path,
) -> AsyncIterator[Harness]:
    org_file = tmp_path / "county.csv"
    org_file.write_bytes(large_county_csv())
    database = Database(database_url)
    async with database.session() as session:
        await import_org(
            read_org_file(org_file), labels=texts.IMPORT_LABELS, session=session, now=clock.now()
        )
    await database.close()
    async with run_bot(settings, sandbox, clock, reader) as harness:
        yield harness


async def delivered(bot: Harness, user: SandboxUser, key: str) -> list[SentMessage]:
    """The messages one composed message became, as they arrive (a chat gets one a second)."""
    async with bot.db.session() as session:
        rows = (
            await session.exec(
                select(OutboxMessage).where(
                    col(OutboxMessage.key).startswith(key),
                    OutboxMessage.chat_id == user.chat_id,
                )
            )
        ).all()
    assert rows, f"nothing queued under {key}"
    return await user.replies(len(rows), timeout=5 + 1.5 * len(rows))


def assert_fits(messages: list[SentMessage]) -> None:
    for message in messages:
        assert utf16_len(message.content) <= 4096
        assert sum(len(row) for row in message.buttons) <= 100


async def missed_on_wednesday(bot: Harness) -> list[Assignment]:
    async with bot.db.session() as session:
        statement = select(Assignment).where(
            Assignment.day == WEDNESDAY, Assignment.status == AssignmentStatus.MISSED
        )
        return list((await session.exec(statement)).all())


async def test_the_end_of_day_summary_of_a_large_county_arrives_whole(
    county_bot: Harness,
) -> None:
    manager = await county_bot.register("M-BIG")
    inspector = await county_bot.register("I-BIG")
    county_bot.clock.set(at(8))
    await county_bot.tick()
    push = await delivered(county_bot, inspector, f"morning:{WEDNESDAY}:")
    assert_fits(push)
    county_bot.clock.set(at(18))
    await county_bot.tick()
    parts = await delivered(county_bot, manager, f"missed:{WEDNESDAY}:")
    missed = await missed_on_wednesday(county_bot)
    whole = "\n".join(part.content for part in parts)
    assert len(parts) > 1, "the summary of a 40-site county is longer than one message"
    assert_fits(parts)
    assert whole.count("漏检汇总") == 1
    assert f"共 {len(missed)} 项检查未完成" in parts[0].content
    assert whole.count("• ") == len(missed)
    for n in range(1, SITES + 1):
        assert f"检查员{n}号" in whole
    async with county_bot.db.session() as session:
        failed = select(OutboxMessage).where(col(OutboxMessage.failed_at).is_not(None))
        refused = (await session.exec(failed)).all()
    assert not refused


async def test_a_message_telegram_refuses_is_marked_failed_and_the_admins_told(
    quiet_bot: Harness,
) -> None:
    admin = await quiet_bot.register("A001")
    manager = await quiet_bot.register("M003")
    async with quiet_bot.db.session() as session:
        # Markup Telegram cannot parse: what a bug in composing would produce.
        await enqueue_message(
            session=session,
            key="missed:broken",
            chat_id=manager.chat_id,
            text="<b>漏检汇总",
            now=quiet_bot.clock.now(),
        )
    quiet_bot.sender.wake()
    (notice,) = await admin.replies(1)
    assert "被 Telegram 拒收" in notice.content and "张志强" in notice.content
    assert "当日漏检汇总" in notice.content and "parse entities" in notice.content
    async with quiet_bot.db.session() as session:
        broken = select(OutboxMessage).where(OutboxMessage.key == "missed:broken")
        row = (await session.exec(broken)).one()
    assert row.failed_at is not None and row.sent_at is None
    assert row.last_error is not None and "parse entities" in row.last_error
    await manager.no_reply(within=0.2)
    await admin.no_reply(within=0.3)  # told once
