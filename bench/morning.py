"""Benchmark: a province's morning, paced: the 08:00 push, the inspectors' answers, complaints.

Run: .venv/bin/python bench/morning.py [--scale F] [--rate R] [--complaints-share S]
     [--instances N] [--db postgresql|sqlite] [--no-limits] [--seed N]

The generated province (db/province.py, every member of staff registered) on a fresh
database; the bot runs as `python -m bot run` builds it, in processes of its own
(bot/demo/processes.py: one receiver, N-1 worker instances), its clock standing at 08:00 on
a working Wednesday: at start it plans the day and queues the morning push to every
inspector with checks (about 2,000), which it sends while people answer.

A share F (default 0.05) of the inspectors among them work through their day: /today, then each
check: open it, answer every question (typed: a number, 是/否, an option, a word; /skip for
the optional photos; the answers come from the catalog's own rules, scheduler/check_flow.py),
confirm it. Counter staff (S, default 0.2, per inspector taking part) each report a complaint
and confirm its draft. Everyone's updates are paced to a schedule: R updates a second on
average (default 25, the issue's figure for a province's morning), rising evenly to a peak of
2·R in the middle and falling again; a person sends their next update at its time in the
schedule, or when the answer to their last one came if that is later. The real morning is
the same rate over two hours; F scales it down to minutes.

Prints the answer time (p50/p95), how far sending fell behind the schedule (the bot keeps
up when it does not), the push's delivery, and the same schedule (as many updates per person,
each a text) against a bare PTB echo bot on the same sandbox in the same run (the
reference). By default the sandbox enforces Telegram's limits (about 30 messages a second
overall): at a peak of 50 updates a second no bot can answer every one at once, the echo
bot (PTB's AIORateLimiter) neither. --no-limits: the sandbox enforces none and neither bot
paces itself (our [rate_limits] lifted, the echo bot without a limiter): what the bots
themselves hold, on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import os
import random
import re
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchkit import BENCH_NOW, ReplyWatcher, fresh_database, run_bench, until_ready
from sqlalchemy import BigInteger, literal, update
from sqlmodel import col, func, select
from telegram import Update
from telegram.ext import AIORateLimiter, ApplicationBuilder, ContextTypes, MessageHandler, filters
from updates import UNPACED, confident_reports, count_opened, sends

from bot.app.application import running
from bot.demo.processes import BotProcesses, bot_processes
from bot.sandbox import RateLimits, SandboxServer, SandboxUser, SentMessage
from bot.views import texts
from bot.views.buttons import Action, encode
from db.checks import decode_ids
from db.models import Assignment, AssignmentStatus, OutboxMessage, Staff
from db.org_import import import_org
from db.province import generate_province
from db.session import Database
from nlp.reader import ComplaintReader
from scheduler import check_flow
from scheduler.catalog import CatalogItem, Question, QuestionType, load_catalog
from scheduler.org import Role

MORNING = BENCH_NOW.replace(hour=8)  # the push goes at 08:00 (config.toml [time])
FIRST_USER = 7_700_000_000  # + staff id
START_TIMEOUT = 300.0  # a cold start that plans the province's day, on a loaded machine
ANSWER_TIMEOUT = 180.0

Step = Callable[[], Awaitable[None]]


@dataclass
class Person:
    user: SandboxUser
    steps: list[Step] = field(default_factory=list)


@dataclass(frozen=True)
class Paced:
    answers: tuple[float, ...]  # seconds from sending an update to its answer
    lags: tuple[float, ...]  # seconds each update was sent after its time in the schedule
    seconds: float  # from the first update's time to the last answer that came
    failures: tuple[str, ...]


# --- the schedule ---------------------------------------------------------------------------


def schedule(people: Sequence[Person], rate: float, rng: random.Random) -> list[list[float]]:
    """Each person's send times (seconds from the start): all updates' times drawn from a
    triangle over N / rate seconds (average ``rate``, peak twice that in the middle), dealt
    out in turn, so every person's own updates stay in order and evenly spread."""
    total = sum(len(p.steps) for p in people)
    span = total / rate
    times = sorted(rng.triangular(0, span, span / 2) for _ in range(total))
    slots: list[list[float]] = [[] for _ in people]
    dealt = iter(times)
    for k in range(max(len(p.steps) for p in people)):
        for n, person in enumerate(people):
            if k < len(person.steps):
                slots[n].append(next(dealt))
    return slots


