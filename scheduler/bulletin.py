"""The monthly 通报 (第十条 3, 第十一条 4, 第十五条 5): the units of one level ranked on a score
built from the eight elements of service quality (第五篇), with the change on last month.

Plain data in, plain data out (no database, no Telegram). The score of a unit is

    100 - sum(weight[e] * issues[e] for the seven elements that count against it)
        + weight[亮点] * highlights

where ``issues`` are the unit's scorecard counts of the month (``MonthlyReport.scorecard``).
When every ranked unit has a known volume (items handled in the month), counts become rates
per 10,000 items first, so that a large station is not ranked below a small one for handling
more mail; otherwise raw counts are used, and the bulletin says which. Ties rank by name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from scheduler.monthly_report import Element, MonthlyReport

BASE_SCORE: Final = 100.0
PER_ITEMS: Final = 10_000


@dataclass(frozen=True)
class UnitMonth:
    """One ranked unit: this month's report, last month's (None before go-live), and the
    volume of the month when known."""

    report: MonthlyReport
    previous: MonthlyReport | None = None
    volume: int | None = None


@dataclass(frozen=True)
class BulletinRow:
    rank: int
    unit: str
    score: float
    issues: Mapping[Element, float]  # counts, or rates per 10,000 items
    previous_score: float | None
    previous_rank: int | None

    @property
    def change(self) -> float | None:
        return None if self.previous_score is None else self.score - self.previous_score


@dataclass(frozen=True)
class Bulletin:
    title_unit: str  # the unit whose level below is ranked
    year: int
    month: int
    weights: Mapping[Element, float]
    per_items: bool  # rates per 10,000 items rather than counts
    rows: tuple[BulletinRow, ...]


def element_counts(report: MonthlyReport) -> dict[Element, int]:
    """Issues per element of a report's scorecard (no data counts as none)."""
    return {score.element: score.issues or 0 for score in report.scorecard}


def unit_score(counts: Mapping[Element, float], weights: Mapping[Element, float]) -> float:
    score = BASE_SCORE
    for element, weight in weights.items():
        value = counts.get(element, 0)
        score += weight * value if element is Element.HIGHLIGHT else -weight * value
    return round(score, 2)


def _values(counts: Mapping[Element, int], volume: int | None) -> dict[Element, float]:
    if volume is None:
        return {element: float(count) for element, count in counts.items()}
    return {element: count * PER_ITEMS / volume for element, count in counts.items()}


def _ranked(scores: Mapping[str, float]) -> dict[str, int]:
    order = sorted(scores, key=lambda unit: (-scores[unit], unit))
    return {unit: rank for rank, unit in enumerate(order, start=1)}


def build_bulletin(
    title_unit: str,
    units: Sequence[UnitMonth],
    weights: Mapping[Element, float],
) -> Bulletin | None:
    """The ranking of ``units`` (one level, e.g. the counties of a city); None for none."""
    if not units:
        return None
    month = units[0].report.month
    per_items = all(unit.volume for unit in units)
    now: dict[str, float] = {}
    before: dict[str, float] = {}
    values: dict[str, dict[Element, float]] = {}
    for unit in units:
        name = unit.report.unit.name
        volume = unit.volume if per_items else None
        values[name] = _values(element_counts(unit.report), volume)
        now[name] = unit_score(values[name], weights)
        if unit.previous is not None:
            before[name] = unit_score(_values(element_counts(unit.previous), volume), weights)
    ranks, previous_ranks = _ranked(now), _ranked(before)
    rows = tuple(
        BulletinRow(
            rank=ranks[name],
            unit=name,
            score=now[name],
            issues=values[name],
            previous_score=before.get(name),
            previous_rank=previous_ranks.get(name),
        )
        for name in sorted(now, key=lambda unit: ranks[unit])
    )
    return Bulletin(title_unit, month.year, month.month, dict(weights), per_items, rows)
