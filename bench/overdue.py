"""Benchmark: the overdue scan over a million complaints, on SQLite and PostgreSQL.

Run: .venv/bin/python bench/overdue.py [--complaints N] [--db sqlite|postgresql|both]
     [--explain] [--quick]

Loads a generated organisation (12 cities, 120 counties, 480 sites) and N complaints
(default 1,000,000: three years of answered ones, 1% cancelled, a few drafts, and
--open open ones of which --due are due for escalation now and the rest either not yet due or
already escalated), bulk-inserted (COPY on PostgreSQL, executemany on SQLite). Then times
what the bot does: the escalation scan (bot.usecases.complaints.escalate_overdue) once with --due
complaints to escalate and then idle, as on every minute's tick; and /overdue
(bot.usecases.complaints.overdue_in_scope) for a county, a city and the region manager. --explain
prints the database's plan of the two queries.
"""

from __future__ import annotations

import argparse
import logging
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from benchkit import (
    BENCH_NOW,
    POSTGRES_DSN,
    BenchOrg,
    backends,
    bench_settings,
    fresh_database,
    generate_org,
    postgres_schema,
    run_bench,
    sqlite_path,
)
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlmodel import col, func, select

from bot.clock import ManualClock
from bot.services import Services
from bot.usecases.complaints import escalate_overdue, overdue_in_scope
from bot.views import texts
from db.models import Complaint, ComplaintStatus, OutboxMessage, Segment, Staff, Unit
from db.org_import import import_org, read_org_file
from db.session import Database
from scheduler.org import Role

logger = logging.getLogger(__name__)

T = TypeVar("T")

COLUMNS = (
    "reporter_id",
    "text",
    "status",
    "category",
    "categories",
    "confidence",
    "site_id",
    "segment_id",
    "tracking_numbers",
    "phones",
    "urgent",
    "urgency_cues",
    "department",
    "handler_id",
    "handler_unit_id",
    "created_at",
    "routed_at",
    "deadline",
    "escalation_level",
    "next_escalation_at",
    "answered_at",
    "answered_by",
    "answer",
)
CATEGORIES = {
    "delay": "delivery",
    "loss": "delivery",
    "damage": "delivery",
    "false_delivery": "delivery",
    "attitude": "supervision",
    "counter": "market",
    "tracking": "express",
    "periodical": "periodicals",
    "finance": "finance",
}
TEXTS = (
    "东2段信件报刊积压三天了，用户多次打电话投诉",
    "包裹破损，内件损坏了，用户要求赔偿",
    "营业员态度恶劣，顶撞用户",
    "订阅的报纸一周没收到",
    "特快信息不上网，查不到物流",
    "代收款一直没到账",
)
YEARS = 3
DRAFTS = 100
CANCELLED_SHARE = 0.01
ANSWER = "已查明原因并答复用户。"