async def run_paced(people: Sequence[Person], slots: Sequence[Sequence[float]]) -> Paced:
    answers: list[float] = []
    lags: list[float] = []
    failures: list[str] = []
    start = time.perf_counter()
    last = start

    async def play(person: Person, times: Sequence[float]) -> None:
        nonlocal last
        for step, at in zip(person.steps, times, strict=True):
            wait = start + at - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            sent = time.perf_counter()
            lags.append(max(0.0, sent - start - at))
            try:
                await step()
            except AssertionError as error:  # an unexpected answer: this person stops
                recent = " | ".join(m.content[:160] for m in person.user.messages[-4:])
                failures.append(f"{str(error)[:200]} … the last messages: {recent}")
                return
            last = time.perf_counter()
            answers.append(last - sent)

    await asyncio.gather(*(play(p, t) for p, t in zip(people, slots, strict=True)))
    return Paced(tuple(answers), tuple(lags), last - start, tuple(failures))


# --- what people send -----------------------------------------------------------------------


def candidates(question: Question) -> list[str]:
    """Replies to try, in order, for a question (the first that check_flow accepts is sent)."""
    match question.type:
        case QuestionType.YES_NO:
            tried = ["是", "否"]
        case QuestionType.CHOICE:
            tried = ["1"]
        case QuestionType.INTEGER:
            low = question.min if question.min is not None else 0
            high = question.max if question.max is not None else 10_000
            tried = [str(min(max(low, 20), high)), str(low), str(high)]
        case QuestionType.TEXT:
            tried = ["正常"]
        case QuestionType.PHOTO:
            tried = []
    return tried + (["/skip"] if question.optional else [])


def replies_for(item: CatalogItem, transfer_points: int | None) -> list[str]:
    """Replies that answer every question of the check, as the bot will ask them."""
    answers: dict[str, Any] = {}
    replies: list[str] = []
    while (question := check_flow.next_question(item, answers)) is not None:
        for text in candidates(question):
            result = (
                check_flow.skip(item, answers, question)
                if text == "/skip"
                else check_flow.accept(
                    item,
                    answers,
                    question,
                    check_flow.Reply(text=text),
                    assigned_transfer_points=transfer_points,
                )
            )
            if not isinstance(result, check_flow.Rejected):
                answers, replies = result, [*replies, text]
                break
        else:
            raise ValueError(f"{item.id}: no reply fits question {question.id}")
    return replies


QUESTION = re.compile(r"第 \d+/\d+ 题：")


def is_question(message: SentMessage) -> bool:
    """The next question or the summary (not, say, a 整改通知 whose "问题：" arrives meanwhile)."""
    return QUESTION.search(message.content) is not None or "请核对您的回答" in message.content


def inspector(
    user: SandboxUser, watcher: ReplyWatcher, checks: Sequence[tuple[int, list[str]]]
) -> Person:
    """/today, then each check opened, answered and confirmed; each step awaits its answer."""
    overview: list[int] = []

    async def exchange(act: Callable[[], Awaitable[object]], accept: Callable[..., bool]) -> None:
        since = len(user.messages)
        await act()
        await watcher.until_sent(user, since, accept, ANSWER_TIMEOUT)

    async def today() -> None:
        since = len(user.messages)
        await user.send("/today")
        reply = await watcher.until_sent(
            user, since, lambda m: m.content.startswith("今日检查"), ANSWER_TIMEOUT
        )
        overview.append(reply.message_id)

    def opening(assignment_id: int) -> Step:
        data = encode(Action.OPEN_CHECK, assignment_id)
        return lambda: exchange(lambda: user.press_data(overview[-1], data), is_question)

    def answering(text: str) -> Step:
        return lambda: exchange(lambda: user.send(text), is_question)

    async def confirm() -> None:
        # The summary pressed is edited into the confirmation, or it comes as a new message.
        summary = next(
            m for m in reversed(user.messages) if texts.BUTTON_SUBMIT_CHECK in m.button_texts
        )
        since = user.messages.index(summary)
        await user.press(texts.BUTTON_SUBMIT_CHECK, message=summary)
        await watcher.until_sent(user, since, lambda m: "已提交" in m.content, ANSWER_TIMEOUT)

    def confirming() -> Step:
        return confirm

    steps: list[Step] = [today]
    for assignment_id, replies in checks:
        steps += [opening(assignment_id), *map(answering, replies), confirming()]
    return Person(user, steps)


