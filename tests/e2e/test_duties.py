"""Duties and operating days end to end: an organisation import with a unit nobody covers
tells the admin in chat; /progress counts the 无人承担 checks apart; a branch head gets his
counter checks on a Saturday his branch is open."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from sqlmodel import select

from bot.views import texts
from db.models import Assignment, Staff
from db.org_import import COLUMNS, import_org, read_org_file
from scheduler.catalog import FrequencyKind
from scheduler.org import Role
from tests.conftest import SHANGHAI
from tests.e2e.harness import Harness


async def test_an_import_with_an_uncovered_unit_tells_the_admin(
    bot: Harness, tmp_path: Path
) -> None:
    admin = await bot.register("A001")
    await bot.tick()
    await admin.replies(1)  # next year's calendar is missing (November): not ours
    extra = tmp_path / "org.csv"
    extra.write_text(
        ",".join(COLUMNS) + "\nunit,TZ-C9,新区营业支局,TZ,site,counter,urban,,,,,\n",
        encoding="utf-8",
    )
    async with bot.db.session() as session:
        await import_org(
            read_org_file(extra), labels=texts.IMPORT_LABELS, session=session, now=bot.clock.now()
        )
    await bot.tick()
    (notice,) = await admin.replies(1)
    assert notice.content.startswith("⚠️ 【无人承担】9 个单位")
    assert "• 新区营业支局：缺 营业支局长（8 项）" in notice.content
    await bot.tick()
    await admin.no_reply()

    await admin.send("/progress")
    (progress,) = await admin.replies(1)
    assert "⚠️ 无人承担：9 个单位的" in progress.content


async def test_a_branch_head_gets_his_counter_checks_on_a_saturday_his_branch_is_open(
    bot: Harness,
) -> None:
    # 周晓燕 is a 营业支局长 (duty) at 察素齐营业支局; counters open Monday to Saturday.
    head = await bot.register("I004")
    saturday = date(2026, 11, 28)
    bot.clock.set(datetime(2026, 11, 28, 8, 0, tzinfo=SHANGHAI))
    await bot.tick()
    (push,) = await head.replies(1)
    async with bot.db.session() as session:
        staff = (await session.exec(select(Staff).where(Staff.code == "I004"))).one()
        rows = (
            await session.exec(
                select(Assignment).where(
                    Assignment.inspector_id == staff.id, Assignment.day == saturday
                )
            )
        ).all()
    catalog = bot.services.catalog
    assert {row.item_id for row in rows} == {
        item.id
        for item in catalog
        if item.duty == "counter_head" and item.frequency.kind is FrequencyKind.DAILY
    }
    assert "营业终了调阅监控录像" in push.content
    assert f"您有 {len(rows)} 项检查任务" in push.content


async def test_a_handler_with_a_check_duty_works_through_checks_with_today_and_skip(
    bot: Harness,
) -> None:
    """林海 handles complaints and holds 函件专业、报刊专业: he gets checks, so the checks'
    commands are his too (menu, /help and the gate agree)."""
    handler = await bot.register("H004")
    await handler.send("/help")
    (help_reply,) = await handler.replies(1)
    assert "/today" in help_reply.content and "/skip" in help_reply.content
    refusal = texts.command_not_for_role(Role.HANDLER)
    for command in ("/today", "/skip"):
        await handler.send(command)
        (reply,) = await handler.replies(1)
        assert reply.content != refusal, command
    await handler.send("/overdue")
    (refused,) = await handler.replies(1)
    assert refused.content == refusal
