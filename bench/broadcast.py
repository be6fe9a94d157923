"""Benchmark: a broadcast through the outbox against Telegram's flood limits.

Run: .venv/bin/python bench/broadcast.py [--messages N] [--db sqlite|postgresql|both] [--quick]

Queues N messages (default 3,000: one morning push to each of 3,000 inspectors) in one
transaction, as the morning push does, and lets the running bot deliver them: its real
OutboxSender and PTB rate limiter, talking to the sandbox Bot API with the RateLimits policy
(about 30 messages/s overall and 1/s per chat, answered with 429 beyond). Prints the
messages per second achieved against the 30/s limit, the busiest second, how many sends were
refused with 429, the total time, and checks every message arrived exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchkit import BENCH_NOW, backends, bench_settings, fresh_database, run_bench
from sqlmodel import col, func, select

from bot.clock import ManualClock
from bot.demo.simulation import simulate
from bot.sandbox import CallRecord, RateLimits, SandboxServer, SandboxUser
from db.models import OutboxMessage
from db.outbox import enqueue_message
from db.session import Database
from nlp.reader import ComplaintReader

FIRST_CHAT = 8_200_000_001
TELEGRAM_LIMIT = 30  # messages per second overall (Bot FAQ)
PUSH = "📋 今日检查任务（{n}）：营业窗口服务规范检查 1 项、投递质量抽查 1 项。请发送 /today 开始。"


def delivered(sandbox: SandboxServer) -> list[CallRecord]:
    return [c for c in sandbox.calls if c.ok and c.method == "sendMessage"]


def busiest_second(calls: list[CallRecord]) -> int:
    """The most messages Telegram accepted within any one second."""
    times = sorted(c.at for c in calls)
    most, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


async def queue_push(database: Database, users: list[SandboxUser]) -> None:
    """One transaction, like the morning push: the sender is woken by its commit."""
    async with database.session() as session:
        for n, user in enumerate(users):
            await enqueue_message(
                session=session,
                key=f"bench:push:{user.id}",
                chat_id=user.id,
                text=PUSH.format(n=n),
                now=BENCH_NOW,
            )


async def until_delivered(sandbox: SandboxServer, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(delivered(sandbox)) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(delivered(sandbox))} of {count} delivered in {timeout} s")
        await asyncio.sleep(0.05)


async def run_backend(backend: str, args: argparse.Namespace, reader: ComplaintReader) -> str:
    with fresh_database(backend) as url, tempfile.TemporaryDirectory() as workdir:
        limits = RateLimits()
        async with SandboxServer(policy=limits) as sandbox:
            settings = bench_settings(url, Path(workdir), sandbox)
            clock = ManualClock(BENCH_NOW)
            users = [sandbox.user(FIRST_CHAT + n, f"检查员{n}") for n in range(args.messages)]
            async with simulate(settings, sandbox, clock, reader, checks=False) as bot:
                started = time.perf_counter()
                await queue_push(bot.db, users)
                queued = time.perf_counter()
                await until_delivered(sandbox, args.messages, timeout=args.messages / 10 + 60)
                finished = time.perf_counter()
                await asyncio.sleep(1.0)  # anything sent twice would arrive meanwhile
                async with bot.db.session() as session:
                    unsent = await session.exec(
                        select(func.count()).where(col(OutboxMessage.sent_at).is_(None))
                    )
                    unsent_rows = int(unsent.one())

        calls = delivered(sandbox)
        per_chat = Counter(int(c.params["chat_id"]) for c in calls)
        wrong = [
            u.id
            for n, u in enumerate(users)
            if [m.content for m in u.messages] != [PUSH.format(n=n)] or per_chat[u.id] != 1
        ]
        assert not wrong and unsent_rows == 0 and len(calls) == args.messages, (
            f"{len(wrong)} chats without exactly their one message (e.g. {wrong[:3]}), "
            f"{unsent_rows} rows unsent, {len(calls)} messages for {args.messages}"
        )
        refused = sum(1 for c in sandbox.calls if c.status == 429)
        assert refused == limits.total_refused
        seconds = finished - started
        achieved = args.messages / seconds
        # The steady rate, between the first and the last message Telegram accepted.
        first, last = min(c.at for c in calls), max(c.at for c in calls)
        steady = (len(calls) - 1) / (last - first) if last > first else float("inf")
        print(
            f"[{backend}] {args.messages:,} messages queued in {queued - started:.2f} s, "
            f"delivered in {seconds:.1f} s: {achieved:.1f} msg/s overall, "
            f"{steady:.1f} msg/s steady, busiest second {busiest_second(calls)} "
            f"(Telegram allows {TELEGRAM_LIMIT}/s); "
            f"429s: {refused}{f' {dict(limits.refused)}' if refused else ''}; "
            f"each message exactly once: yes"
        )
        return (
            f"{backend}: {args.messages:,} in {seconds:.1f} s = {achieved:.1f} msg/s "
            f"(limit {TELEGRAM_LIMIT}), busiest second {busiest_second(calls)}, "
            f"{refused} × 429, exactly once"
        )


async def main_async(args: argparse.Namespace) -> None:
    logging.getLogger("jieba").setLevel(logging.WARNING)
    reader = ComplaintReader.create()
    summary = [await run_backend(backend, args, reader) for backend in backends(args.db)]
    print()
    print("\n".join(summary))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3_000, help="one per chat")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="300 messages")
    args = parser.parse_args()
    if args.quick:
        args.messages = 300
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    run_bench(main_async(args))


if __name__ == "__main__":
    main()
