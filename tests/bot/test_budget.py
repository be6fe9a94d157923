"""The split of Telegram's overall limit among instances (plain functions), and what the rate
limiter reports as its demand and does with its part."""

from __future__ import annotations

import asyncio

import pytest

from bot.budget import FLOOR, pace_of, split_budget
from bot.ratelimit import Pace, PriorityRateLimiter

TOTAL = 29.0


@pytest.mark.parametrize(
    ("demands", "parts"),
    [
        # One instance: all of it, whatever it asks.
        ({"a": 0.0}, {"a": 29.0}),
        ({"a": 500.0}, {"a": 29.0}),
        # Nobody sends: equal parts, so whoever starts has a third at once.
        ({"a": 0.0, "b": 0.0, "c": 0.0}, {"a": 29 / 3, "b": 29 / 3, "c": 29 / 3}),
        # One hungry (the morning push), two idle: those keep the floor, it takes the rest.
        ({"a": 60.0, "b": 0.0, "c": 0.0}, {"a": 27.0, "b": 1.0, "c": 1.0}),
        # A light one gets what it asks and the floor; the hungry ones share the rest.
        ({"a": 60.0, "b": 40.0, "c": 4.0}, {"a": 12.0, "b": 12.0, "c": 5.0}),
        # Together they ask less than there is: each what it asks, the rest spread evenly.
        ({"a": 6.0, "b": 2.0}, {"a": 7.0 + 9.5, "b": 3.0 + 9.5}),
        # Asking a bit more than an equal part is hungry too: equal parts.
        ({"a": 14.0, "b": 14.0}, {"a": 14.5, "b": 14.5}),
    ],
)
def test_split(demands: dict[str, float], parts: dict[str, float]) -> None:
    assert split_budget(TOTAL, demands) == pytest.approx(parts)


def test_the_parts_add_up_to_the_budget_and_the_floor_is_kept() -> None:
    cases = [
        {"a": 0.0},
        {"a": 100.0, "b": 0.0},
        {"a": 3.0, "b": 3.0, "c": 30.0, "d": 0.5},
        {str(n): float(n * n) for n in range(12)},
    ]
    for demands in cases:
        parts = split_budget(TOTAL, demands)
        assert sum(parts.values()) == pytest.approx(TOTAL)
        assert all(part >= min(FLOOR, TOTAL / len(demands)) - 1e-9 for part in parts.values())


def test_more_instances_than_floors_share_equally() -> None:
    parts = split_budget(5.0, {str(n): 100.0 if n == 0 else 0.0 for n in range(10)})
    assert parts == pytest.approx({str(n): 0.5 for n in range(10)})


def test_no_instances_no_parts() -> None:
    assert split_budget(TOTAL, {}) == {}


@pytest.mark.parametrize(("part", "burst"), [(29.0, 10), (14.5, 5), (9.7, 4), (1.0, 1), (0.1, 1)])
def test_the_burst_is_shared_like_the_rate(part: float, burst: int) -> None:
    assert pace_of(part, Pace(rate=29.0, burst=10)) == Pace(rate=part, burst=burst)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limiter(clock: Clock) -> PriorityRateLimiter:
    return PriorityRateLimiter(
        overall=Pace(rate=10.0, burst=2), per_chat=Pace(rate=1.0, burst=1), clock=clock
    )


async def sent(limiter: PriorityRateLimiter, chat: int) -> bool:
    async def send() -> bool:
        return True

    result = await limiter.process_request(send, (), {}, "sendMessage", {"chat_id": chat}, None)
    assert result is True
    return True


async def test_demand_counts_requests_a_second_and_chats_waiting() -> None:
    clock = Clock()
    paced = limiter(clock)
    for chat in (1, 2):  # the burst: sent at once
        await sent(paced, chat)
    # Two more chats wait for the overall bucket (the clock stands still).
    waiting = [asyncio.create_task(sent(paced, chat)) for chat in (3, 4)]
    await asyncio.sleep(0.01)
    clock.now += 2.0
    assert paced.demand() == pytest.approx(4 / 2.0 + 2)
    await asyncio.gather(*waiting)
    clock.now += 1.0
    assert paced.demand() == 0.0  # nothing asked since, nobody waits
    await paced.shutdown()


async def test_a_new_part_keeps_the_saved_tokens_up_to_its_burst() -> None:
    clock = Clock()
    paced = limiter(clock)
    paced.set_overall(Pace(rate=1.0, burst=1))
    assert paced.overall == Pace(rate=1.0, burst=1)
    await sent(paced, 1)  # the one token left of the burst
    waiting = asyncio.create_task(sent(paced, 2))
    await asyncio.sleep(0.01)
    assert not waiting.done()  # a second at the new pace
    clock.now += 1.0
    paced.set_overall(Pace(rate=10.0, burst=2))  # wakes the waiter: its token is there
    await asyncio.wait_for(waiting, 1)
    await paced.shutdown()
