"""Registration and access, end to end through the sandbox Bot API (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from bot.sandbox import SandboxServer
from bot.views import texts
from scheduler.org import Role
from tests.e2e.harness import Harness


async def test_invite_start_welcomes_with_role_and_unit(bot: Harness) -> None:
    user = bot.user("I003")
    await user.send(f"/start {await bot.invite('I003')}")
    (welcome,) = await user.replies(1)
    assert "陈明" in welcome.content
    assert "察素齐投递部" in welcome.content and "检查员" in welcome.content


async def test_a_code_works_once(bot: Harness) -> None:
    code = await bot.invite("C001")
    first, second = bot.user("C001"), bot.sandbox.user(555_000_001, "冒用者")
    await first.send(f"/start {code}")
    assert "营业员" in (await first.reply()).content
    await second.send(f"/start {code}")
    assert (await second.reply()).content == texts.INVITE_USED
    await first.send(f"/start {code}")
    assert (await first.reply()).content == texts.INVITE_USED


async def test_wrong_and_expired_codes_are_refused(bot: Harness) -> None:
    user = bot.user("M003")
    await user.send("/start not-a-code")
    assert (await user.reply()).content == texts.INVITE_UNKNOWN
    code = await bot.invite("M003", valid_for=timedelta(days=7))
    bot.clock.advance(timedelta(days=7, minutes=1))
    await user.send(f"/start {code}")
    assert (await user.reply()).content == texts.INVITE_EXPIRED
    await user.send("你好")
    assert (await user.reply()).content == texts.STRANGER


async def test_an_account_cannot_take_a_second_identity(bot: Harness) -> None:
    user = await bot.register("C001")
    await user.send(f"/start {await bot.invite('C002')}")
    assert (await user.reply()).content == texts.ACCOUNT_BOUND_TO_OTHER


async def test_a_stranger_gets_only_the_explanation(bot: Harness, sandbox: SandboxServer) -> None:
    stranger = sandbox.user(555_000_002, "路人")
    for text in ("东2段信件积压三天了", "/help", "/today", "/start"):
        await stranger.send(text)
        assert (await stranger.reply()).content == texts.STRANGER
    explanation = stranger.last_message
    assert explanation is not None
    await stranger.press_data(explanation.message_id, "cok:1")
    (answer,) = await stranger.answers(1)
    assert answer.text == texts.STRANGER_ALERT and answer.show_alert
    await stranger.no_reply()


async def test_help_lists_the_commands_of_the_role(bot: Harness) -> None:
    inspector, clerk = await bot.register("I003"), await bot.register("C001")
    await inspector.send("/help")
    inspector_help = (await inspector.reply()).content
    await clerk.send("/help")
    clerk_help = (await clerk.reply()).content
    assert "/today" in inspector_help and "检查员" in inspector_help
    assert "/today" not in clerk_help and "营业员" in clerk_help
    assert "/complaint" in clerk_help


async def test_a_role_cannot_use_another_roles_command(bot: Harness) -> None:
    clerk = await bot.register("C001")
    await clerk.send("/today")
    assert (await clerk.reply()).content == texts.command_not_for_role(Role.COUNTER_STAFF)


async def test_registered_user_gets_a_role_menu_and_welcome_back(
    bot: Harness, sandbox: SandboxServer
) -> None:
    inspector = await bot.register("I003")
    menu = sandbox.commands(scope={"type": "chat", "chat_id": inspector.chat_id})
    assert [c["command"] for c in menu][:4] == ["start", "help", "today", "skip"]
    default = [c["command"] for c in sandbox.commands()]
    assert default == ["start", "help"]
    await inspector.send("/start")
    assert "已登记为" in (await inspector.reply()).content
