"""Fault injection and flood limits: what a bot sees, and that a fault never delivers."""

from __future__ import annotations

import datetime as dtm
from collections.abc import AsyncIterator

import httpx
import pytest
import telegram
from telegram.error import NetworkError, RetryAfter

from bot.sandbox import (
    ApiCall,
    Fault,
    FaultInjector,
    Limit,
    RateLimits,
    SandboxServer,
    chain,
)
from bot.sandbox.faults import MESSAGE_METHODS

USER_ID = 1001


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    async with SandboxServer() as server:
        server.user(USER_ID, "张三")
        yield server


@pytest.fixture
async def bot(sandbox: SandboxServer) -> AsyncIterator[telegram.Bot]:
    async with telegram.Bot(sandbox.token, base_url=sandbox.base_url) as connected:
        yield connected


def call(method: str = "sendMessage", chat_id: int | str | None = USER_ID) -> ApiCall:
    params = {} if chat_id is None else {"chat_id": chat_id}
    return ApiCall(seq=1, method=method, params=params, at=0.0)


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("fault", "error", "pattern"),
    [
        (Fault.TOO_MANY_REQUESTS, RetryAfter, "Flood control exceeded"),
        (Fault.INTERNAL_ERROR, NetworkError, "Internal Server Error"),
        (Fault.BAD_GATEWAY, NetworkError, "Bad Gateway"),
        (Fault.DROP, NetworkError, "Server disconnected without sending a response"),
    ],
)
async def test_each_fault_reaches_the_bot_and_delivers_nothing(
    sandbox: SandboxServer,
    bot: telegram.Bot,
    fault: Fault,
    error: type[Exception],
    pattern: str,
) -> None:
    injector = FaultInjector(1.0, faults=[fault], retry_after=2)
    sandbox.policy = injector
    with pytest.raises(error, match=pattern) as raised:
        await bot.send_message(USER_ID, "今天的检查")
    if isinstance(raised.value, RetryAfter):
        assert raised.value.retry_after == dtm.timedelta(seconds=2)
    assert sandbox.count("sendMessage") == 0
    assert sandbox.user(USER_ID, "张三").messages == []
    assert injector.injected == {fault: 1}
    (record,) = sandbox.calls_to("sendMessage")
    assert record.by_policy


async def test_faults_spare_other_methods_unless_asked(
    sandbox: SandboxServer, bot: telegram.Bot
) -> None:
    sandbox.policy = FaultInjector(1.0)
    assert (await bot.get_me()).id == sandbox.bot_user["id"]
    sandbox.policy = FaultInjector(1.0, methods=None, faults=[Fault.BAD_GATEWAY])
    with pytest.raises(NetworkError):
        await bot.get_me()


async def test_the_share_of_faults_follows_the_rate_and_the_seed() -> None:
    calls = [call() for _ in range(4000)]
    first, second, other = (FaultInjector(0.1, seed=s) for s in (7, 7, 8))
    outcomes = [[await injector(c) for c in calls] for injector in (first, second, other)]
    assert [r is None for r in outcomes[0]] == [r is None for r in outcomes[1]]
    assert [r is None for r in outcomes[0]] != [r is None for r in outcomes[2]]
    assert 340 <= first.total <= 460
    assert set(first.injected) == set(Fault)
    assert all(count > 50 for count in first.injected.values())
    assert await FaultInjector(0.0)(call()) is None


def test_a_rate_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        FaultInjector(1.5)
    with pytest.raises(ValueError, match="at least one"):
        FaultInjector(0.1, faults=[])


async def test_thirty_at_once_then_thirty_a_second_overall() -> None:
    clock = FakeTime()
    limits = RateLimits(clock=clock)
    for chat in range(30):
        assert await limits(call(chat_id=chat + 1)) is None
    refused = await limits(call(chat_id=99))
    assert refused is not None and refused.status == 429
    assert refused.payload["parameters"] == {"retry_after": 1}
    assert limits.refused == {"overall": 1}
    clock.now += 0.1  # three more tokens
    assert [await limits(call(chat_id=100 + i)) is None for i in range(4)] == [
        True,
        True,
        True,
        False,
    ]


async def test_one_a_second_in_a_chat_after_a_short_burst() -> None:
    clock = FakeTime()
    limits = RateLimits(clock=clock, per_chat=Limit(count=1, period=1.0, burst=2))
    assert await limits(call()) is None
    assert await limits(call()) is None
    refused = await limits(call())
    assert refused is not None and refused.payload["parameters"]["retry_after"] == 1
    assert await limits(call(chat_id=USER_ID + 1)) is None  # another chat is not held back
    clock.now += 0.5
    assert await limits(call()) is not None  # a refused message does not use up the wait
    clock.now += 0.5
    assert await limits(call()) is None
    assert limits.refused == {"chat": 2}
    assert limits.allowed == 4


async def test_twenty_a_minute_in_a_group() -> None:
    clock = FakeTime()
    limits = RateLimits(clock=clock)
    for _ in range(20):
        clock.now += 0.05
        assert await limits(call(chat_id=-100123)) is None
    refused = await limits(call(chat_id=-100123))
    assert refused is not None
    assert 1 <= refused.payload["parameters"]["retry_after"] <= 3
    assert await limits(call(chat_id="@postal_news")) is None
    assert limits.refused == {"group": 1}


async def test_only_messages_count_against_the_limits() -> None:
    limits = RateLimits(clock=FakeTime(), per_chat=Limit(count=1, period=1.0, burst=1))
    assert "sendMessage" in MESSAGE_METHODS and "editMessageText" not in MESSAGE_METHODS
    assert await limits(call()) is None
    for method in ("getUpdates", "editMessageText", "answerCallbackQuery", "sendChatAction"):
        assert await limits(call(method)) is None
    assert await limits(call()) is not None


async def test_chain_asks_in_order_and_the_first_answer_wins(
    sandbox: SandboxServer, bot: telegram.Bot
) -> None:
    limits = RateLimits(per_chat=Limit(count=1, period=60.0, burst=1))
    injector = FaultInjector(1.0, faults=[Fault.INTERNAL_ERROR])
    sandbox.policy = chain(limits, injector)
    with pytest.raises(NetworkError):
        await bot.send_message(USER_ID, "一")  # allowed by the limits, then a 500
    with pytest.raises(RetryAfter):
        await bot.send_message(USER_ID, "二")  # refused by the limits: the injector is not asked
    assert injector.injected == {Fault.INTERNAL_ERROR: 1}


async def test_the_control_api_switches_faults_on_and_reports_them(
    sandbox: SandboxServer, bot: telegram.Bot
) -> None:
    async with httpx.AsyncClient() as client:
        set_up = await client.post(
            f"{sandbox.url}/sandbox/faults", json={"faults": 1.0, "seed": 3, "rate_limits": True}
        )
        assert set_up.json() == {"injected": {}, "refused": {}}
        with pytest.raises((RetryAfter, NetworkError)):
            await bot.send_message(USER_ID, "一")
        report = (await client.get(f"{sandbox.url}/sandbox/faults")).json()
        assert sum(report["injected"].values()) == 1 and report["refused"] == {}
        bad = await client.post(f"{sandbox.url}/sandbox/faults", json={"faults": 2})
        assert bad.status_code == 400
        await client.post(f"{sandbox.url}/sandbox/faults", json={})
    assert sandbox.policy is None
    await bot.send_message(USER_ID, "二")
    assert sandbox.count("sendMessage") == 1
