"""Benchmark: plan days for a generated organisation (50,000 sites, 100,000 inspectors).

Run: .venv/bin/python bench/plan.py [--sites N] [--inspectors N] [--days N]

Plans ``--days`` consecutive working days from 2026-11-02, feeding each day's plan back as
done history (so later days pay for indexing history too), then evaluates the month so far.
Prints seconds per step and the peak RSS.
"""

from __future__ import annotations

import argparse
import logging
import resource
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scheduler.catalog import load_catalog
from scheduler.org import (
    Area,
    Level,
    OrgInspector,
    OrgSnapshot,
    OrgTransferPoint,
    OrgUnit,
    SiteKind,
)
from scheduler.planner import (
    AssignmentStatus,
    HistoryEntry,
    evaluate_period,
    plan_day,
)

logger = logging.getLogger(__name__)

CITIES = 12  # 内蒙古 has 12 盟市
COUNTIES_PER_CITY = 100
CITY_INSPECTORS = 20
COUNTY_INSPECTORS = 5
URBAN_POINTS = 25
RURAL_POINTS = 12


class WeekdayCalendar:
    """Monday to Friday: the bench measures the planner, not the calendar."""

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


def generate_org(sites: int, inspectors: int) -> OrgSnapshot:
    """Deterministic: 1 region, 12 cities, 100 counties each, sites spread over counties."""
    units = [OrgUnit(1, "区公司", Level.REGION, None)]
    staff: list[OrgInspector] = [OrgInspector(1, 1)]
    counties: list[int] = []
    next_id = 2
    for _ in range(CITIES):
        city_id = next_id
        next_id += 1
        units.append(OrgUnit(city_id, f"盟市{city_id}", Level.CITY, 1))
        staff.extend(OrgInspector(len(staff) + 1, city_id) for _ in range(CITY_INSPECTORS))
        for _ in range(COUNTIES_PER_CITY):
            units.append(OrgUnit(next_id, f"旗县{next_id}", Level.COUNTY, city_id))
            staff.extend(OrgInspector(len(staff) + 1, next_id) for _ in range(COUNTY_INSPECTORS))
            counties.append(next_id)
            next_id += 1
    points: list[OrgTransferPoint] = []
    site_ids: list[int] = []
    for number in range(sites):
        kind = SiteKind.COUNTER if number % 2 == 0 else SiteKind.DELIVERY
        area = Area.URBAN if number % 5 < 2 else Area.RURAL
        site_id = next_id
        next_id += 1
        site_ids.append(site_id)
        units.append(
            OrgUnit(
                site_id, f"网点{site_id}", Level.SITE, counties[number % len(counties)], kind, area
            )
        )
        if kind == SiteKind.DELIVERY:
            count = URBAN_POINTS if area == Area.URBAN else RURAL_POINTS
            points.extend(
                OrgTransferPoint(len(points) + 1, f"接转点{len(points) + 1}", site_id)
                for _ in range(count)
            )
    remaining = max(0, inspectors - len(staff))
    for number in range(remaining):
        staff.append(OrgInspector(len(staff) + 1, site_ids[number % len(site_ids)]))
    return OrgSnapshot(units=tuple(units), transfer_points=tuple(points), inspectors=tuple(staff))


def peak_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sites", type=int, default=50_000)
    parser.add_argument("--inspectors", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=2)
    args = parser.parse_args()

    catalog = load_catalog()
    started = time.perf_counter()
    org = generate_org(args.sites, args.inspectors)
    print(
        f"org: {len(org.units):,} units, {len(org.inspectors):,} inspectors, "
        f"{len(org.transfer_points):,} transfer points "
        f"({time.perf_counter() - started:.1f} s to generate)"
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
        while not calendar.is_working_day(day):
            day += timedelta(days=1)
    started = time.perf_counter()
    statuses = evaluate_period(catalog, org, calendar, history, date(2026, 11, 1), day)
    print(
        f"evaluate: {len(statuses):,} statuses in {time.perf_counter() - started:.2f} s, "
        f"peak RSS {peak_rss_mib():.0f} MiB"
    )


if __name__ == "__main__":
    main()
