"""Benchmark: CPU and statements per update of each kind, one at a time, beside an echo bot.

Run: .venv/bin/python bench/per_update.py [--rounds N] [--db sqlite|postgresql|both]
     [--profile DIR]

The bot runs in-process against the sandbox on the sample organisation (no pacing, no
flood limits): a registered counter clerk and an inspector with the morning's checks. Each
kind of update is sent N times (default 20) after three warm-up rounds, each awaited with
its reply and a short pause for what follows the reply (the commit, the outbox's card):
/help, a complaint report (read, stored, the draft), its 确认提交 (routed, history, the
handler's card), opening a check (a button) and a typed answer. Prints the process's CPU
per update (bot, sandbox and the simulated person: the same for the reference) and the SQL
statements the update ran (its own and the look that took it: idle looks are timing), beside
a bare python-telegram-bot echo bot answering a text the same way in the same run (on PTB's
httpx transport, then on the bot's aiohttp one).
Then the same processes doing nothing for IDLE seconds: their CPU per second (the bot's idle
looks at its tables, the long poll, the job queue), part of every figure above through the
pauses. --profile DIR writes a cProfile file per kind (its wall clock includes the pauses).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from benchkit import (
    SHANGHAI,
    backends,
    bench_settings,
    fresh_database,
    import_sample_org,
    run_bench,
)
from sqlalchemy import event
from sqlmodel import col, select
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.app.application import running
from bot.app.transport import AiohttpRequest
from bot.clock import ManualClock
from bot.demo.simulation import Simulation, simulate
from bot.demo.statements import recorded_statements, statement_count
from bot.sandbox import SandboxServer, SentMessage
from bot.views import texts
from bot.views.buttons import Action, encode
from db.models import Assignment, Staff
from db.session import Database
from nlp.reader import ComplaintReader

REPORT = "东2段信件报刊积压三天了，用户很着急"
# After each reply: the update's commit, the outbox's card and the worker's next look.
SETTLE = 0.2
# How long each process is watched doing nothing.
IDLE = 10.0
IDLE_KIND = "doing nothing (per second)"

Act = Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class Kind:
    name: str
    act: Act
    before: Act | None = None  # not measured: what the update needs first


@dataclass(frozen=True)
class Figure:
    cpu_ms: float
    statements: int


async def measure(kind: Kind, rounds: int, seen: list[str] | None, profile: Path | None) -> Figure:
    for _ in range(3):
        if kind.before is not None:
            await kind.before()
        await kind.act()
    profiler = cProfile.Profile() if profile is not None else None
    cpu = 0.0
    statements = 0
    for _ in range(rounds):
        if kind.before is not None:
            await kind.before()
        await asyncio.sleep(SETTLE)
        if seen is not None:
            seen.clear()
        started = time.process_time()
        if profiler is not None:
            profiler.enable()
        await kind.act()
        await asyncio.sleep(SETTLE)
        if profiler is not None:
            profiler.disable()
        cpu += time.process_time() - started
        if seen is not None:
            statements += statement_count(seen)
    if profiler is not None and profile is not None:
        profiler.dump_stats(profile)
    return Figure(cpu / rounds * 1000, round(statements / rounds))


async def idle(database: Database | None) -> Figure:
    """CPU per second of the process while nobody writes (after a second to settle), and
    every statement it ran meanwhile (the outbox sender's too)."""
    await asyncio.sleep(1.0)
    statements = [0]

    def count(*_: object) -> None:
        statements[0] += 1

    engine = database.engine.sync_engine if database is not None else None
    if engine is not None:
        event.listen(engine, "before_cursor_execute", count)
    started = time.process_time()
    await asyncio.sleep(IDLE)
    cpu = time.process_time() - started
    if engine is not None:
        event.remove(engine, "before_cursor_execute", count)
    return Figure(cpu / IDLE * 1000, statements[0])


async def echo_bot(rounds: int, *, ours: bool = False) -> tuple[Figure, Figure]:
    """A text answered, and a second doing nothing; on PTB's default transport (httpx), or
    with ours, on the bot's (bot/app/transport.py)."""

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(update.effective_message.text or "")

    async with SandboxServer() as sandbox:
        builder = (
            ApplicationBuilder()
            .token(sandbox.token)
            .base_url(sandbox.base_url)
            .base_file_url(sandbox.base_file_url)
        )
        if ours:
            builder = builder.request(AiohttpRequest(connection_pool_size=256))
            builder = builder.get_updates_request(AiohttpRequest(connection_pool_size=1))
        application: Application = builder.build()  # type: ignore[type-arg]
        application.add_handler(MessageHandler(filters.TEXT, echo))
        user = sandbox.user(7_900_000_001, "用户")

        async def say() -> None:
            await user.send("你好")
            await user.reply(timeout=15)

        async with running(application, poll_timeout=1):
            return await measure(Kind("echo", say), rounds, None, None), await idle(None)


async def today_push(bot: Simulation, code: str) -> tuple[SentMessage, int]:
    """The inspector's morning push and the id of their first check."""
    inspector = bot.users[code]
    bot.clock.set(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    await bot.tick()
    (push,) = await inspector.replies(1)
    async with bot.db.session() as session:
        staff = (await session.exec(select(Staff).where(Staff.code == code))).one()
        first = (
            await session.exec(
                select(Assignment)
                .where(Assignment.inspector_id == staff.id)
                .order_by(col(Assignment.id))
            )
        ).first()
    assert first is not None and first.id is not None
    return push, first.id


async def our_bot(
    backend: str, rounds: int, reader: ComplaintReader, profile: Path | None
) -> dict[str, Figure]:
    with fresh_database(backend) as url, tempfile.TemporaryDirectory() as workdir:
        await import_sample_org(url)
        clock = ManualClock(datetime(2026, 11, 25, 7, 30, tzinfo=SHANGHAI))
        async with SandboxServer() as sandbox:
            settings = bench_settings(url, Path(workdir), sandbox)
            # One person answering at once: Telegram's one a second per chat would be the wait.
            unpaced = settings.rate_limits.model_copy(
                update={"chat_per_second": 1000.0, "chat_burst": 1000}
            )
            settings = settings.model_copy(update={"rate_limits": unpaced})
            async with simulate(settings, sandbox, clock, reader) as bot:
                return await kinds_measured(bot, rounds, profile, backend)


async def kinds_measured(
    bot: Simulation, rounds: int, profile: Path | None, backend: str
) -> dict[str, Figure]:
    clerk = await bot.register("C002")
    inspector = await bot.register("I003")
    push, first_check = await today_push(bot, "I003")
    draft: list[SentMessage] = []
    opened = [0]

    async def send_help() -> None:
        await clerk.send("/help")
        await clerk.reply(timeout=15)

    async def report() -> None:
        await clerk.send(REPORT)
        draft[:] = [await clerk.reply(timeout=15)]

    async def confirm() -> None:
        await clerk.press(texts.BUTTON_CONFIRM, message=draft[0])
        await clerk.edits(1, timeout=15)

    async def open_check() -> None:
        # Each time another of the morning's eleven checks: a button pressed again within
        # seconds is taken for a double tap and changes nothing (bot/presses.py).
        opened[0] = (opened[0] + 1) % 11
        await inspector.press_data(
            push.message_id, encode(Action.OPEN_CHECK, first_check + opened[0])
        )
        await inspector.reply(timeout=15)

    async def answer() -> None:
        await inspector.send("200")
        await inspector.reply(timeout=15)

    kinds = [
        Kind("/help", send_help),
        Kind("a complaint report", report),
        Kind("its confirmation (button)", confirm, before=report),
        Kind("opening a check (button)", open_check),
        Kind("a typed answer", answer, before=open_check),
    ]
    with recorded_statements(bot.db) as seen:
        figures = {}
        for n, kind in enumerate(kinds):
            path = profile / f"{backend}-{n}.prof" if profile is not None else None
            figures[kind.name] = await measure(kind, rounds, seen, path)
    figures[IDLE_KIND] = await idle(bot.db)
    return figures


async def main_async(args: argparse.Namespace) -> None:
    logging.getLogger("jieba").setLevel(logging.WARNING)
    reader = ComplaintReader.create()
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    echo, echo_idle = await echo_bot(args.rounds)
    print(f"bare PTB echo bot, a text: {echo.cpu_ms:.1f} ms CPU per update")
    print(f"bare PTB echo bot, {IDLE_KIND}: {echo_idle.cpu_ms:.1f} ms CPU")
    echo_ours, echo_ours_idle = await echo_bot(args.rounds, ours=True)
    print(f"the same on the bot's transport, a text: {echo_ours.cpu_ms:.1f} ms CPU per update")
    print(f"the same on the bot's transport, {IDLE_KIND}: {echo_ours_idle.cpu_ms:.1f} ms CPU")
    for backend in backends(args.db):
        for name, figure in (await our_bot(backend, args.rounds, reader, args.profile)).items():
            if name == IDLE_KIND:
                print(
                    f"our bot, {backend}, {name}: {figure.cpu_ms:.1f} ms CPU "
                    f"({figure.cpu_ms / echo_idle.cpu_ms:.1f}× echo), "
                    f"{figure.statements} statements in {IDLE:.0f} s"
                )
                continue
            print(
                f"our bot, {backend}, {name}: {figure.cpu_ms:.1f} ms CPU per update "
                f"({figure.cpu_ms / echo.cpu_ms:.1f}× echo), {figure.statements} statements"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--profile", type=Path, help="write a cProfile file per kind here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    run_bench(main_async(args))


if __name__ == "__main__":
    main()
