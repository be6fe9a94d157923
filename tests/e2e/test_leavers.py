"""Invites and leavers end to end: a new invite revokes the older one; a record bound to a
new account tells the old account and the admins; `offboard` unbinds a leaver and hands
their open checks and complaints to their manager, who is told (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlmodel import col, select

from bot.clock import ManualClock
from bot.usecases.offboarding import Outcome, offboard
from bot.views import texts
from db.models import Assignment, AssignmentStatus, Complaint, Staff
from tests.conftest import SHANGHAI
from tests.e2e.harness import Harness

WEDNESDAY = date(2026, 11, 25)
REPORT = "东2段信件报刊积压三天了，用户多次打电话投诉，电话13912345678"


def at(hour: int, day: date = WEDNESDAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(at(7))


async def staff(bot: Harness, code: str) -> Staff:
    async with bot.db.session() as session:
        return (await session.exec(select(Staff).where(Staff.code == code))).one()


async def test_a_new_invite_revokes_the_older_one(quiet_bot: Harness) -> None:
    first, second = await quiet_bot.invite("M003"), await quiet_bot.invite("M003")
    holder, owner = quiet_bot.sandbox.user(555_000_010, "拿到旧链接的人"), quiet_bot.user("M003")
    await holder.send(f"/start {first}")
    assert (await holder.reply()).content == texts.INVITE_REVOKED
    await owner.send(f"/start {second}")
    assert "张志强" in (await owner.reply()).content
    assert (await staff(quiet_bot, "M003")).telegram_user_id == owner.chat_id


async def test_binding_a_record_bound_to_another_account_tells_that_account_and_the_admin(
    quiet_bot: Harness,
) -> None:
    admin = await quiet_bot.register("A001")
    old = await quiet_bot.register("M003")
    new = quiet_bot.sandbox.user(555_000_011, "新手机")
    await new.send(f"/start {await quiet_bot.invite('M003')}")
    assert "张志强" in (await new.reply()).content
    (moved,) = await old.replies(1)
    assert moved.content == texts.account_moved_away("张志强")
    (alert,) = await admin.replies(1)
    assert "张志强" in alert.content and "M003" in alert.content and "另一个" in alert.content
    await old.send("/overdue")
    assert (await old.reply()).content == texts.STRANGER


async def test_offboarding_hands_open_checks_and_complaints_to_the_manager(bot: Harness) -> None:
    manager = await bot.register("M003")
    inspector = await bot.register("I003")
    clerk, handler = await bot.register("C002"), await bot.register("H001")
    bot.clock.set(at(8))
    await bot.tick()
    await inspector.replies(1)  # the morning push
    own = [a for a in await checks_of(bot, "I003") if a.status is AssignmentStatus.PLANNED]
    assert own
    await clerk.send(REPORT)
    await clerk.replies(1)
    await clerk.press(texts.BUTTON_CONFIRM)
    await clerk.edits(1)
    (card,) = await handler.replies(1)

    result = await offboard(bot.services, "I003")
    assert result.outcome is Outcome.DONE and result.checks == len(own)
    (notice,) = await manager.replies(1)
    assert notice.content == texts.staff_handed_over("陈明", "I003", len(own), 0)
    assert {a.id for a in await checks_of(bot, "M003")} >= {a.id for a in own}
    assert await checks_of(bot, "I003", open_only=True) == []
    await inspector.send("/today")
    assert (await inspector.reply()).content == texts.STRANGER
    assert (await offboard(bot.services, "I003")).outcome is Outcome.ALREADY

    result = await offboard(bot.services, "H001")
    assert result.complaints == 1
    (notice,) = await manager.replies(1)
    assert "马建军" in notice.content and "1 件" in notice.content
    async with bot.db.session() as session:
        (complaint,) = (await session.exec(select(Complaint))).all()
    leader = await staff(bot, "M003")
    assert complaint.handler_id == leader.id and complaint.owner_id == leader.id
    await handler.press_data(card.message_id, card.buttons[0][0][1] or "")
    assert (await handler.answers(1))[0].text == texts.STRANGER_ALERT

    # The next working day plans nothing for the leaver.
    bot.clock.set(at(8, date(2026, 11, 26)))
    await bot.tick()
    assert [a for a in await checks_of(bot, "I003") if a.day > WEDNESDAY] == []


async def checks_of(bot: Harness, code: str, *, open_only: bool = False) -> list[Assignment]:
    person = await staff(bot, code)
    async with bot.db.session() as session:
        statement = select(Assignment).where(Assignment.inspector_id == person.id)
        if open_only:
            statement = statement.where(
                col(Assignment.status).in_([AssignmentStatus.PLANNED, AssignmentStatus.IN_PROGRESS])
            )
        return list((await session.exec(statement)).all())
