"""A button pressed again within a moment is a double press; later, or another, is not."""

from __future__ import annotations

from bot.presses import PressMemory


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_same_press_within_the_window_is_a_repeat() -> None:
    ticks = Ticks()
    presses = PressMemory(window=2.0, monotonic=ticks)
    assert not presses.is_repeat(7001, 5, "cok:1")
    ticks.now += 0.3
    assert presses.is_repeat(7001, 5, "cok:1")
    assert not presses.is_repeat(7001, 5, "cno:1"), "another button"
    assert not presses.is_repeat(7001, 6, "cok:1"), "the same button on another message"
    assert not presses.is_repeat(7002, 5, "cok:1"), "another person"


def test_a_press_after_the_window_counts_again() -> None:
    ticks = Ticks()
    presses = PressMemory(window=2.0, monotonic=ticks)
    assert not presses.is_repeat(7001, 5, "kopen:3")
    ticks.now += 1.5
    assert presses.is_repeat(7001, 5, "kopen:3")  # hammering keeps it a repeat
    ticks.now += 2.5
    assert not presses.is_repeat(7001, 5, "kopen:3")
