"""Benchmark: a burst of conversations, our bot against a bare PTB echo bot.

Run: .venv/bin/python bench/updates.py [--users N] [--reports K] [--db sqlite|postgresql|both]
     [--quick]

N registered counter staff (default 200) each report K complaints (default 2) at once,
through the sandbox Bot API: each sends the free-text report, waits for the draft, presses
"确认提交" and waits for the confirmation, so 2·K updates per person, each answered (the
report read by jieba and the classifier, the draft and complaint stored, routed, the handler's
card queued in the outbox). Prints updates per second from the first report to the last
confirmation, on SQLite and PostgreSQL, and the same burst (2·K text messages per person,
each awaited) against a bare python-telegram-bot echo bot — one Application, one
MessageHandler that replies — on the same sandbox, in the same run; the ratio is the figure.

Both run twice: with the sandbox enforcing Telegram's flood limits (RateLimits: about 30
messages a second overall, one a second per chat with short bursts, 429 beyond) and without.
Under limits our bot paces itself as in production (bot/ratelimit.py, replies before the
outbox's cards) and the echo bot uses PTB's own AIORateLimiter (without one its replies would
be lost to 429s); without limits neither paces itself (ours with its [rate_limits] at their
highest), so the figure is what the bot can handle, not what its budget lets out.
Bot, sandbox and simulated people share one Python process and its event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchkit import (
    BENCH_NOW,
    ReplyWatcher,
    backends,
    bench_settings,
    fresh_database,
    generate_org,
    postgres_cpu_seconds,
    postgres_cpu_since,
    run_bench,
)
from sqlmodel import col, func, select
from telegram import Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.app.application import running
from bot.clock import ManualClock
from bot.demo.simulation import simulate
from bot.sandbox import CallRecord, RateLimits, SandboxServer, SandboxUser
from bot.settings import RateLimitsSection
from bot.views import texts
from db.models import Complaint, ComplaintStatus, Staff
from db.org_import import import_org, read_org_file
from db.session import Database
from nlp.corpus import load_corpus
from nlp.reader import ComplaintReader

FIRST_USER = 7_500_000_001
# Without Telegram's limits: our pacing out of the way, as the echo bot has none.
UNPACED = RateLimitsSection(
    overall_per_second=1000, overall_burst=1000, chat_per_second=1000, chat_burst=1000
)


@dataclass(frozen=True)
class Result:
    updates: int
    seconds: float
    sends: int  # messages and edits the bot got through to people (each is paced as a send)
    refused: int  # 429s
    waits: tuple[float, ...]  # seconds each person waited for each answer
    cards_seconds: float | None = None  # until the last handler's card (outbox) arrived
    # CPU of the whole process (bot, sandbox and simulated people) during the burst.
    cpu_seconds: float = 0.0
    # CPU of the PostgreSQL server's processes serving the bot during the burst.
    server_cpu_seconds: float | None = None

    @property
    def per_second(self) -> float:
        return self.updates / self.seconds


def confident_reports(reader: ComplaintReader, count: int) -> list[str]:
    """Corpus texts the classifier is sure of and that praise nobody, so every draft offers
    "确认提交" (praise is offered as a 亮点 instead)."""
    reports = []
    for example in load_corpus():
        text = example.text
        if not 6 <= len(text) <= 500 or text.startswith("/"):
            continue
        reading = reader.read(text)
        if not reading.classification.low_confidence and not reading.praise:
            reports.append(text)
        if len(reports) == count:
            break
    return reports


SENDS = frozenset({"sendMessage", "editMessageText", "editMessageReplyMarkup"})


def sends(sandbox: SandboxServer) -> list[CallRecord]:
    return [c for c in sandbox.calls if c.ok and c.method in SENDS]


Script = Callable[[int, SandboxUser], Awaitable[None]]


async def burst(users: Sequence[SandboxUser], script: Script) -> float:
    started = time.perf_counter()
    await asyncio.gather(*(script(n, user) for n, user in enumerate(users)))
    return time.perf_counter() - started


async def register_directly(database: Database, codes: Sequence[str]) -> dict[str, int]:
    """Bind staff to Telegram accounts as /start with an invite would (the bench is about
    what comes after); returns their Telegram user ids."""
    ids: dict[str, int] = {}
    async with database.session() as session:
        rows = await session.exec(select(Staff).where(col(Staff.code).in_(codes)))
        for staff in rows.all():
            staff.telegram_user_id = FIRST_USER + codes.index(staff.code)
            staff.registered_at = BENCH_NOW
            ids[staff.code] = staff.telegram_user_id
            session.add(staff)
    return ids


async def seed_org(
    url: str, workdir: Path, users: int
) -> tuple[list[str], list[str], dict[str, int]]:
    """A generated organisation with at least ``users`` counter staff, imported; those staff
    and every handler registered. Returns the clerks' and handlers' codes and Telegram ids."""
    counties = -(-users // 20)  # ceil: enough counter staff
    org = generate_org(cities=1, counties_per_city=counties, sites_per_county=4, clerks_per_site=5)
    clerk_codes = org.clerks[:users]
    database = Database(url)
    async with database.session() as session:
        rows = read_org_file(org.write_csv(workdir / "org.csv"))
        await import_org(rows, labels=texts.IMPORT_LABELS, session=session, now=BENCH_NOW)
    telegram_ids = await register_directly(database, [*clerk_codes, *org.handlers])
    await database.close()
    return clerk_codes, org.handlers, telegram_ids


def reporting(
    watcher: ReplyWatcher, reports: Sequence[str], per_person: int, waits: list[float]
) -> Script:
    """Each person reports ``per_person`` complaints one after the other: the text, the
    draft awaited, "确认提交" pressed, the confirmation awaited (the draft edited into it, or
    a message of its own); every wait noted."""

    async def report(n: int, clerk: SandboxUser) -> None:
        for k in range(per_person):
            since = len(clerk.messages)
            sent = time.perf_counter()
            await clerk.send(reports[(n * per_person + k) % len(reports)])
            draft = await watcher.until_sent(clerk, since, lambda m: True)
            waits.append(time.perf_counter() - sent)
            if texts.BUTTON_CONFIRM not in draft.button_texts:
                raise AssertionError(f"no confirm button: {draft.describe()}")
            pressed = time.perf_counter()
            await clerk.press(texts.BUTTON_CONFIRM, message=draft)
            await watcher.until_sent(clerk, since, lambda m: "已提交" in m.content)
            waits.append(time.perf_counter() - pressed)

    return report


async def until_cards(handlers: Sequence[SandboxUser], expected: int, timeout: float) -> None:
    """Until the handlers have their ``expected`` cards (the outbox sends them)."""
    async with asyncio.timeout(timeout):
        while sum(len(h.messages) for h in handlers) < expected:
            await asyncio.sleep(0.05)


async def count_opened(database: Database) -> int:
    async with database.session() as session:
        statement = select(func.count()).where(Complaint.status == ComplaintStatus.OPEN)
        return int((await session.exec(statement)).one())


async def our_bot(
    backend: str,
    args: argparse.Namespace,
    reader: ComplaintReader,
    reports: Sequence[str],
    *,
    limited: bool,
) -> Result:
    with fresh_database(backend) as url, tempfile.TemporaryDirectory() as workdir:
        clerk_codes, handler_codes, telegram_ids = await seed_org(url, Path(workdir), args.users)
        limits = RateLimits()
        async with SandboxServer(policy=limits if limited else None) as sandbox:
            clerks = [sandbox.user(telegram_ids[code], code) for code in clerk_codes]
            handlers = [sandbox.user(telegram_ids[code], code) for code in handler_codes]
            settings = bench_settings(url, Path(workdir), sandbox)
            if not limited:
                settings = settings.model_copy(update={"rate_limits": UNPACED})
            async with (
                simulate(settings, sandbox, ManualClock(BENCH_NOW), reader, checks=False) as bot,
                ReplyWatcher(sandbox) as watcher,
            ):
                waits: list[float] = []
                before = len(sends(sandbox))
                started = time.perf_counter()
                server = postgres_cpu_seconds() if backend == "postgresql" else None
                cpu = time.process_time()
                seconds = await burst(clerks, reporting(watcher, reports, args.reports, waits))
                cpu = time.process_time() - cpu
                server_cpu = postgres_cpu_since(server) if server is not None else None
                sent = len(sends(sandbox)) - before
                cards_expected = len(clerks) * args.reports
                await until_cards(handlers, cards_expected, seconds + 300)
                cards_seconds = time.perf_counter() - started
                opened = await count_opened(bot.db)
        assert opened == cards_expected, (opened, cards_expected)
    updates = len(clerks) * args.reports * 2
    return Result(
        updates, seconds, sent, limits.total_refused, tuple(waits), cards_seconds, cpu, server_cpu
    )


async def echo_bot(args: argparse.Namespace, *, limited: bool) -> Result:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(update.effective_message.text or "")

    limits = RateLimits()
    async with SandboxServer(policy=limits if limited else None) as sandbox:
        builder: Any = (
            ApplicationBuilder()
            .token(sandbox.token)
            .base_url(sandbox.base_url)
            .base_file_url(sandbox.base_file_url)
        )
        if limited:
            builder = builder.rate_limiter(AIORateLimiter(max_retries=10))
        application: Application = builder.build()  # type: ignore[type-arg]
        application.add_handler(MessageHandler(filters.TEXT, echo))
        users = [sandbox.user(FIRST_USER + n, f"用户{n}") for n in range(args.users)]
        async with running(application, poll_timeout=1), ReplyWatcher(sandbox) as watcher:
            waits: list[float] = []

            async def chat(n: int, user: SandboxUser) -> None:
                for k in range(2 * args.reports):
                    sent = time.perf_counter()
                    await user.send(f"第{k + 1}条消息")
                    await watcher.until(user, k + 1)
                    waits.append(time.perf_counter() - sent)

            cpu = time.process_time()
            seconds = await burst(users, chat)
            cpu = time.process_time() - cpu
            sent = len(sends(sandbox))
    updates = args.users * 2 * args.reports
    return Result(updates, seconds, sent, limits.total_refused, tuple(waits), None, cpu)


def describe(label: str, result: Result) -> str:
    cards = (
        f", handlers' cards all in by {result.cards_seconds:.1f} s"
        if result.cards_seconds is not None
        else ""
    )
    waits = statistics.quantiles(result.waits, n=100, method="inclusive")
    per_update = result.cpu_seconds / result.updates * 1000
    server_per_update = (result.server_cpu_seconds or 0.0) / result.updates * 1000
    server = (
        f" + PostgreSQL's server {server_per_update:.1f} ms"
        if result.server_cpu_seconds is not None
        else ""
    )
    # What the CPU per update allows at most, were the cores all this run's.
    ceiling = (os.cpu_count() or 1) / (per_update + server_per_update) * 1000
    return (
        f"{label}: {result.updates:,} updates in {result.seconds:.1f} s = "
        f"{result.per_second:.1f} updates/s; each answer came after {waits[49]:.1f} s "
        f"(median), {waits[94]:.1f} s (p95); {result.sends:,} sends (messages and edits, "
        f"{result.sends / result.updates:.2f} per update, {result.sends / result.seconds:.1f}/s), "
        f"{result.refused} × 429{cards}; "
        f"CPU {per_update:.1f} ms per update (whole process){server}: "
        f"{os.cpu_count()} cores hold at most {ceiling:.0f} updates/s"
    )


async def main_async(args: argparse.Namespace) -> None:
    logging.getLogger("jieba").setLevel(logging.WARNING)
    reader = ComplaintReader.create()
    reports = confident_reports(reader, 60)
    summary = []
    for limited in (True, False):
        condition = "Telegram's limits enforced" if limited else "no limits"
        echo = await echo_bot(args, limited=limited)
        lines = [f"{condition}: {describe('bare PTB echo bot', echo)}"]
        print(lines[0])
        for backend in backends(args.db):
            ours = await our_bot(backend, args, reader, reports, limited=limited)
            ratio = ours.per_second / echo.per_second
            lines.append(f"{condition}: {describe(f'our bot, {backend}', ours)}; {ratio:.2f}× echo")
            print(lines[-1])
        summary.extend(lines)
    print()
    print("\n".join(summary))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--reports", type=int, default=2, help="complaints each person reports")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="50 people, 2 reports each")
    args = parser.parse_args()
    if args.quick:
        args.users, args.reports = 50, 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    run_bench(main_async(args))


if __name__ == "__main__":
    main()
