"""Complaint workflow rules: who handles a complaint, when it must be answered, who is
alerted when it is not. Plain functions over plain data; no database, no Telegram."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from scheduler.org import Department, OrgUnit


class WorkingDayCalendar(Protocol):
    def add_working_days(self, instant: datetime, days: int) -> datetime: ...


@dataclass(frozen=True)
class StaffPost:
    """A person as the routing rules see them: where they sit and in which department."""

    staff_id: int
    unit_id: int
    department: Department | None = None


def units_upwards(unit_id: int, units: Mapping[int, OrgUnit]) -> list[int]:
    """The unit and its ancestors, nearest first, up to the region."""
    chain: list[int] = []
    current: int | None = unit_id
    while current is not None and current not in chain:
        chain.append(current)
        current = units[current].parent_id if current in units else None
    return chain


def units_within(unit_id: int, units: Mapping[int, OrgUnit]) -> set[int]:
    """The unit and every unit below it: a manager's scope."""
    children: dict[int, list[int]] = {}
    for unit in units.values():
        if unit.parent_id is not None:
            children.setdefault(unit.parent_id, []).append(unit.id)
    scope, stack = set(), [unit_id]
    while stack:
        current = stack.pop()
        if current not in scope:
            scope.add(current)
            stack.extend(children.get(current, []))
    return scope


def resolve_handler(
    department: Department,
    site_id: int,
    units: Mapping[int, OrgUnit],
    handlers: Sequence[StaffPost],
) -> StaffPost | None:
    """The handler of `department` nearest to the site: its own unit first, then up the
    hierarchy (a site without a handler falls back to its county, then city, then region).
    Several handlers in one unit: the lowest staff id, so routing is deterministic."""
    for unit_id in units_upwards(site_id, units):
        here = [h for h in handlers if h.unit_id == unit_id and h.department is department]
        if here:
            return min(here, key=lambda h: h.staff_id)
    return None


def answer_deadline(
    created_at: datetime, working_days: int, calendar: WorkingDayCalendar
) -> datetime:
    """Created + N working days: the same clock time on the Nth following working day."""
    return calendar.add_working_days(created_at, working_days)


def escalation_time(deadline: datetime, level: int, calendar: WorkingDayCalendar) -> datetime:
    """Level 1 is due at the deadline, each further level one working day later."""
    if level < 1:
        raise ValueError("escalation levels start at 1")
    return calendar.add_working_days(deadline, level - 1) if level > 1 else deadline


def escalation_chain(
    start_unit_id: int, units: Mapping[int, OrgUnit], managers: Sequence[StaffPost]
) -> list[list[int]]:
    """Managers to alert per level: level 1 is the nearest unit (from the handler's unit
    upwards) that has managers, level 2 the next one up, and so on to the region."""
    chain: list[list[int]] = []
    for unit_id in units_upwards(start_unit_id, units):
        here = sorted(m.staff_id for m in managers if m.unit_id == unit_id)
        if here:
            chain.append(here)
    return chain
