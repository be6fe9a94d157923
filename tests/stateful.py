"""How the project's state machines run: seeded (the same sequences on every run and
machine, so a failure in CI is one anyone can replay), with no per-example deadline (a
step may wait on a database) and quiet about slow data generation."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine


def run_seeded(
    machine: type[RuleBasedStateMachine], *, examples: int, steps: int, **attributes: object
) -> None:
    """Set the machine's class attributes (its database, fixtures …) and run it."""
    for name, value in attributes.items():
        setattr(machine, name, value)
    case = machine.TestCase
    case.settings = settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    case().runTest()
