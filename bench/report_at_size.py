"""Benchmark: the region's monthly report on up to a year of the generated province, while
other people keep using the bot.

Run: .venv/bin/python bench/report_at_size.py [--db sqlite|postgresql|both]
         [--horizon month|year | --days N] [--months 2026-11,2026-06 | --mornings N]

The province of db/province.py (about 1,500 sites) is imported and the working days up to
2026-11-24 are planned with the real planner and stored, nine in ten done: ``--horizon
month`` 21 working days (the default), ``--horizon year`` every working day of 2026 so far
(about 220; planning them takes a while), ``--days N`` any other number. Then, through the
sandbox, for each month of ``--months`` (default 2026-11; 2026-06 closes the half-year, so
its report reads January to June) the region's manager asks ``/report`` for the region and
for a county while a clerk sends ``/help`` every 50 ms. Printed: each report's time to the
chart, the clerk's worst reply time meanwhile, and the event loop's worst stall (a task that
wakes every 10 ms and records how late it woke). The references, measured in the same run:
the same two figures for a few seconds without a report (what the machine's load alone
causes), and the quota evaluation of the province's whole year called on the event loop, as
/report used to: the stall it would cause.

With ``--mornings N`` the reports are not asked: instead the day's 08:00 plan and push
(``plan_and_push``, as the morning's tick runs it) is done N times over the same history,
everyone of the province registered (about 2,000 pushes queued each time), while the clerk
sends ``/help``: each morning's time, the pushes queued, the clerk's worst reply and the
loop's worst stall. Between mornings the push is delivered and the day's plan deleted.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from benchkit import SHANGHAI, backends, bench_settings, fresh_database, run_bench
from sqlalchemy import BigInteger, delete, literal, update
from sqlmodel import col, func, select

from bot.app.jobs import TICK_JOB, run_due_work
from bot.clock import ManualClock
from bot.demo.simulation import Simulation, simulate
from bot.sandbox import SandboxServer, SandboxUser
from bot.usecases.checks import plan_and_push
from bot.views import texts
from db.checks import insert_planned, load_org_snapshot, read_history
from db.jobs import claim_job
from db.models import Assignment, AssignmentStatus, JobRun, OutboxMessage, Staff, Unit
from db.org_import import import_org
from db.province import generate_province
from db.session import Database
from scheduler.catalog import load_catalog
from scheduler.org import Level, Role
from scheduler.planner import AssignmentStatus as PlannedStatus
from scheduler.planner import HistoryEntry, evaluate_period, plan_day

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)
# Working days planned and stored: a month's, or every one of 2026 before NOW (seed_year
# stops at the year's start).
HORIZONS = {"month": 21, "year": 366}
IDLE_SECONDS = 5
FIRST_USER = 7_700_000_000  # + staff id: the chats of everyone registered for the mornings


async def seed_year(database: Database, settings_calendar: object, days: int) -> tuple[int, int]:
    """Checks stored and working days planned."""
    catalog = load_catalog()
    async with database.session() as session:
        await import_org(
            generate_province(),
            labels=texts.IMPORT_LABELS,
            session=session,
            now=NOW.replace(month=1, day=2),
        )
    async with database.session() as session:
        org = await load_org_snapshot(session=session)
        # October's automatic reports count as sent: the bench measures one manager's
        # report, not the monthly send to every unit, which would run meanwhile.
        for unit in org.units:
            await claim_job(session=session, key=f"report:2026-10:{unit.id}", now=NOW)
    history: list[HistoryEntry] = []
    working: list[date] = []
    day = NOW.date() - timedelta(days=1)
    while len(working) < days and day.year == 2026:
        if settings_calendar.is_working_day(day):  # type: ignore[attr-defined]
            working.append(day)
        day -= timedelta(days=1)
    stored = 0
    for day in sorted(working):
        plan = plan_day(catalog, org, settings_calendar, day, history)  # type: ignore[arg-type]
        history.extend(a.as_history(PlannedStatus.DONE) for a in plan)
        async with database.session() as session:
            await insert_planned(session=session, planned=plan)
        stored += len(plan)
    async with database.session() as session:
        await session.exec(update(Assignment).values(status=AssignmentStatus.DONE))
        await session.exec(
            update(Assignment)
            .where(col(Assignment.id) % 10 == 0)
            .values(status=AssignmentStatus.MISSED)
        )
    return stored, len(working)


class LoopWatch:
    """How late a task that sleeps 10 ms at a time wakes: the loop's worst stall."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(0.01)
            self.worst = max(self.worst, time.perf_counter() - started - 0.01)

    def __enter__(self) -> LoopWatch:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def clerk_meanwhile(clerk: SandboxUser, stop: asyncio.Event) -> float:
    worst = 0.0
    while not stop.is_set():
        started = time.perf_counter()
        await clerk.send("/help")
        await clerk.replies(1, timeout=120)
        worst = max(worst, time.perf_counter() - started)
        await asyncio.sleep(0.05)
    return worst


