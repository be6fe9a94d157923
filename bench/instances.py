"""Benchmark: 1, 2 and 3 bot instances on one PostgreSQL.

Run: .venv/bin/python bench/instances.py [--users N] [--reports K] [--instances 1,2,3]
     [--limits]

The burst of bench/updates.py (N counter staff, default 100, each reporting K complaints,
default 2: the text, the draft awaited, "确认提交", the confirmation awaited: 2·K updates a
person) against real bot processes (bot/demo/processes.py, each the application as
`python -m bot run` builds it): one receiver polling the sandbox and, for 2 and 3
instances, worker instances (mode = "worker") taking updates from the same inbox. Before
the burst every process has its reader built and its workers running. Prints updates/s
from the first report to the last confirmation, the median and p95 answer time, messages
sent a second, each instance's share of the updates, and the same burst against a bare PTB
echo bot on the same sandbox in the same run (the reference).

By default the sandbox enforces no limits and the bots pace nothing (our [rate_limits]
lifted, as the echo bot has no limiter): what the instances hold on this machine's cores.
--limits makes the sandbox enforce Telegram's, counting its 429s by the limit that refused
(overall: Telegram's global flood control, which pauses every chat), the bots pacing as in
production (the instances sharing the bot's overall budget, bot/budget.py; the echo bot
then with PTB's AIORateLimiter). The bench process runs the sandbox and the simulated
people; the bots, PostgreSQL and it share the machine's cores.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

from benchkit import BENCH_NOW, ReplyWatcher, fresh_database, run_bench, until_ready
from broadcast import busiest_second
from updates import (
    UNPACED,
    burst,
    confident_reports,
    count_opened,
    echo_bot,
    reporting,
    seed_org,
    sends,
    until_cards,
)

from bot.demo.processes import BotProcesses, bot_processes
from bot.sandbox import RateLimits, SandboxServer
from db.session import Database
from nlp.reader import ComplaintReader

START_TIMEOUT = 180.0  # several cold starts at once on a loaded machine


@dataclass(frozen=True)
class Run:
    instances: int
    updates: int
    seconds: float
    waits: tuple[float, ...]
    messages: int  # messages and edits sent (each paced as a send)
    busiest: int  # of them, the most within one second
    refused: dict[str, int]  # 429s by the limit that refused: overall, chat, group
    shares: tuple[int, ...]  # updates each instance handled
    looks: int  # the update workers' claims, all instances
    looks_in_vain: int  # of which found nothing
    cpu_seconds: float  # of the bot processes, from the burst's start to the last card


async def our_bots(
    instances: int, args: argparse.Namespace, reports: list[str], workdir: Path
) -> Run:
    with fresh_database("postgresql") as url:
        clerk_codes, handler_codes, telegram_ids = await seed_org(url, workdir, args.users)
        limits = RateLimits()
        async with (
            SandboxServer(policy=limits if args.limits else None) as sandbox,
            AsyncExitStack() as stack,
        ):
            everyone: list[BotProcesses] = []
            for number in range(1, instances + 1):
                mode = "polling" if number == 1 else "worker"
                directory = workdir / f"{instances}-instances-{number}"
                processes = bot_processes(
                    sandbox,
                    url,
                    directory,
                    BENCH_NOW,
                    mode,
                    rate_limits=None if args.limits else UNPACED,
                )
                everyone.append(await stack.enter_async_context(processes))
            for bots in everyone:
                await bots.start()
            await until_ready(everyone, START_TIMEOUT)
            await sandbox.updates.until_polled(timeout=START_TIMEOUT)
            clerks = [sandbox.user(telegram_ids[code], code) for code in clerk_codes]
            handlers = [sandbox.user(telegram_ids[code], code) for code in handler_codes]
            async with ReplyWatcher(sandbox) as watcher:
                waits: list[float] = []
                before = len(sends(sandbox))
                cpu = sum(bots.cpu_seconds() for bots in everyone)
                seconds = await burst(clerks, reporting(watcher, reports, args.reports, waits))
                sent = sends(sandbox)[before:]
                expected = len(clerks) * args.reports
                await until_cards(handlers, expected, timeout=300)
                cpu = sum(bots.cpu_seconds() for bots in everyone) - cpu
            for bots in everyone:
                await bots.stop()
            shares = tuple(bots.handled() for bots in everyone)
            looks = [bots.looks_in_vain() for bots in everyone]
        database = Database(url)
        try:
            opened = await count_opened(database)
        finally:
            await database.close()
    assert opened == expected, (opened, expected)
    updates = len(clerks) * args.reports * 2
    return Run(
        instances,
        updates,
        seconds,
        tuple(waits),
        len(sent),
        busiest_second(sent),
        dict(limits.refused),
        shares,
        sum(total for total, _ in looks),
        sum(in_vain for _, in_vain in looks),
        cpu,
    )


def refusals(refused: dict[str, int]) -> str:
    """The sandbox's 429s: overall ones are Telegram's global flood control, which pauses
    every chat."""
    total = sum(refused.values())
    by_limit = ", ".join(f"{limit} {count}" for limit, count in sorted(refused.items()))
    return f"{total} × 429" + (f" ({by_limit})" if total else "")


def describe(label: str, updates: int, seconds: float, waits: tuple[float, ...]) -> str:
    cuts = statistics.quantiles(waits, n=100, method="inclusive")
    return (
        f"{label}: {updates:,} updates in {seconds:.1f} s = {updates / seconds:.1f} updates/s; "
        f"answer after {cuts[49]:.2f} s median, {cuts[94]:.2f} s p95"
    )


async def main_async(args: argparse.Namespace) -> None:
    logging.getLogger("jieba").setLevel(logging.WARNING)
    reports = confident_reports(ComplaintReader.create(), 60)
    condition = "Telegram's limits enforced" if args.limits else "no limits at the sandbox"
    print(f"{args.users} people × {2 * args.reports} updates, {condition}, {os.cpu_count()} cores")
    echo = await echo_bot(args, limited=args.limits)
    reference = echo.per_second
    lines = [describe("bare PTB echo bot (one process)", echo.updates, echo.seconds, echo.waits)]
    print(lines[-1])
    with tempfile.TemporaryDirectory(prefix="bench-instances-") as directory:
        for instances in args.instances:
            run = await our_bots(instances, args, reports, Path(directory))
            per_second = run.updates / run.seconds
            lines.append(
                describe(
                    f"our bot, {instances} instance{'s' if instances > 1 else ''} on PostgreSQL",
                    run.updates,
                    run.seconds,
                    run.waits,
                )
                + f"; {per_second / reference:.2f}× echo; {run.messages / run.seconds:.1f} "
                f"sends/s (busiest second {run.busiest}), {refusals(run.refused)}; "
                "updates handled per instance "
                f"{'/'.join(map(str, run.shares))}; the bots' CPU "
                f"{run.cpu_seconds / run.updates * 1000:.0f} ms per update (all instances); "
                f"{run.looks / run.updates:.2f} claims per update, "
                f"{run.looks_in_vain / run.updates:.2f} of them in vain"
            )
            print(lines[-1])
    print()
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--reports", type=int, default=2, help="complaints each person reports")
    parser.add_argument(
        "--instances",
        type=lambda value: [int(n) for n in value.split(",")],
        default=[1, 2, 3],
        help="comma-separated instance counts (default 1,2,3)",
    )
    parser.add_argument("--limits", action="store_true", help="the sandbox enforces Telegram's")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    started = time.perf_counter()
    run_bench(main_async(args))
    print(f"(bench ran {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
