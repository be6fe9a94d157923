"""A report reads only its scope's checks (those of its units or on their sites): the
quotas of every unit in the scope come out exactly as from the whole organisation's."""

from __future__ import annotations

import pytest

from scheduler.complaints import units_within
from scheduler.planner import HistoryEntry, evaluate_period
from tests.scheduler.test_planner import (
    CALENDAR,
    CATALOG,
    CITY,
    COUNTY_A,
    COUNTY_B,
    ORG,
    half_year,
    month_range,
)


def in_scope(entry: HistoryEntry, scope: set[int]) -> bool:
    """The predicate of db.checks.read_history(unit_ids=…)."""
    return entry.unit_id in scope or entry.target_site_id in scope


@pytest.mark.parametrize("unit", [COUNTY_A, COUNTY_B, CITY])
@pytest.mark.parametrize("month", [10, 12])
def test_the_scopes_checks_give_the_scopes_quotas(unit: int, month: int) -> None:
    _, history = half_year()
    units = {u.id: u for u in ORG.units}
    scope = set(units_within(unit, units))
    whole = evaluate_period(CATALOG, ORG, CALENDAR, history, *month_range(month))
    scoped = evaluate_period(
        CATALOG, ORG, CALENDAR, [e for e in history if in_scope(e, scope)], *month_range(month)
    )
    assert [s for s in scoped if s.unit_id in scope] == [s for s in whole if s.unit_id in scope]
    assert any(s.unit_id in scope and s.done for s in whole)  # not vacuous