@contextmanager
def captured_sql(database: Database, table: str) -> Iterator[list[tuple[str, Any]]]:
    """The SELECTs on ``table`` the code under test sends, with their parameters (for
    EXPLAIN: the plan of the query the bot really runs, not of a copy of it)."""
    statements: list[tuple[str, Any]] = []

    def before(
        conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        if statement.lstrip().upper().startswith("SELECT") and f"FROM {table}" in statement:
            statements.append((statement, parameters))

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


async def explain(database: Database, statement: str, parameters: Any) -> str:
    prefix = "EXPLAIN QUERY PLAN " if database.is_sqlite else "EXPLAIN (ANALYZE, BUFFERS) "
    async with database.engine.connect() as connection:
        result = await connection.exec_driver_sql(prefix + statement, parameters)
        rows = result.all()
        await connection.rollback()
    if database.is_sqlite:
        return "\n".join(f"  {row[-1]}" for row in rows)
    return "\n".join(f"  {row[0]}" for row in rows)


async def load_org(database: Database, org: BenchOrg, workdir: Path) -> None:
    rows = read_org_file(org.write_csv(workdir / "org.csv"))
    async with database.session() as session:
        await import_org(rows, labels=texts.IMPORT_LABELS, session=session, now=BENCH_NOW)
        # Managers are registered, so escalations queue alerts as they would in production.
        managers = await session.exec(select(Staff).where(Staff.role == Role.MANAGER))
        for manager in managers.all():
            assert manager.id is not None
            manager.telegram_user_id = 9_000_000_000 + manager.id
            manager.registered_at = BENCH_NOW
            session.add(manager)


class Ids:
    """Database ids of the generated organisation, for the complaints' foreign keys."""

    def __init__(self, units: dict[str, int], staff: dict[str, int], segments: dict[int, int]):
        self.units = units
        self.staff = staff
        self.segments = segments  # site id → its segment's id


async def read_ids(database: Database) -> Ids:
    async with database.session() as session:
        units = {u.code: u.id for u in (await session.exec(select(Unit))).all() if u.id}
        staff = {s.code: s.id for s in (await session.exec(select(Staff))).all() if s.id}
        segments = {s.site_id: s.id for s in (await session.exec(select(Segment))).all() if s.id}
    return Ids(units, staff, segments)


class Plan:
    """How many complaints of each kind the generator writes (and the scans must find)."""

    def __init__(self, total: int, open_count: int, due: int) -> None:
        self.total = total
        self.open = open_count
        self.due = due
        # Of the open ones: a third not yet past the deadline, the rest overdue; of those,
        # `due` are due for an escalation now and the others were escalated already.
        self.not_yet_due = open_count // 3
        self.escalated = open_count - self.not_yet_due - due
        self.drafts = DRAFTS
        self.closed = total - open_count - DRAFTS
        if self.escalated < 0 or self.closed < 0:
            raise SystemExit("--open/--due do not fit in --complaints")


@dataclass(frozen=True)
class Site:
    id: int
    county_id: int
    segment_id: int | None
    clerks: tuple[int, ...]
    handlers: dict[str, int]  # department → the county's handler


def bench_sites(org: BenchOrg, ids: Ids) -> list[Site]:
    clerks: dict[str, list[int]] = {}
    for code in org.clerks:
        clerks.setdefault(code[2:].rsplit("-", 1)[0], []).append(ids.staff[code])
    sites = []
    for code in org.sites:
        county = code.rsplit("-", 1)[0]
        site_id = ids.units[code]
        handlers = {d: ids.staff[f"H-{county}-{d}"] for d in set(CATEGORIES.values())}
        segment = ids.segments.get(site_id)
        sites.append(Site(site_id, ids.units[county], segment, tuple(clerks[code]), handlers))
    return sites


def generate_rows(
    plan: Plan, sites: Sequence[Site], stamp: Callable[[datetime], str], seed: int
) -> Iterator[tuple[Any, ...]]:
    """Complaint rows (COLUMNS order, UTC datetimes as ``stamp`` writes them) in creation order,
    as the bot writes them: the closed ones over the last three years, the open ones recent.
    Plain loops and precomputed choices: a million rows in seconds."""
    rng = random.Random(seed)
    now = BENCH_NOW.astimezone(UTC).replace(tzinfo=None)  # naive UTC: faster to format
    categories = list(CATEGORIES.items())
    one_day = timedelta(days=1)

    def base(created: datetime, status: ComplaintStatus) -> list[Any]:
        site = sites[rng.randrange(len(sites))]
        category, department = categories[rng.randrange(len(categories))]
        number = rng.randrange(10**8)
        at = stamp(created)
        return [
            site.clerks[number % len(site.clerks)],
            f"{TEXTS[number % len(TEXTS)]}（{number}）",
            status.value,
            category,
            category,
            0.5 + (number % 50) / 100,
            site.id,
            site.segment_id if category == "delay" else None,
            "",
            f"139{number:08d}",
            number % 10 == 0,
            "",
            department,
            site.handlers[department],
            site.county_id,
            at,
            at,  # routed_at
            created + one_day,  # deadline (the next working day, roughly); stamped below
            0,
            None,
            None,
            None,
            None,
        ]

    span = timedelta(days=365 * YEARS)
    step = (span - timedelta(days=14)) / max(plan.closed, 1)
    created = now - span
    for _ in range(plan.closed):
        created += step
        if rng.random() < CANCELLED_SHARE:
            row = base(created, ComplaintStatus.WITHDRAWN)
            row[13] = row[14] = row[16] = row[17] = None
        else:
            row = base(created, ComplaintStatus.ANSWERED)
            answered = created + timedelta(hours=1 + 30 * rng.random())
            row[18] = 1 if answered > row[17] else 0  # answered late: it was escalated once
            row[17] = stamp(row[17])
            row[20] = stamp(answered)
            row[21] = row[13]
            row[22] = ANSWER
        yield tuple(row)
    recent = now - timedelta(days=14)
    for _ in range(plan.escalated):
        # Overdue for days: escalated up the chain, the next level (if any) still ahead.
        row = base(recent + timedelta(hours=rng.uniform(0, 24 * 10)), ComplaintStatus.OPEN)
        row[17] = stamp(row[17])
        row[18] = rng.choice((1, 2, 3))
        if row[18] < 3:
            row[19] = stamp(now + timedelta(hours=rng.uniform(1, 20)))
        yield tuple(row)
    for _ in range(plan.due):
        row = base(now - timedelta(days=1, hours=rng.uniform(0.1, 3)), ComplaintStatus.OPEN)
        row[17] = row[19] = stamp(row[17])  # level 1 is due at the deadline, just passed
        yield tuple(row)
    for _ in range(plan.not_yet_due):
        row = base(now - timedelta(hours=rng.uniform(0, 20)), ComplaintStatus.OPEN)
        row[17] = row[19] = stamp(row[17])
        yield tuple(row)
    for n in range(plan.drafts):
        row = base(now - timedelta(minutes=n), ComplaintStatus.DRAFT)
        row[12] = row[13] = row[14] = row[16] = row[17] = None
        yield tuple(row)


def sqlite_stamp(utc: datetime) -> str:
    # SQLAlchemy's SQLite DateTime storage format, in UTC (db.types.AwareDateTime).
    return utc.isoformat(" ", "microseconds")


def postgres_stamp(utc: datetime) -> str:
    return utc.isoformat(" ", "microseconds") + "+00"


def bulk_insert(url: str, rows: Iterator[tuple[Any, ...]]) -> None:
    names = ", ".join(COLUMNS)
    if url.startswith("sqlite"):
        lite = sqlite3.connect(sqlite_path(url))
        try:
            marks = ", ".join("?" for _ in COLUMNS)
            # Only the load goes unsynced; the scans run with the bot's own settings.
            lite.execute("PRAGMA synchronous = OFF")
            lite.execute("PRAGMA cache_size = -262144")  # 256 MiB: the indexes stay in memory
            lite.executemany(f"INSERT INTO complaint ({names}) VALUES ({marks})", rows)
            lite.commit()
        finally:
            lite.close()
        return
    options = f"-csearch_path={postgres_schema(url)}"
    with psycopg.connect(POSTGRES_DSN, options=options) as connection:
        # The rows are known to be consistent: skip the foreign-key triggers for the load
        # (superuser only, this transaction only), the indexes are still built.
        connection.execute("SET LOCAL session_replication_role = replica")
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY complaint ({names}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        # What autovacuum does after a bulk change; the planner needs it to know "open" is rare.
        connection.execute("ANALYZE complaint")


async def timed(call: Callable[[], Awaitable[T]]) -> tuple[float, T]:
    started = time.perf_counter()
    result = await call()
    return (time.perf_counter() - started) * 1000, result


async def median_ms(call: Callable[[], Awaitable[object]], repeat: int) -> float:
    return statistics.median([(await timed(call))[0] for _ in range(repeat)])


async def count_open_overdue(database: Database) -> int:
    async with database.session() as session:
        statement = select(func.count()).where(
            Complaint.status == ComplaintStatus.OPEN, col(Complaint.deadline) <= BENCH_NOW
        )
        return int((await session.exec(statement)).one())


async def run_backend(backend: str, args: argparse.Namespace) -> list[str]:
    """One database: load, scan, print; returns the summary line."""
    plan = Plan(args.complaints, args.open, args.due)
    org = generate_org(cities=12, counties_per_city=10, sites_per_county=4, clerks_per_site=2)
    with fresh_database(backend) as url, tempfile.TemporaryDirectory() as workdir:
        database = Database(url)
        await load_org(database, org, Path(workdir))
        ids = await read_ids(database)
        started = time.perf_counter()
        stamp = sqlite_stamp if backend == "sqlite" else postgres_stamp
        bulk_insert(url, generate_rows(plan, bench_sites(org, ids), stamp, args.seed))
        load_seconds = time.perf_counter() - started
        print(f"[{backend}] {plan.total:,} complaints loaded in {load_seconds:.1f} s")

        services = Services.create(bench_settings(url, Path(workdir)), ManualClock(BENCH_NOW))
        overdue = await count_open_overdue(database)
        assert overdue == plan.escalated + plan.due, (overdue, plan.escalated, plan.due)

        with captured_sql(services.db, "complaint") as claims:
            first_ms, alerts = await timed(lambda: escalate_overdue(services))
        async with services.db.session() as session:
            queued = int((await session.exec(select(func.count(col(OutboxMessage.id))))).one())
        assert alerts == queued > 0, (alerts, queued)
        idle_ms = await median_ms(lambda: escalate_overdue(services), args.repeat)
        print(
            f"[{backend}] escalation scan: {first_ms:,.0f} ms escalating {plan.due} complaints "
            f"({alerts} alerts queued); {idle_ms:,.1f} ms when nothing is due (every tick)"
        )

        scan_figures: list[str] = []
        overdue_sql: list[tuple[str, Any]] = []
        for label, code in (
            ("county", org.managers[org.counties[0]]),
            ("city", org.managers[org.cities[0]]),
            ("region", org.managers[org.region]),
        ):
            async with services.db.session() as session:
                viewer = (await session.exec(select(Staff).where(Staff.code == code))).one()
            with captured_sql(services.db, "complaint") as statements:
                ms, listing = await timed(partial(overdue_in_scope, services, viewer))
            overdue_sql = statements[:1] or overdue_sql
            repeat_ms = await median_ms(partial(overdue_in_scope, services, viewer), args.repeat)
            print(
                f"[{backend}] /overdue for the {label} manager: {listing.total:,} complaints "
                f"in {ms:,.0f} ms (median of {args.repeat} more: {repeat_ms:,.0f} ms)"
            )
            scan_figures.append(f"{label} {listing.total:,} in {repeat_ms:,.0f} ms")
        if args.explain:
            for name, captured in (("claim_due_escalations", claims), ("overdue", overdue_sql)):
                statement, parameters = captured[0]
                print(f"[{backend}] plan of {name}:")
                print(await explain(services.db, statement, parameters))
        await services.db.close()
        await database.close()
    return [
        f"{backend}: escalation scan {first_ms:,.0f} ms ({plan.due} due), idle {idle_ms:,.1f} ms; "
        f"/overdue " + ", ".join(scan_figures)
    ]


async def main_async(args: argparse.Namespace) -> None:
    summary: list[str] = []
    for backend in backends(args.db):
        summary += await run_backend(backend, args)
    print()
    for line in summary:
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--complaints", type=int, default=1_000_000)
    parser.add_argument("--open", type=int, default=3_000, help="open complaints")
    parser.add_argument("--due", type=int, default=200, help="open ones due for escalation")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each idle measurement")
    parser.add_argument("--explain", action="store_true", help="print the query plans")
    parser.add_argument("--quick", action="store_true", help="100,000 complaints")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.quick:
        args.complaints = 100_000
    logging.basicConfig(level=logging.WARNING)
    run_bench(main_async(args))


if __name__ == "__main__":
    main()
