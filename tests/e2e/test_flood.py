"""One person floods the bot; someone else asks for /help meanwhile. The flood waits in its
own chat's line: the other person is answered before the flood is over, and every one of
the flooder's messages is handled, in order, none lost. (How long the other waits is a
bench figure, never asserted here.)"""

from __future__ import annotations

import pytest
from sqlmodel import col, func, select

from db.models import Complaint, InboxUpdate
from tests.e2e.harness import Harness


def flood_text(n: int) -> str:
    return f"第{n}次反映：包裹破损了，内件损坏，用户要求赔偿"


async def flood(bot: Harness, messages: int) -> None:
    flooder = await bot.register("C001")
    other = await bot.register("C002")
    for n in range(messages):
        await flooder.send(flood_text(n))
    await other.send("/help")
    help_reply = await other.reply(timeout=60)
    assert help_reply.content.startswith("您的角色")
    # The flood is not over when /help is answered (which updates go first once stored:
    # tests/bot/test_update_workers.py).
    assert sum("破损" in m.content for m in flooder.messages) < messages

    drafts = await flooder.replies(messages, timeout=messages * 2 + 30)
    assert [d for d in drafts if "破损" not in d.content] == []
    order = [next(n for n in range(messages) if flood_text(n) in d.content) for d in drafts]
    assert order == list(range(messages))
    async with bot.db.session() as session:
        stored = (await session.exec(select(Complaint.text))).all()
        pending = (
            await session.exec(select(func.count()).where(col(InboxUpdate.done_at).is_(None)))
        ).one()
    assert sorted(stored) == sorted(flood_text(n) for n in range(messages))
    assert pending == 0


async def test_a_flood_waits_in_its_own_line(quiet_bot: Harness) -> None:
    await flood(quiet_bot, 30)


@pytest.mark.slow
async def test_two_hundred_messages_in_a_second_are_all_handled(quiet_bot: Harness) -> None:
    await flood(quiet_bot, 200)
