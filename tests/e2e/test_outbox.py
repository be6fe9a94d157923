"""The outbox against a misbehaving Telegram: faults, 429s, flood limits, blocked users,
restarts and a second instance. Every message is counted where it lands: at the sandbox."""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from collections.abc import Sequence

import pytest
import telegram
from sqlalchemy import event
from sqlmodel import col, select
from telegram.ext import ExtBot

from bot.clock import ManualClock
from bot.ratelimit import PriorityRateLimiter
from bot.sandbox import (
    ApiCall,
    ApiReply,
    CallRecord,
    Fault,
    FaultInjector,
    RateLimits,
    SandboxServer,
    SandboxUser,
)
from bot.sandbox.samples import png
from bot.settings import RateLimitsSection, Settings
from bot.usecases.outbox import OutboxSender, SenderLimits
from db.models import OutboxMessage
from db.outbox import enqueue_message
from db.session import Database
from nlp.reader import ComplaintReader
from tests.e2e.harness import Harness, run_bot

FIRST_CHAT = 8_100_000_001


def chats(sandbox: SandboxServer, count: int) -> list[SandboxUser]:
    return [sandbox.user(FIRST_CHAT + i, f"收件人{i}") for i in range(count)]


async def queue(
    database: Database,
    clock: ManualClock,
    messages: Sequence[tuple[int, str]],
    *,
    media: bool = False,
) -> None:
    """One transaction queueing (chat, text) messages; with media, every fifth is a photo
    and every seventh a document, so all three ways of sending are exercised."""
    async with database.session() as session:
        for index, (chat_id, text) in enumerate(messages):
            photo = png(8, 8) if media and index % 5 == 4 else None
            document = b"report" if media and index % 7 == 6 and photo is None else None
            await enqueue_message(
                session=session,
                key=f"test:{chat_id}:{text}",
                chat_id=chat_id,
                text=text,
                now=clock.now(),
                buttons=[[("打开", f"kopen:{index + 1}")]] if index % 2 else None,
                photo=photo,
                document=document,
                document_name="报告.xlsx" if document else None,
            )


async def outbox_rows(database: Database) -> list[OutboxMessage]:
    async with database.session() as session:
        rows = await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))
        return list(rows.all())


def delivered(sandbox: SandboxServer) -> list[CallRecord]:
    methods = ("sendMessage", "sendPhoto", "sendDocument")
    return [c for c in sandbox.calls if c.ok and c.method in methods]


async def test_ten_percent_faults_and_every_row_arrives_exactly_once_in_order(
    quiet_bot: Harness, sandbox: SandboxServer, clock: ManualClock
) -> None:
    injector = FaultInjector(0.1, seed=11)
    sandbox.policy = injector
    recipients = chats(sandbox, 40)
    plan = [(user.id, f"第{n}条：今日检查任务") for n in range(1, 4) for user in recipients]
    await queue(quiet_bot.db, clock, plan, media=True)

    for user in recipients:
        received = await user.replies(3, timeout=30)
        assert [m.content for m in received] == [f"第{n}条：今日检查任务" for n in (1, 2, 3)]
    await asyncio.gather(*(user.no_reply(within=0.5) for user in recipients))

    assert len(delivered(sandbox)) == len(plan)
    assert set(injector.injected) == set(Fault), injector.injected
    failed_calls = [c for c in sandbox.calls if not c.ok]
    assert len(failed_calls) == injector.total >= 10
    rows = await outbox_rows(quiet_bot.db)
    assert all(r.sent_at is not None and r.failed_at is None for r in rows)
    assert sum(r.attempts for r in rows) > 0  # failures were recorded on the rows
    kinds = Counter(c.method for c in delivered(sandbox))
    assert kinds["sendPhoto"] > 0 and kinds["sendDocument"] > 0


async def test_a_429_holds_only_its_chat_for_retry_after(
    paced_bot: Harness, sandbox: SandboxServer, clock: ManualClock
) -> None:
    first, *others = chats(sandbox, 4)
    limited = asyncio.Event()
    refused_at: list[float] = []

    async def flood_once(call: ApiCall) -> ApiReply | None:
        if call.method == "sendMessage" and not refused_at:
            refused_at.append(call.at)
            limited.set()
            return ApiReply.too_many_requests(2)
        return None

    sandbox.policy = flood_once
    await queue(paced_bot.db, clock, [(first.id, "第一条")])
    await asyncio.wait_for(limited.wait(), 5)
    await queue(paced_bot.db, clock, [(user.id, "其他人") for user in others])

    for user in (first, *others):
        await user.reply(timeout=10)
    arrivals = {int(c.params["chat_id"]): c.at for c in delivered(sandbox)}
    assert len(arrivals) == 4
    assert arrivals[first.id] >= refused_at[0] + 2.0
    assert all(arrivals[user.id] < refused_at[0] + 2.0 for user in others)


