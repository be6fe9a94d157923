"""Our rate limiter against the sandbox enforcing Telegram's flood limits: no 429s, a
flooding chat does not hold up the others, a 429 pauses one chat, replies go before bulk,
and what Telegram does not flood on (answering a button, a chat action) is never held."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest
from telegram.error import RetryAfter
from telegram.ext import ExtBot

from bot.ratelimit import PriorityRateLimiter, bulk_sends
from bot.sandbox import ApiCall, ApiReply, CallRecord, RateLimits, SandboxServer
from bot.settings import RateLimitsSection

FIRST_CHAT = 8_300_000_001


@pytest.fixture
async def limits() -> RateLimits:
    return RateLimits()


@pytest.fixture
async def sandbox(limits: RateLimits) -> AsyncIterator[SandboxServer]:
    async with SandboxServer(policy=limits) as server:
        yield server


@pytest.fixture
async def api(sandbox: SandboxServer) -> AsyncIterator[ExtBot[None]]:
    limiter = PriorityRateLimiter.from_settings(RateLimitsSection())
    async with ExtBot(sandbox.token, base_url=sandbox.base_url, rate_limiter=limiter) as bot:
        yield bot


def sends(sandbox: SandboxServer, chat_id: int) -> list[CallRecord]:
    return [
        c
        for c in sandbox.calls
        if c.ok and c.method == "sendMessage" and int(c.params["chat_id"]) == chat_id
    ]


async def test_a_flooding_chat_does_not_hold_up_another(
    sandbox: SandboxServer, limits: RateLimits, api: ExtBot[None]
) -> None:
    flooder, other = (sandbox.user(FIRST_CHAT + n, f"用户{n}") for n in range(2))
    flood = asyncio.gather(*(api.send_message(flooder.id, f"第{n}条") for n in range(6)))
    await asyncio.sleep(0.05)  # the flood is queued first
    await api.send_message(other.id, "帮助")
    (answered,) = sends(sandbox, other.id)
    assert len(sends(sandbox, flooder.id)) <= 3  # the flood's burst, then one a second
    await flood
    flooded = [c.at for c in sends(sandbox, flooder.id)]
    assert [m.content for m in flooder.messages] == [f"第{n}条" for n in range(6)]
    assert answered.at < flooded[3]
    assert flooded[-1] - flooded[0] >= 3.5  # six messages: two at once, then one a second
    assert limits.total_refused == 0, limits.refused


async def test_replies_go_ahead_of_bulk_sends(
    sandbox: SandboxServer, limits: RateLimits, api: ExtBot[None]
) -> None:
    recipients = [sandbox.user(FIRST_CHAT + n, f"检查员{n}") for n in range(120)]
    asker = sandbox.user(FIRST_CHAT + 1000, "提问的人")

    async def push() -> None:
        with bulk_sends():
            await asyncio.gather(*(api.send_message(u.id, "今日检查任务") for u in recipients))

    broadcast = asyncio.create_task(push())
    await asyncio.sleep(0.3)  # the broadcast has used its burst and is paced now
    replies_at = []
    for n in range(3):
        await api.send_message(asker.id, f"回答{n}")
        replies_at.append(sends(sandbox, asker.id)[-1].at)
    await broadcast
    pushed_at = sorted(c.at for u in recipients for c in sends(sandbox, u.id))
    # Each reply went at its chat's pace however many bulk sends were waiting.
    assert replies_at[-1] < pushed_at[-30]  # the broadcast takes four seconds
    assert limits.total_refused == 0, limits.refused
    assert [m.content for m in asker.messages] == ["回答0", "回答1", "回答2"]


async def test_a_429_pauses_only_its_chat_and_is_retried(
    sandbox: SandboxServer, api: ExtBot[None]
) -> None:
    refused, other = (sandbox.user(FIRST_CHAT + n, f"用户{n}") for n in range(2))
    refusals: list[ApiCall] = []

    async def refuse_once(call: ApiCall) -> ApiReply | None:
        to_refused = call.method == "sendMessage" and int(call.params["chat_id"]) == refused.id
        if to_refused and not refusals:
            refusals.append(call)
            return ApiReply.too_many_requests(2)
        return None

    sandbox.policy = refuse_once
    first = asyncio.create_task(api.send_message(refused.id, "被限的"))
    while not refusals:
        await asyncio.sleep(0.01)
    await api.send_message(other.id, "别人的")
    await first
    (delivered,) = sends(sandbox, refused.id)
    (others,) = sends(sandbox, other.id)
    assert others.at < refusals[0].at + 1.0
    assert delivered.at >= refusals[0].at + 2.0


async def test_429s_for_several_chats_pause_everyone(
    sandbox: SandboxServer, api: ExtBot[None]
) -> None:
    """Telegram's global flood control: several chats refused at once."""
    users = [sandbox.user(FIRST_CHAT + n, f"用户{n}") for n in range(4)]
    refusals: list[ApiCall] = []

    async def global_flood(call: ApiCall) -> ApiReply | None:
        if call.method == "sendMessage" and len(refusals) < 3:
            refusals.append(call)
            return ApiReply.too_many_requests(2)
        return None

    sandbox.policy = global_flood
    await asyncio.gather(*(api.send_message(u.id, "早上好") for u in users[:3]))
    await api.send_message(users[3].id, "晚来的")
    assert len(refusals) == 3
    assert sends(sandbox, users[3].id)[0].at >= refusals[-1].at + 2.0


