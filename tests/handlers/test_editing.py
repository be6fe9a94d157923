"""A pressed message turned into the next step: one edit when Telegram takes it, else the
buttons dropped and the step as a new message (split when long), against the sandbox, which
refuses what Telegram refuses."""

from __future__ import annotations

import pytest
from telegram import Message

from bot.app.splitting_bot import SplittingBot
from bot.sandbox import ApiCall, ApiReply, Policy, SandboxServer, SandboxUser
from bot.sandbox.formatting import utf16_len
from bot.views.buttons import Keyboard
from handlers.editing import markup, turn_into

USER_ID = 1001
QUESTION: Keyboard = [[("是", "ans:1:0-yes"), ("否", "ans:1:0-no")]]
NEXT: Keyboard = [[("✅ 确认提交", "cfc:1"), ("↩️ 重新填写", "rdc:1")]]


async def pressed(
    sandbox: SandboxServer, splitting_bot: SplittingBot
) -> tuple[SandboxUser, Message]:
    """A question with buttons, as the user sees it before pressing one."""
    user = sandbox.user(USER_ID, "陈明")
    message = await splitting_bot.send_message(
        USER_ID, "<b>第 1/2 题</b>：是否？", reply_markup=markup(QUESTION)
    )
    await user.replies(1)
    return user, message


def refusing(description: str, methods: set[str]) -> Policy:
    """Telegram refusing to edit: the message too old, or deleted."""

    async def policy(call: ApiCall) -> ApiReply | None:
        if call.method in methods:
            return ApiReply.error(400, f"Bad Request: {description}")
        return None

    return policy


async def test_the_next_step_replaces_the_pressed_message(
    sandbox: SandboxServer, splitting_bot: SplittingBot
) -> None:
    user, message = await pressed(sandbox, splitting_bot)
    await turn_into(message, "已记录：是否？ → 是\n\n<b>请核对</b>", NEXT)
    (edit,) = await user.edits(1)
    assert edit.message.message_id == message.message_id
    assert edit.content == "已记录：是否？ → 是\n\n请核对"
    assert edit.button_texts == ["✅ 确认提交", "↩️ 重新填写"]
    await user.no_reply(within=0.1)
    assert [c.method for c in sandbox.calls][-1] == "editMessageText"


async def test_an_edit_that_changes_nothing_sends_nothing(
    sandbox: SandboxServer, splitting_bot: SplittingBot
) -> None:
    user, message = await pressed(sandbox, splitting_bot)
    await turn_into(message, "<b>第 1/2 题</b>：是否？", QUESTION)
    await user.no_reply(within=0.1)
    assert [c.ok for c in sandbox.calls if c.method == "editMessageText"] == [False]


async def test_a_step_too_long_for_one_message_comes_split_below(
    sandbox: SandboxServer, splitting_bot: SplittingBot
) -> None:
    user, message = await pressed(sandbox, splitting_bot)
    lines = [f"• 第 {n} 题：{'检' * 60}\n  → {'是' * 20}" for n in range(60)]
    await turn_into(message, "\n".join(lines), NEXT)
    (dropped,) = await user.edits(1)
    assert dropped.message.message_id == message.message_id and not dropped.buttons
    assert dropped.content == "第 1/2 题：是否？"  # the question stays as it was
    parts = await user.replies(2)
    await user.no_reply(within=0.1)
    assert all(utf16_len(part.content) <= 4096 for part in parts)
    assert "\n".join(part.content for part in parts) == "\n".join(lines)
    assert [part.button_texts for part in parts] == [[], ["✅ 确认提交", "↩️ 重新填写"]]


@pytest.mark.parametrize(
    ("description", "methods", "dropped"),
    [
        ("message can't be edited", {"editMessageText"}, [[]]),  # too old to edit
        ("message to edit not found", {"editMessageText", "editMessageReplyMarkup"}, []),
    ],
    ids=["too old", "deleted"],
)
async def test_an_edit_refused_sends_the_step_anew(
    sandbox: SandboxServer,
    splitting_bot: SplittingBot,
    description: str,
    methods: set[str],
    dropped: list[list[object]],
) -> None:
    user, message = await pressed(sandbox, splitting_bot)
    sandbox.policy = refusing(description, methods)
    await turn_into(message, "已记录：是否？ → 是\n\n<b>请核对</b>", NEXT)
    (anew,) = await user.replies(1)
    assert anew.content == "已记录：是否？ → 是\n\n请核对"
    assert anew.button_texts == ["✅ 确认提交", "↩️ 重新填写"]
    assert [edit.buttons for edit in sandbox.world.chats[USER_ID].edits] == dropped


async def test_a_step_too_long_can_come_shorter_instead(
    sandbox: SandboxServer, splitting_bot: SplittingBot
) -> None:
    user, message = await pressed(sandbox, splitting_bot)
    summary = "\n".join(f"• 第 {n} 题：{'检' * 60}\n  → {'是' * 20}" for n in range(60))
    await turn_into(message, f"{summary}\n\n✅ 已提交", instead="✅ 已提交")
    (dropped,) = await user.edits(1)
    assert not dropped.buttons
    (done,) = await user.replies(1)
    assert done.content == "✅ 已提交" and not done.buttons