def reporter(user: SandboxUser, watcher: ReplyWatcher, report: str) -> Person:
    """A complaint: the text, its draft awaited; 确认提交, the confirmation awaited."""
    drafts: list[SentMessage] = []

    async def send() -> None:
        since = len(user.messages)
        await user.send(report)
        drafts.append(
            await watcher.until_sent(
                user, since, lambda m: texts.BUTTON_CONFIRM in m.button_texts, ANSWER_TIMEOUT
            )
        )

    async def confirm() -> None:
        # The draft is edited into the submitted complaint, or that comes as a new message.
        since = user.messages.index(drafts[-1])
        await user.press(texts.BUTTON_CONFIRM, message=drafts[-1])
        await watcher.until_sent(user, since, lambda m: "已提交" in m.content, ANSWER_TIMEOUT)

    return Person(user, [send, confirm])


def echoing(user: SandboxUser, watcher: ReplyWatcher, count: int) -> Person:
    async def say(n: int) -> None:
        since = len(user.messages)
        await user.send(f"第{n}条消息")
        await watcher.until_sent(user, since, lambda m: True, ANSWER_TIMEOUT)

    return Person(user, [functools.partial(say, n) for n in range(count)])


# --- the province ---------------------------------------------------------------------------


async def seed_province(url: str) -> None:
    """The generated province, every member of staff bound to a Telegram account (as /start
    with an invite would do: the bench is about the morning)."""
    database = Database(url)
    try:
        async with database.session() as session:
            rows = generate_province()
            await import_org(rows, labels=texts.IMPORT_LABELS, session=session, now=MORNING)
        async with database.session() as session:
            await session.exec(
                update(Staff).values(
                    telegram_user_id=literal(FIRST_USER, BigInteger) + col(Staff.id),
                    registered_at=MORNING,
                )
            )
    finally:
        await database.close()


async def pushed(database: Database) -> int:
    """Morning pushes queued so far (the start-up run of a process queues them)."""
    async with database.session() as session:
        statement = select(func.count()).where(col(OutboxMessage.key).startswith("morning:"))
        return int((await session.exec(statement)).one())


async def todays_checks(database: Database, role: Role) -> dict[int, list[Assignment]]:
    """The day's assignments of staff in ``role`` by Telegram id, in the order /today lists
    them."""
    async with database.session() as session:
        statement = (
            select(Assignment, Staff.telegram_user_id)
            .join(Staff, col(Staff.id) == col(Assignment.inspector_id))
            .where(Assignment.day == MORNING.date(), Staff.role == role)
            .order_by(col(Assignment.id))
        )
        by_chat: dict[int, list[Assignment]] = defaultdict(list)
        for assignment, chat_id in (await session.exec(statement)).all():
            if chat_id is not None:
                by_chat[chat_id].append(assignment)
        return by_chat


async def staff_chats(database: Database) -> list[tuple[int, str]]:
    async with database.session() as session:
        statement = select(Staff.telegram_user_id, Staff.name)
        return [(chat, name) for chat, name in (await session.exec(statement)).all() if chat]


async def clerk_chats(database: Database) -> list[int]:
    async with database.session() as session:
        statement = select(Staff.telegram_user_id).where(Staff.role == Role.COUNTER_STAFF)
        return sorted(chat for chat in (await session.exec(statement)).all() if chat)


async def count_done(database: Database, assignment_ids: Sequence[int]) -> int:
    async with database.session() as session:
        statement = select(func.count()).where(
            col(Assignment.id).in_(assignment_ids), Assignment.status == AssignmentStatus.DONE
        )
        return int((await session.exec(statement)).one())