async def test_a_429_past_the_retries_reaches_the_caller(sandbox: SandboxServer) -> None:
    user = sandbox.user(FIRST_CHAT, "用户")

    async def always(call: ApiCall) -> ApiReply | None:
        return ApiReply.too_many_requests(1) if call.method == "sendMessage" else None

    sandbox.policy = always
    limiter = PriorityRateLimiter.from_settings(RateLimitsSection(), max_retries=1)
    async with ExtBot(sandbox.token, base_url=sandbox.base_url, rate_limiter=limiter) as api:
        with pytest.raises(RetryAfter):
            await api.send_message(user.id, "发不出去")
    assert len(sandbox.calls_to("sendMessage")) == 2


async def test_edits_are_paced_with_the_chats_messages(
    sandbox: SandboxServer, limits: RateLimits, api: ExtBot[None]
) -> None:
    user = sandbox.user(FIRST_CHAT, "用户")
    message = await api.send_message(user.id, "问题")
    await api.edit_message_text("问题（已回答）", chat_id=user.id, message_id=message.message_id)
    await api.send_message(user.id, "下一个问题")
    calls = [c for c in sandbox.calls if c.method in ("sendMessage", "editMessageText")]
    assert [c.method for c in calls] == ["sendMessage", "editMessageText", "sendMessage"]
    assert calls[2].at - calls[0].at >= 0.9  # the third of the chat's burst of two
    assert limits.total_refused == 0


async def test_what_telegram_does_not_flood_on_is_never_held(
    sandbox: SandboxServer, api: ExtBot[None]
) -> None:
    user = sandbox.user(FIRST_CHAT, "用户")
    for n in range(2):
        await api.send_message(user.id, f"第{n}条")
    held = asyncio.create_task(api.send_message(user.id, "第三条要等"))
    await asyncio.sleep(0.05)
    await api.send_chat_action(user.id, "typing")
    await api.set_my_commands([("help", "帮助")])
    assert not held.done()
    await held
    methods = [c.method for c in sandbox.calls if c.ok]
    assert methods.index("sendChatAction") < len(methods) - 1
    assert methods[-1] == "sendMessage"


async def test_a_cancelled_send_gives_its_turn_to_the_next(
    sandbox: SandboxServer, api: ExtBot[None]
) -> None:
    user = sandbox.user(FIRST_CHAT, "用户")
    for n in range(2):
        await api.send_message(user.id, f"第{n}条")
    cancelled = asyncio.create_task(api.send_message(user.id, "取消的"))
    await asyncio.sleep(0.05)
    cancelled.cancel()
    await api.send_message(user.id, "下一条")
    texts = [m.content for m in user.messages]
    assert texts == ["第0条", "第1条", "下一条"]
    times = [c.at for c in sends(sandbox, user.id)]
    assert all(b >= a for a, b in itertools.pairwise(times))
