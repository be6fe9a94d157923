"""Benchmark: plan days for the generated province (db/province.py), or several side by side.

Run: .venv/bin/python bench/plan.py [--provinces N] [--days N]

One province is 12 cities, 103 counties, ~1,450 sites, ~7,600 transfer points and ~5,300
staff holding every duty (a few units uncovered on purpose); ``--provinces 30`` is about
the 50,000 sites of the whole national network. Plans ``--days`` consecutive days from
2026-11-02 (counters open Monday to Saturday, delivery every day), feeding each day's plan
back as done history (so later days pay for indexing history too), then evaluates the
month so far. Prints seconds per step and the peak RSS.
"""

from __future__ import annotations

import argparse
import logging
import resource
import sys
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from db.org_import import OrgRow
from db.province import generate_province, snapshot_of
from scheduler.catalog import load_catalog
from scheduler.org import OperatingDays, OrgSnapshot, SiteKind
from scheduler.planner import (
    AssignmentStatus,
    HistoryEntry,
    evaluate_period,
    plan_day,
    uncovered,
)

logger = logging.getLogger(__name__)

OPENING = {
    SiteKind.COUNTER: OperatingDays(frozenset(range(6))),
    SiteKind.DELIVERY: OperatingDays(frozenset(range(7)), on_holidays=True),
}


class WeekdayCalendar:
    """Monday to Friday, no holidays: the bench measures the planner, not the calendar."""

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5

    def is_holiday(self, day: date) -> bool:
        return False

    def working_days(self, start: date, end: date) -> list[date]:
        return [
            start + timedelta(days=offset)
            for offset in range((end - start).days + 1)
            if (start + timedelta(days=offset)).weekday() < 5
        ]


def provinces(count: int) -> list[OrgRow]:
    """``count`` generated provinces (different seeds), codes prefixed so they never meet."""
    rows: list[OrgRow] = []
    for number in range(count):
        prefix = f"P{number}-" if count > 1 else ""
        for row in generate_province(seed=2026 + number):
            values = dict(row.values)
            for column in ("code", "parent"):
                if values.get(column):
                    values[column] = prefix + values[column]
            rows.append(replace(row, line=len(rows) + 2, values=values))
    return rows


def generate_org(count: int) -> OrgSnapshot:
    return snapshot_of(provinces(count), load_catalog().duties, OPENING)


def peak_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--provinces", type=int, default=1)
    parser.add_argument("--days", type=int, default=7)
    args = parser.parse_args()

    catalog = load_catalog()
    started = time.perf_counter()
    org = generate_org(args.provinces)
    sites = sum(1 for unit in org.units if unit.site_kind is not None)
    print(
        f"org: {len(org.units):,} units ({sites:,} sites), {len(org.inspectors):,} doers, "
        f"{len(org.transfer_points):,} transfer points "
        f"({time.perf_counter() - started:.1f} s to generate); "
        f"{len(uncovered(catalog, org)):,} unit x item uncovered (无人承担)"
    )
    calendar = WeekdayCalendar()
    history: list[HistoryEntry] = []
    day = date(2026, 11, 2)
    for _ in range(args.days):
        started = time.perf_counter()
        plan = plan_day(catalog, org, calendar, day, history)
        elapsed = time.perf_counter() - started
        print(
            f"plan {day}: {len(plan):,} assignments in {elapsed:.2f} s "
            f"(history {len(history):,}), peak RSS {peak_rss_mib():.0f} MiB"
        )
        history.extend(assignment.as_history(AssignmentStatus.DONE) for assignment in plan)
        day += timedelta(days=1)
    started = time.perf_counter()
    statuses = evaluate_period(catalog, org, calendar, history, date(2026, 11, 1), day)
    print(
        f"evaluate: {len(statuses):,} statuses in {time.perf_counter() - started:.2f} s, "
        f"peak RSS {peak_rss_mib():.0f} MiB"
    )


if __name__ == "__main__":
    main()