@dataclass(frozen=True)
class Morning:
    paced: Paced
    counts: tuple[int, ...]  # updates of each person, in the schedule's order
    inspectors: int
    with_checks: int  # staff pushed their checks
    checks: int
    checks_done: int
    complaints: int
    complaints_opened: int
    push_seconds: float | None  # from the burst's start until the last push was delivered
    refused: int
    # Messages and edits to the people taking part while they took part (each paced as a send).
    sends: int

    @property
    def updates(self) -> int:
        return sum(self.counts)


async def our_morning(args: argparse.Namespace, reports: Sequence[str], workdir: Path) -> Morning:
    rng = random.Random(args.seed)
    catalog = {item.id: item for item in load_catalog()}
    with fresh_database(args.db) as url:
        await seed_province(url)
        database = Database(url)
        limits = RateLimits()
        try:
            async with (
                SandboxServer(policy=None if args.no_limits else limits) as sandbox,
                AsyncExitStack() as stack,
            ):
                # Everyone has a chat with the bot (the push goes to every inspector).
                users = {
                    chat_id: sandbox.user(chat_id, name)
                    for chat_id, name in await staff_chats(database)
                }
                everyone: list[BotProcesses] = []
                for number in range(1, args.instances + 1):
                    mode = "polling" if number == 1 else "worker"
                    processes = bot_processes(
                        sandbox,
                        url,
                        workdir / f"bot-{number}",
                        MORNING,
                        mode,
                        rate_limits=UNPACED if args.no_limits else None,
                    )
                    everyone.append(await stack.enter_async_context(processes))
                for bots in everyone:
                    await bots.start()
                await until_ready(everyone, START_TIMEOUT)
                async with asyncio.timeout(START_TIMEOUT):
                    while not await pushed(database):
                        await asyncio.sleep(0.5)
                push_count = await pushed(database)
                # Inspectors: the handlers holding a duty (函件专业, 报刊专业) get checks too,
                # but /today and /skip are the inspectors' commands (bot/permissions.py).
                by_chat = await todays_checks(database, Role.INSPECTOR)
                taking_part = sorted(rng.sample(sorted(by_chat), round(args.scale * len(by_chat))))
                clerks = rng.sample(
                    await clerk_chats(database), round(args.complaints_share * len(taking_part))
                )
                async with ReplyWatcher(sandbox) as watcher:
                    people = [
                        inspector(
                            users[chat_id],
                            watcher,
                            [
                                (
                                    assignment.id or 0,
                                    replies_for(
                                        catalog[assignment.item_id],
                                        len(decode_ids(assignment.transfer_point_ids)) or None,
                                    ),
                                )
                                for assignment in by_chat[chat_id]
                            ],
                        )
                        for chat_id in taking_part
                    ]
                    people += [
                        reporter(users[chat_id], watcher, reports[n])
                        for n, chat_id in enumerate(clerks)
                    ]
                    rng.shuffle(people)
                    chats = {str(person.user.chat_id) for person in people}
                    before = len(sends(sandbox))
                    started = time.monotonic()
                    paced = await run_paced(people, schedule(people, args.rate, rng))
                    sent = sum(
                        1
                        for call in sends(sandbox)[before:]
                        if str(call.params.get("chat_id")) in chats
                    )
                    push_seconds = await until_pushes(sandbox, push_count, started)
                for bots in everyone:
                    await bots.stop()
            ids = [a.id or 0 for chat_id in taking_part for a in by_chat[chat_id]]
            checks_done = await count_done(database, ids)
            opened = await count_opened(database)
        finally:
            await database.close()
    return Morning(
        paced,
        tuple(len(p.steps) for p in people),
        len(taking_part),
        push_count,
        len(ids),
        checks_done,
        len(clerks),
        opened,
        push_seconds,
        limits.total_refused,
        sent,
    )


async def until_pushes(sandbox: SandboxServer, count: int, started: float) -> float | None:
    """Seconds from ``started`` (time.monotonic, the sandbox's clock) until every push was
    delivered (None: not within a minute after the people were done)."""
    try:
        async with asyncio.timeout(60):
            while True:
                delivered = [c for c in sends(sandbox) if "早上好" in str(c.params.get("text"))]
                if len(delivered) >= count:
                    return max(c.at for c in delivered) - started
                await asyncio.sleep(0.5)
    except TimeoutError:
        return None