async def test_flood_limits_are_kept_without_429s(
    paced_bot: Harness, sandbox: SandboxServer, clock: ManualClock
) -> None:
    limits = RateLimits()
    sandbox.policy = limits
    busy = chats(sandbox, 50)
    plan = [(user.id, f"第{n}条") for n in range(1, 5) for user in busy[:10]]
    plan += [(user.id, "第1条") for user in busy[10:]]
    await queue(paced_bot.db, clock, plan)

    for user in busy[:10]:
        await user.replies(4, timeout=15)
    for user in busy[10:]:
        await user.reply(timeout=15)
    assert limits.total_refused == 0, limits.refused
    assert limits.allowed == len(delivered(sandbox)) == len(plan)
    for user in busy[:10]:
        times = [c.at for c in delivered(sandbox) if int(c.params["chat_id"]) == user.id]
        # A chat's burst of two, then one a second (as sent; arrivals may bunch a little).
        assert times[-1] - times[0] >= 1.5, times


async def test_a_reply_overtakes_the_morning_push(
    paced_bot: Harness, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """The push to 150 chats takes five seconds at Telegram's 30 a second; someone who asks
    meanwhile is answered at once, and the push loses nothing."""
    inspector = await paced_bot.register("I003")
    limits = RateLimits()
    sandbox.policy = limits
    recipients = chats(sandbox, 150)
    await queue(paced_bot.db, clock, [(user.id, "今日检查任务") for user in recipients])
    while len(delivered(sandbox)) < 20:
        await asyncio.sleep(0.02)
    await inspector.send("/help")
    await inspector.reply(timeout=10)
    answer = [c for c in delivered(sandbox) if int(c.params["chat_id"]) == inspector.id][-1]
    for user in recipients:
        await user.reply(timeout=15)
    pushed = sorted(c.at for c in delivered(sandbox) if int(c.params["chat_id"]) != inspector.id)
    assert len(pushed) == 150
    assert answer.at < pushed[-40]
    assert limits.total_refused == 0, limits.refused


async def test_a_blocked_user_is_marked_and_the_manager_told_once(bot: Harness) -> None:
    """Telegram's own update says so; a blocking found by a refused send is the same one."""
    inspector = await bot.register("I003")
    manager = await bot.register("M003")
    city_manager = await bot.register("M002")
    await inspector.block()
    (notice,) = await manager.replies(1, timeout=10)
    assert "陈明" in notice.content and "已屏蔽本机器人" in notice.content
    assert "13904710008" in notice.content
    assert (await bot.staff("I003")).blocked_bot_at == bot.clock.now()

    await queue(bot.db, bot.clock, [(inspector.id, f"提醒{n}") for n in range(3)])
    await manager.no_reply(within=1.0)
    await city_manager.no_reply(within=0.1)
    rows = [r for r in await outbox_rows(bot.db) if r.chat_id == inspector.id]
    assert len(rows) == 3 and all(r.failed_at is not None for r in rows)
    assert all("blocked" in (r.last_error or "") for r in rows)

    await inspector.unblock()
    await inspector.send("/help")
    await inspector.reply()
    assert (await bot.staff("I003")).blocked_bot_at is None
    await inspector.block()
    (again,) = await manager.replies(1, timeout=10)
    assert again.content == notice.content  # a new blocking, a new notice


async def test_a_refused_send_reveals_a_blocking_telegram_did_not_announce(
    bot: Harness,
) -> None:
    """Updates can be missed (the bot was down past Telegram's 24 h, or the blocking came
    before the bot asked for such updates): the first 403 tells the manager instead."""
    inspector = await bot.register("I003")
    manager = await bot.register("M003")
    await inspector.block(announce=False)
    await queue(bot.db, bot.clock, [(inspector.id, f"提醒{n}") for n in range(3)])
    (notice,) = await manager.replies(1, timeout=10)
    assert "已屏蔽本机器人" in notice.content
    await manager.no_reply(within=1.0)
    assert (await bot.staff("I003")).blocked_bot_at == bot.clock.now()


async def test_a_restart_delivers_what_was_left_unsent(
    settings: Settings,
    database: Database,
    sandbox: SandboxServer,
    clock: ManualClock,
    reader: ComplaintReader,
    sample_org: None,
) -> None:
    recipients = chats(sandbox, 5)

    async def telegram_down(call: ApiCall) -> ApiReply | None:
        return ApiReply.error(502, "Bad Gateway") if call.method == "sendMessage" else None

    sandbox.policy = telegram_down
    async with run_bot(settings, sandbox, clock, reader, checks=False) as first:
        await queue(first.db, clock, [(u.id, f"第{n}条") for n in (1, 2) for u in recipients])
        async with asyncio.timeout(10):
            while len(sandbox.calls_to("sendMessage")) < len(recipients):
                await asyncio.sleep(0.05)
    rows = await outbox_rows(database)
    assert all(r.sent_at is None for r in rows) and any(r.attempts for r in rows)

    sandbox.policy = None
    async with run_bot(settings, sandbox, clock, reader, checks=False):
        for user in recipients:
            assert [m.content for m in await user.replies(2, timeout=10)] == ["第1条", "第2条"]
        await asyncio.gather(*(user.no_reply(within=0.5) for user in recipients))
    assert len(delivered(sandbox)) == 10


async def _crash(sender: OutboxSender) -> None:
    """What kill -9 leaves behind: tasks gone, claims in the table, the database connection
    that held the sender's lock cut (PostgreSQL then drops the lock)."""
    tasks = [t for t in (sender._task, sender._marker, *sender._workers.values()) if t is not None]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if sender._lock is not None:
        await sender._lock.invalidate()
        await sender._lock.close()


async def test_two_senders_send_each_row_once(
    database: Database, sandbox: SandboxServer, clock: ManualClock
) -> None:
    if database.is_sqlite:
        pytest.skip("SQLite allows one bot process; two senders need PostgreSQL")
    recipients = chats(sandbox, 60)
    async with telegram.Bot(sandbox.token, base_url=sandbox.base_url) as api:
        senders = [OutboxSender(database, api, limits=SenderLimits(batch=10)) for _ in range(2)]
        for sender in senders:
            database.on_outbox_written(sender.wake)
            await sender.start()
        try:
            await queue(database, clock, [(u.id, f"第{n}条") for n in (1, 2) for u in recipients])
            for user in recipients:
                await user.replies(2, timeout=15)
            await asyncio.gather(*(user.no_reply(within=0.3) for user in recipients))
        finally:
            for sender in senders:
                await sender.stop()
    assert len(delivered(sandbox)) == 120
    by_sender = Counter(r.claimed_by for r in await outbox_rows(database))
    assert by_sender == {None: 120}


async def test_two_instances_send_a_chats_rows_in_order_at_its_pace(
    database: Database, clock: ManualClock
) -> None:
    """Each instance paces its own sends per chat: one chat's rows on two senders at once
    would go out at twice its pace, and out of order. A chat's rows go to one at a time."""
    if database.is_sqlite:
        pytest.skip("SQLite allows one bot process; two senders need PostgreSQL")
    limits = RateLimits()
    async with SandboxServer(policy=limits) as sandbox:
        recipients = chats(sandbox, 4)
        bots = [
            ExtBot(
                sandbox.token,
                base_url=sandbox.base_url,
                rate_limiter=PriorityRateLimiter.from_settings(RateLimitsSection()),
            )
            for _ in range(2)
        ]
        async with bots[0], bots[1]:
            senders = [OutboxSender(database, bot, limits=SenderLimits(batch=5)) for bot in bots]
            for sender in senders:
                database.on_outbox_written(sender.wake)
                await sender.start()
            try:
                # Interleaved: the first batches of both senders hold rows of every chat.
                await queue(
                    database, clock, [(u.id, f"第{n}条") for n in range(1, 6) for u in recipients]
                )
                for user in recipients:
                    await user.replies(5, timeout=30)
            finally:
                for sender in senders:
                    await sender.stop()
    for user in recipients:
        assert [m.content for m in user.messages] == [f"第{n}条" for n in range(1, 6)]
    assert limits.total_refused == 0, limits.refused


async def test_a_crashed_senders_rows_are_taken_over_at_once(
    database: Database, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """A sender that dies (no stop, no hand-back) leaves claims; the next one sends them
    without waiting for any lease to run out."""
    recipients = chats(sandbox, 3)
    await queue(database, clock, [(u.id, "早上好") for u in recipients])
    async with telegram.Bot(sandbox.token, base_url=sandbox.base_url) as api:
        hold = asyncio.Event()
        on_the_wire: list[ApiCall] = []

        async def stuck(call: ApiCall) -> ApiReply | None:
            if call.method == "sendMessage":
                on_the_wire.append(call)
                await hold.wait()
                return ApiReply.connection_dropped()
            return None

        sandbox.policy = stuck
        crashed = OutboxSender(database, api)
        await crashed.start()
        async with asyncio.timeout(5):
            while len(on_the_wire) < 3:
                await asyncio.sleep(0.05)
        claimed = [r.claimed_by for r in await outbox_rows(database)]
        assert claimed == [crashed.sender_id] * 3
        await _crash(crashed)
        sandbox.policy = None
        hold.set()
        started = time.monotonic()
        successor = OutboxSender(database, api)
        await successor.start()
        try:
            for user in recipients:
                await user.reply(timeout=5)
        finally:
            await successor.stop()
    assert time.monotonic() - started < 3
    assert len(delivered(sandbox)) == 3


# Another bot process's commit queueing a message (its announcer is its own).
QUEUE_ELSEWHERE = """
import asyncio, sys
from datetime import UTC, datetime
from db.outbox import enqueue_message
from db.session import Database

async def main() -> None:
    database = Database(sys.argv[1])
    async with database.session() as session:
        await enqueue_message(
            session=session, key="elsewhere", chat_id=int(sys.argv[2]), text="另一台发的",
            now=datetime.now(UTC),
        )
    await database.close()

asyncio.run(main())
"""


async def test_a_message_another_instance_queues_is_sent_at_once(
    database: Database, sandbox: SandboxServer
) -> None:
    """Another process's commit wakes nobody here directly: its announcement does, long
    before the sender's safety look (PostgreSQL; SQLite has one process)."""
    if database.is_sqlite:
        pytest.skip("SQLite allows one bot process")
    (user,) = chats(sandbox, 1)
    # Looking no more often even before it hears: only the announcement can wake it.
    limits = SenderLimits(deaf_poll_interval=SenderLimits().poll_interval)
    async with telegram.Bot(sandbox.token, base_url=sandbox.base_url) as api:
        sender = OutboxSender(database, api, limits=limits)
        await sender.start()
        try:
            await user.no_reply(within=0.5)  # its first look found nothing
            elsewhere = await asyncio.create_subprocess_exec(
                sys.executable, "-c", QUEUE_ELSEWHERE, database.url, str(user.id)
            )
            assert await elsewhere.wait() == 0
            committed = time.monotonic()
            await user.reply(timeout=10)
        finally:
            await sender.stop()
    assert time.monotonic() - committed < limits.poll_interval / 5


async def test_a_retry_is_sent_at_its_time_not_at_the_next_look(
    database: Database, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """A failed send waits its backoff in its chat's worker; nothing waits for a look."""
    (user,) = chats(sandbox, 1)
    failed_at: list[float] = []

    async def drop_once(call: ApiCall) -> ApiReply | None:
        if call.method == "sendMessage" and not failed_at:
            failed_at.append(call.at)
            return ApiReply.connection_dropped()
        return None

    sandbox.policy = drop_once
    limits = SenderLimits(first_backoff=1.0)
    async with telegram.Bot(sandbox.token, base_url=sandbox.base_url) as api:
        sender = OutboxSender(database, api, limits=limits)
        database.on_outbox_written(sender.wake)
        await sender.start()
        try:
            await queue(database, clock, [(user.id, "重试")])
            await user.reply(timeout=10)
        finally:
            await sender.stop()
    (sent,) = delivered(sandbox)
    # The backoff is jittered by ±20 %.
    assert 0.8 * limits.first_backoff <= sent.at - failed_at[0] < limits.poll_interval / 5


async def test_sends_that_finish_together_are_recorded_together(
    database: Database, sandbox: SandboxServer, clock: ManualClock
) -> None:
    """Thirty sends Telegram answers at once: a statement marks a batch of them sent (one
    per row would be thirty commits), and each row keeps its own Telegram message id."""
    recipients = chats(sandbox, 30)
    await queue(database, clock, [(u.id, "早上好") for u in recipients])
    arrived: list[ApiCall] = []
    all_arrived = asyncio.Event()

    async def together(call: ApiCall) -> ApiReply | None:
        if call.method == "sendMessage":
            arrived.append(call)
            if len(arrived) == len(recipients):
                all_arrived.set()
            await all_arrived.wait()
        return None

    marks: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.startswith("UPDATE outbox SET") and "sent_at" in statement:
            marks.append(statement)

    sandbox.policy = together
    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    try:
        async with telegram.Bot(sandbox.token, base_url=sandbox.base_url) as api:
            sender = OutboxSender(database, api)
            await sender.start()
            try:
                for user in recipients:
                    await user.reply(timeout=15)
                async with asyncio.timeout(15):
                    while any(r.sent_at is None for r in await outbox_rows(database)):
                        await asyncio.sleep(0.05)
            finally:
                await sender.stop()
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", record)
    # Answered together, the replies are read one after another: the first is recorded
    # at once, and the others that arrive meanwhile wait for that statement to finish.
    assert 0 < len(marks) <= len(recipients) // 3, marks
    rows = await outbox_rows(database)
    sent = {u.id: u.messages[0].message_id for u in recipients}
    assert {r.chat_id: r.telegram_message_id for r in rows} == sent
    assert all(r.claimed_by is None for r in rows)