async def ask_report(manager: SandboxUser, month: str, unit: str) -> float:
    started = time.perf_counter()
    await manager.send(f"/report {month} {unit}")
    await manager.replies(2, timeout=600)  # the workbook and the chart
    return time.perf_counter() - started


async def run(backend: str, days: int, months: list[str], mornings: int) -> None:
    with fresh_database(backend) as url, tempfile.TemporaryDirectory() as workdir:
        async with SandboxServer() as sandbox:
            settings = bench_settings(url, Path(workdir), sandbox)
            async with simulate(settings, sandbox, ManualClock(NOW), checks=False) as sim:
                await measure(sim, backend, days, months, mornings)


async def measure(
    sim: Simulation, backend: str, days: int, months: list[str], mornings: int
) -> None:
    started = time.perf_counter()
    # The bot started with the region's items only (checks=False); its reports evaluate the
    # whole catalog, as in production, and its end of yesterday knows every item seeded.
    sim.services.catalog = load_catalog()
    stored, planned = await seed_year(sim.db, sim.services.calendar, days)
    # What fell due while seeding (the end of yesterday over a province's checks) runs now,
    # not during the measurement.
    await run_due_work(sim.services)
    seconds = time.perf_counter() - started
    print(f"{backend}: {stored:,} checks, {planned} working days, stored in {seconds:.0f} s")
    async with sim.db.session() as session:
        region = (await session.exec(select(Unit).where(Unit.level == Level.REGION))).one()
        county = (await session.exec(select(Unit).where(Unit.level == Level.COUNTY))).first()
        assert county is not None
        heads = select(Staff).where(Staff.role == Role.MANAGER, Staff.unit_id == region.id)
        head = (await session.exec(heads)).first()
        clerks = select(Staff.code).where(Staff.role == Role.COUNTER_STAFF)
        clerk_code = (await session.exec(clerks)).first()
    assert head is not None and clerk_code is not None
    manager, clerk = await sim.register(head.code), await sim.register(clerk_code)
    # The machine's own noise: the same watch and clerk while nobody asks for a report.
    stop = asyncio.Event()
    with LoopWatch() as watch:
        meanwhile = asyncio.create_task(clerk_meanwhile(clerk, stop))
        await asyncio.sleep(IDLE_SECONDS)
        stop.set()
        worst_reply = await meanwhile
    print(
        f"  reference: no report for {IDLE_SECONDS} s: the clerk's worst reply "
        f"{worst_reply * 1000:.0f} ms, the loop's worst stall {watch.worst * 1000:.0f} ms"
    )
    if mornings:
        await measure_mornings(sim, clerk, mornings)
        return
    for month in months:
        for unit in (region.code, county.code):
            stop = asyncio.Event()
            with LoopWatch() as watch:
                meanwhile = asyncio.create_task(clerk_meanwhile(clerk, stop))
                took = await ask_report(manager, month, unit)
                stop.set()
                worst_reply = await meanwhile
            print(
                f"  /report {month} {unit}: {took:.1f} s; meanwhile the clerk's worst reply "
                f"{worst_reply * 1000:.0f} ms, the loop's worst stall {watch.worst * 1000:.0f} ms"
            )
    # The reference: the whole province's year evaluated on the event loop, as before.
    async with sim.db.session() as session:
        org = await load_org_snapshot(session=session)
    since = date(2025, 12, 25)  # the year's weeks and blocks, as /report used to read
    history = await asyncio.to_thread(
        sim.db.blocking_read,
        lambda connection: read_history(
            connection=connection, since=since, before=date(2026, 12, 1)
        ),
    )
    services = sim.services
    started = time.perf_counter()
    november = (date(2026, 11, 1), date(2026, 11, 30))
    evaluate_period(services.catalog, org, services.calendar, history, *november)
    blocked = (time.perf_counter() - started) * 1000
    print(f"  reference: that evaluation on the event loop blocks it {blocked:.0f} ms")


