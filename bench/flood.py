"""Benchmark: a third person's wait while one person floods the bot.

Run: .venv/bin/python bench/flood.py [--messages N] [--db sqlite|postgresql|both]

On the sample organisation, with the sandbox enforcing Telegram's flood limits
(RateLimits): one registered clerk sends N messages (default 200) as fast as the client
allows, each "/help"; meanwhile an inspector asks "/help" five times, once a second,
waiting for each answer. Prints the inspector's waits (median and longest) beside the same
five questions asked with nobody flooding (the reference, same run), how long the flooder's
answers took to all arrive, that none was lost, and the 429s.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from pathlib import Path

from benchkit import (
    BENCH_NOW,
    backends,
    bench_settings,
    fresh_database,
    import_sample_org,
    run_bench,
)

from bot.clock import ManualClock
from bot.demo.simulation import simulate
from bot.sandbox import RateLimits, SandboxServer, SandboxUser
from nlp.reader import ComplaintReader

QUESTIONS = 5


async def waits_of(user: SandboxUser) -> list[float]:
    waits = []
    for _ in range(QUESTIONS):
        asked = time.perf_counter()
        await user.send("/help")
        await user.reply(timeout=600)
        waits.append(time.perf_counter() - asked)
        await asyncio.sleep(1.0)
    return waits


async def flood(flooder: SandboxUser, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        await flooder.send("/help")
    await flooder.replies(count, timeout=count * 3 + 60)
    return time.perf_counter() - started


async def run_backend(backend: str, args: argparse.Namespace, reader: ComplaintReader) -> str:
    with fresh_database(backend) as url, tempfile.TemporaryDirectory() as workdir:
        await import_sample_org(url)
        limits = RateLimits()
        async with SandboxServer(policy=limits) as sandbox:
            settings = bench_settings(url, Path(workdir), sandbox)
            async with simulate(
                settings, sandbox, ManualClock(BENCH_NOW), reader, checks=False
            ) as bot:
                inspector, flooder = await bot.register("I003"), await bot.register("C002")
                quiet = await waits_of(inspector)
                flooding = asyncio.create_task(flood(flooder, args.messages))
                await asyncio.sleep(0.5)  # the flood is under way
                during = await waits_of(inspector)
                flood_seconds = await flooding
                await flooder.no_reply(within=1.0)
        answered = len(flooder.messages) - 1  # the first is the welcome
    line = (
        f"[{backend}] third person, /help ×{QUESTIONS}: alone {statistics.median(quiet):.2f} s "
        f"median, {max(quiet):.2f} s longest; while one person floods {args.messages} "
        f"messages: {statistics.median(during):.2f} s median, {max(during):.2f} s longest. "
        f"The flooder's {answered} of {args.messages} answers all in after {flood_seconds:.0f} s "
        f"(Telegram's one a second per chat); 429s: {limits.total_refused}"
    )
    print(line)
    return line


async def main_async(args: argparse.Namespace) -> None:
    logging.getLogger("jieba").setLevel(logging.WARNING)
    reader = ComplaintReader.create()
    summary = [await run_backend(backend, args, reader) for backend in backends(args.db)]
    print()
    print("\n".join(summary))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    run_bench(main_async(args))


if __name__ == "__main__":
    main()