async def echo_morning(args: argparse.Namespace, counts: Sequence[int]) -> Paced:
    """The same schedule against a bare PTB echo bot: as many people, as many updates each."""

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(update.effective_message.text or "")

    async with SandboxServer(policy=None if args.no_limits else RateLimits()) as sandbox:
        builder: Any = (
            ApplicationBuilder()
            .token(sandbox.token)
            .base_url(sandbox.base_url)
            .base_file_url(sandbox.base_file_url)
        )
        if not args.no_limits:
            builder = builder.rate_limiter(AIORateLimiter(max_retries=10))
        application = builder.build()
        application.add_handler(MessageHandler(filters.TEXT, echo))
        async with running(application, poll_timeout=1), ReplyWatcher(sandbox) as watcher:
            people = [
                echoing(sandbox.user(FIRST_USER + n, f"用户{n}"), watcher, count)
                for n, count in enumerate(counts)
            ]
            return await run_paced(people, schedule(people, args.rate, random.Random(args.seed)))


def describe(label: str, paced: Paced, updates: int) -> str:
    answers = statistics.quantiles(paced.answers, n=100, method="inclusive")
    lags = statistics.quantiles(paced.lags, n=100, method="inclusive")
    keeps_up = "keeps up" if lags[94] < 2.0 else "falls behind"
    failed = f"; {len(paced.failures)} people stopped on an unexpected answer" * bool(
        paced.failures
    )
    return (
        f"{label}: {updates:,} updates in {paced.seconds:.0f} s; answer after "
        f"{answers[49]:.2f} s (p50), {answers[94]:.2f} s (p95); sent behind schedule "
        f"{lags[49]:.2f} s (p50), {lags[94]:.2f} s (p95), {max(paced.lags):.1f} s at worst: "
        f"{keeps_up}{failed}"
    )


async def main_async(args: argparse.Namespace) -> None:
    logging.getLogger("jieba").setLevel(logging.WARNING)
    reports = confident_reports(ComplaintReader.create(), 400)
    with tempfile.TemporaryDirectory(prefix="bench-morning-") as directory:
        ours = await our_morning(args, reports, Path(directory))
    # The reference plays the same schedule: as many people with as many updates each.
    echo = await echo_morning(args, ours.counts)
    condition = "no limits at the sandbox" if args.no_limits else "Telegram's limits enforced"
    span = ours.updates / args.rate
    lines = [
        f"province morning ×{args.scale}: {ours.inspectors} inspectors (of the "
        f"{ours.with_checks} staff pushed their checks) answer {ours.checks} checks, "
        f"{ours.complaints} complaints; "
        f"{ours.updates:,} updates over {span:.0f} s (average {args.rate:g}/s, peak "
        f"{2 * args.rate:g}/s); {condition}; {args.instances} instance(s), {args.db}; "
        f"{os.cpu_count()} cores shared with other work",
        describe("bare PTB echo bot, same schedule", echo, ours.updates),
        describe("our bot", ours.paced, ours.updates)
        + f"; checks done {ours.checks_done}/{ours.checks}, complaints opened "
        f"{ours.complaints_opened}/{ours.complaints}; the push to {ours.with_checks} "
        + (
            f"all delivered {ours.push_seconds:.0f} s after the first update"
            if ours.push_seconds is not None
            else "not all delivered a minute after the last answer"
        )
        + f"; {ours.refused} × 429; {ours.sends:,} sends (messages and edits) to the people "
        f"taking part, {ours.sends / ours.updates:.2f} per update",
    ]
    for failure in ours.paced.failures[:3]:
        lines.append(f"  e.g. {failure}")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.05, help="share of inspectors answering")
    parser.add_argument("--rate", type=float, default=25.0, help="updates a second on average")
    parser.add_argument(
        "--complaints-share", type=float, default=0.2, help="complaints per inspector answering"
    )
    parser.add_argument("--instances", type=int, default=1)
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--no-limits", action="store_true", help="the sandbox enforces none")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    if args.db == "sqlite" and args.instances > 1:
        parser.error("several instances need PostgreSQL")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    started = time.perf_counter()
    run_bench(main_async(args))
    print(f"(bench ran {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