async def register_everyone(sim: Simulation) -> None:
    """Every member of staff bound to a chat of the sandbox (as /start would), so the
    morning queues a push to each inspector with checks."""
    async with sim.db.session() as session:
        await session.exec(
            update(Staff)
            .where(col(Staff.telegram_user_id).is_(None))
            .values(telegram_user_id=literal(FIRST_USER, BigInteger) + col(Staff.id))
        )
        people = (await session.exec(select(Staff.telegram_user_id, Staff.name))).all()
    for chat_id, name in people:
        assert chat_id is not None
        sim.sandbox.user(chat_id, name)


async def undo_morning(sim: Simulation) -> None:
    """Once the push is delivered: the day's plan, its push and its claim deleted, so the
    next morning plans the same day over the same history."""
    today = NOW.date()
    pending = select(func.count()).where(
        col(OutboxMessage.sent_at).is_(None), col(OutboxMessage.failed_at).is_(None)
    )
    while True:
        async with sim.db.session() as session:
            if not (await session.exec(pending)).one():
                break
        await asyncio.sleep(1)
    async with sim.db.session() as session:
        await session.exec(
            delete(OutboxMessage).where(col(OutboxMessage.key).startswith("morning:"))
        )
        await session.exec(delete(Assignment).where(col(Assignment.day) == today))
        await session.exec(delete(JobRun).where(col(JobRun.key) == f"morning:{today}"))


async def measure_mornings(sim: Simulation, clerk: SandboxUser, mornings: int) -> None:
    # Only the mornings measured here plan: the repeating tick would race them.
    assert sim.application.job_queue is not None
    for job in sim.application.job_queue.get_jobs_by_name(TICK_JOB):
        job.schedule_removal()
    await register_everyone(sim)
    for _ in range(mornings):
        await undo_morning(sim)
        stop = asyncio.Event()
        with LoopWatch() as watch:
            meanwhile = asyncio.create_task(clerk_meanwhile(clerk, stop))
            started = time.perf_counter()
            pushed = await plan_and_push(sim.services)
            took = time.perf_counter() - started
            stop.set()
            worst_reply = await meanwhile
        sim.sender.wake()
        print(
            f"  the morning's plan and push: {took:.1f} s, {pushed:,} pushes queued; "
            f"meanwhile the clerk's worst reply {worst_reply * 1000:.0f} ms, "
            f"the loop's worst stall {watch.worst * 1000:.0f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default="both", choices=["sqlite", "postgresql", "both"])
    span = parser.add_mutually_exclusive_group()
    span.add_argument("--horizon", choices=sorted(HORIZONS), default="month")
    span.add_argument("--days", type=int, help="working days to plan and store")
    asked = parser.add_mutually_exclusive_group()
    asked.add_argument("--months", default="2026-11", help="comma-separated, e.g. 2026-11,2026-06")
    asked.add_argument("--mornings", type=int, default=0, help="the 08:00 plan, N times instead")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    days = args.days or HORIZONS[args.horizon]
    for backend in backends(args.db):
        run_bench(run(backend, days, args.months.split(","), args.mornings))


if __name__ == "__main__":
    main()
