"""An outbox row's lifecycle under random sequences of events, on a real database (SQLite
and PostgreSQL): messages queued through the use cases' door (long ones split into parts,
photos, buttons), a fake Telegram that answers each chat's sends as scripted (accepted, 429,
a network error or 5xx before delivery, a timeout after delivery, 400, 403 for a chat that
blocked the bot), the sender restarted, people unblocking (a crash is tests/e2e/test_crash.py's
and test_outbox.py's: cancelled in the middle of a statement, a connection of this process
would hold its locks). After every step:

- a row is delivered at most once, unless Telegram may have had it already when the sender
  retried (a timeout after delivery): then once more for each such time;
- a chat's messages arrive in the order queued, so the parts of a split message too;
- a sent row was delivered and carries the id Telegram gave; a failed one has a reason,
  was not delivered (but for those same uncertain cases) and was said: a 400 to the admins,
  a 403 as the person blocking the bot (their manager told);
- no row is held by a sender that stopped; and once Telegram behaves, every row ends sent
  or failed and unclaimed (nothing stays queued forever).
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlmodel import col, select
from telegram import Bot, Chat, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.clock import ManualClock
from bot.services import Services
from bot.settings import load_settings
from bot.usecases.blocked import staff_blocked_bot, staff_is_back
from bot.usecases.messages import enqueue_message
from bot.usecases.outbox import BlockedListener, OutboxSender, RefusedListener, SenderLimits
from bot.usecases.refused import REFUSED_KEY, message_refused
from db.models import ChatState, InviteCode, JobRun, OutboxMessage, Staff
from db.outbox import Undelivered
from tests.conftest import REPO, SHANGHAI
from tests.stateful import run_seeded, sample_org_for_example

T = TypeVar("T")
START = datetime(2026, 11, 25, 9, 0, tzinfo=SHANGHAI)
RECIPIENTS = ("C001", "I003", "M003")  # the chats messages are queued for
ADMIN = "A001"  # told of 400s
MANAGERS = ("M001", "M002", "M004")  # told when C001, I003 or M003 block the bot
LIMITS = SenderLimits(
    first_backoff=0.001,
    max_backoff=0.01,
    max_attempts=4,
    poll_interval=0.01,
    drain_timeout=10,
)
SETTLE_TIMEOUT = 60.0  # seconds; a run that works settles in a fraction of one


class Answer(StrEnum):
    ACCEPTED = "accepted"
    TOO_MANY = "429"
    NETWORK = "network"  # a dropped connection or a 5xx: not delivered
    TIMED_OUT_AFTER = "timed_out_after"  # delivered, but the answer never came back
    BAD_REQUEST = "400"


class FakeTelegram:
    """Sends as the Bot would, answered as each chat's script says (accepted when it has run
    out); a blocked chat answers 403 to everything. Records what was delivered."""

    def __init__(self) -> None:
        self.scripts: dict[int, deque[Answer]] = defaultdict(deque)
        self.blocked: set[int] = set()
        self.delivered: list[tuple[int, str, int]] = []  # chat, text, Telegram's message id
        # Deliveries the sender cannot know of (timed out after), per (chat, text).
        self.unanswered: Counter[tuple[int, str]] = Counter()
        # When a 403 was last answered, per (chat, text).
        self.forbidden_at: dict[tuple[int, str], datetime] = {}
        self.next_id = 1

    async def _answer(self, chat_id: int, text: str | None) -> Message:
        await asyncio.sleep(0)  # a request takes a turn of the loop, as on the wire
        if chat_id in self.blocked:
            self.forbidden_at[(chat_id, text or "")] = datetime.now(UTC)
            raise Forbidden("Forbidden: bot was blocked by the user")
        script = self.scripts[chat_id]
        answer = script.popleft() if script else Answer.ACCEPTED
        match answer:
            case Answer.TOO_MANY:
                raise RetryAfter(timedelta(milliseconds=5))
            case Answer.NETWORK:
                raise NetworkError("Bad Gateway")
            case Answer.BAD_REQUEST:
                raise BadRequest("Bad Request: can't parse entities")
        message_id = self.next_id
        self.next_id += 1
        self.delivered.append((chat_id, text or "", message_id))
        if answer is Answer.TIMED_OUT_AFTER:
            self.unanswered[(chat_id, text or "")] += 1
            raise TimedOut("Timed out")
        return Message(message_id, datetime.now(UTC), Chat(chat_id, Chat.PRIVATE))

    async def send_message(self, chat_id: int, text: str, **_: object) -> Message:
        return await self._answer(chat_id, text)

    async def send_photo(
        self, chat_id: int, *, photo: object, caption: str | None = None, **_: object
    ) -> Message:
        return await self._answer(chat_id, caption)

    async def send_document(
        self, chat_id: int, *, document: object, caption: str | None = None, **_: object
    ) -> Message:
        return await self._answer(chat_id, caption)

    async def send_media_group(
        self, chat_id: int, *, media: Sequence[Any], **_: object
    ) -> tuple[Message, ...]:
        return (await self._answer(chat_id, media[0].caption),)


def services_for(database_url: str, calendar_dir: Path) -> Services:
    loaded = load_settings(
        REPO / "config.toml", {"TELEGRAM_BOT_TOKEN": "1:test", "DATABASE_URL": database_url}
    )
    calendar = loaded.calendar.model_copy(update={"admin_dir": calendar_dir})
    return Services.create(loaded.model_copy(update={"calendar": calendar}), ManualClock(START))


async def prepare(services: Services) -> dict[str, Staff]:
    """The sample organisation (imported once per database), an empty outbox, the people
    of this test registered and not blocking the bot."""
    async with services.db.session() as session:
        return await sample_org_for_example(
            session,
            now=services.clock.now(),
            cleared=(OutboxMessage, ChatState, JobRun, InviteCode),
            registered=(*RECIPIENTS, ADMIN, *MANAGERS),
            first_chat=7_300_000_000,
        )


async def start_sender(
    services: Services,
    telegram: FakeTelegram,
    on_blocked: BlockedListener | None = None,
    on_refused: RefusedListener | None = None,
) -> OutboxSender:
    """The sender as the bot wires it (bot/app/application.py), talking to the fake."""
    sender = OutboxSender(
        services.db,
        cast(Bot, telegram),
        limits=LIMITS,
        on_blocked=on_blocked or partial(staff_blocked_bot, services),
        on_refused=on_refused or partial(message_refused, services),
    )
    await sender.start()
    return sender


class OutboxMachine(RuleBasedStateMachine):
    database_url = ""
    calendar_dir = Path()

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.services = services_for(self.database_url, self.calendar_dir)
        self.staff = self.run(prepare(self.services))
        self.chats = {code: self.staff[code].telegram_user_id or 0 for code in RECIPIENTS}
        self.telegram = FakeTelegram()
        self.sender = self.run(self._start_sender())
        self.queued = 0
        # When each chat was last known to be back (a 403 answered before is forgiven).
        self.back_at: dict[int, datetime] = {}

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    async def _start_sender(self) -> OutboxSender:
        return await start_sender(self.services, self.telegram)

    def teardown(self) -> None:
        self.run(self.sender.stop())
        self.run(self.services.db.close())
        self.loop.close()

    async def _rows(self) -> list[OutboxMessage]:
        async with self.services.db.session() as session:
            statement = select(OutboxMessage).order_by(col(OutboxMessage.id))
            return list((await session.exec(statement)).all())

    # -- rules -----------------------------------------------------------------------------

    @rule(
        messages=st.lists(
            st.tuples(
                st.sampled_from(RECIPIENTS),
                st.sampled_from([1, 3, 700]),
                st.booleans(),
                st.booleans(),
            ),
            min_size=1,
            max_size=4,
        )
    )
    def queue(self, messages: list[tuple[str, int, bool, bool]]) -> None:
        """Composed messages queued in one transaction, each as (recipient, lines, with a
        photo, with buttons); 700 lines take two or more parts (every line is its own, so
        no two parts read alike)."""
        self.run(self._queue(messages))

    async def _queue(self, messages: list[tuple[str, int, bool, bool]]) -> None:
        async with self.services.db.session() as session:
            for who, lines, photo, buttons in messages:
                self.queued += 1
                number = self.queued
                await enqueue_message(
                    session=session,
                    key=f"test:{number}",
                    chat_id=self.chats[who],
                    text="\n".join(f"第{number}条消息 第{line}行" for line in range(lines)),
                    now=self.services.clock.now(),
                    buttons=[[("打开", "kopen:1")]] if buttons else None,
                    photo_file_ids=["photo-1"] if photo else None,
                )

    @rule(
        who=st.sampled_from(RECIPIENTS),
        answers=st.lists(st.sampled_from(list(Answer)), min_size=1, max_size=6),
    )
    def telegram_will_answer(self, who: str, answers: list[Answer]) -> None:
        self.telegram.scripts[self.chats[who]].extend(answers)

    @rule(who=st.sampled_from(RECIPIENTS))
    def telegram_is_unreachable(self, who: str) -> None:
        """Long enough for the sender to give up on the chat's next message."""
        script = self.telegram.scripts[self.chats[who]]
        script.extend([Answer.NETWORK] * LIMITS.max_attempts)

    @rule(who=st.sampled_from(RECIPIENTS))
    def blocks_the_bot(self, who: str) -> None:
        self.telegram.blocked.add(self.chats[who])

    @precondition(lambda self: self.telegram.blocked)
    @rule(data=st.data())
    def unblocks_and_writes(self, data: st.DataObject) -> None:
        """They unblock and write to the bot again: it knows they are back."""
        chat_id = data.draw(st.sampled_from(sorted(self.telegram.blocked)))
        self.telegram.blocked.discard(chat_id)
        self.back_at[chat_id] = datetime.now(UTC)
        code = next(c for c, chat in self.chats.items() if chat == chat_id)
        self.run(self._back(code))

    async def _back(self, code: str) -> None:
        async with self.services.db.session() as session:
            person = await session.get(Staff, self.staff[code].id)
            assert person is not None
        await staff_is_back(self.services, person)

    @rule(seconds=st.sampled_from([0.0, 0.002, 0.02]))
    def a_moment_passes(self, seconds: float) -> None:
        """The sender runs for a moment: some rows go, some are on the wire or waiting."""
        self.run(asyncio.sleep(seconds))

    @rule()
    def restart(self) -> None:
        self.run(self.sender.stop())
        self.sender = self.run(self._start_sender())

    @rule()
    def telegram_behaves_again(self) -> None:
        """Scripts run out and blocked chats stay blocked: everything ends sent or failed."""
        for script in self.telegram.scripts.values():
            script.clear()
        self.run(self._settle())
        rows = self.run(self._rows())
        assert all(r.sent_at is not None or r.failed_at is not None for r in rows), rows
        assert all(r.claimed_by is None for r in rows), rows
        delivered = {message_id: (chat, text) for chat, text, message_id in self.telegram.delivered}
        for row in rows:
            if row.sent_at is not None:
                assert row.telegram_message_id is not None
                assert delivered[row.telegram_message_id] == (row.chat_id, row.text), row

    async def _settle(self) -> None:
        """Until no row is waiting and the sender holds nothing (its listeners are done)."""
        async with asyncio.timeout(SETTLE_TIMEOUT):
            while True:
                rows = await self._rows()
                waiting = [r for r in rows if r.sent_at is None and r.failed_at is None]
                # The sender's own record of what it holds: a failed row's listeners have
                # run once it lets go of the row.
                if not waiting and not self.sender._queued:
                    return
                await asyncio.sleep(0.005)

    async def _check_told(self, rows: list[OutboxMessage]) -> None:
        """A failed row the sender has let go of (its listeners have run) was told: a 403
        marks the person as blocking the bot, anything else is told to the admins."""
        async with self.services.db.session() as session:
            people = {s.telegram_user_id: s for s in (await session.exec(select(Staff))).all()}
        keys = {r.key for r in rows}
        admin = self.staff[ADMIN]
        held = self.sender._queued
        for row in rows:
            if row.failed_at is None or row.id in held:
                continue
            assert row.last_error, row
            if row.last_error.startswith("Forbidden"):
                person = people.get(row.chat_id)
                back = self.back_at.get(row.chat_id)
                refused = self.telegram.forbidden_at[(row.chat_id, row.text)]
                if person is not None and (back is None or refused > back):
                    assert person.blocked_bot_at is not None, row
            elif not row.key.startswith(f"{REFUSED_KEY}:"):
                assert f"{REFUSED_KEY}:{row.id}:{admin.id}" in keys, row

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def rows_hold(self) -> None:
        # What Telegram saw, then the table: the sender runs while the rows are read, and
        # its listeners queue notices (a refusal, a blocking) it may deliver meanwhile. Every
        # delivery seen first is of a row committed before the read.
        deliveries = Counter((chat, text) for chat, text, _ in self.telegram.delivered)
        uncertain = Counter(self.telegram.unanswered)
        rows = self.run(self._rows())
        rows_of: Counter[tuple[int, str]] = Counter((r.chat_id, r.text) for r in rows)
        for key, count in deliveries.items():
            assert count <= rows_of[key] + uncertain[key], (key, count)
        # A stopped sender hands its claims back.
        holders = {None, self.sender.sender_id}
        for row in rows:
            if row.sent_at is None and row.failed_at is None:
                assert row.claimed_by in holders, row
            key = (row.chat_id, row.text)
            if row.failed_at is not None:
                assert row.sent_at is None and row.last_error, row
                if rows_of[key] == 1:
                    assert deliveries[key] <= uncertain[key], row
        self._check_order(rows)
        self.run(self._check_told(rows))

    def _check_order(self, rows: list[OutboxMessage]) -> None:
        """Each chat gets its queued messages in order (a message sent again right after
        itself aside)."""
        row_of = {(r.chat_id, r.text): r.id or 0 for r in rows if r.key.startswith("test:")}
        last: dict[int, int] = {}
        for chat, text, _ in self.telegram.delivered:
            row_id = row_of.get((chat, text))
            if row_id is None:
                continue
            assert row_id >= last.get(chat, 0), (chat, row_id, last)
            last[chat] = row_id


def run_machine(database_url: str, calendar_dir: Path, examples: int) -> None:
    run_seeded(
        OutboxMachine,
        examples=examples,
        steps=25,
        database_url=database_url,
        calendar_dir=calendar_dir,
    )


def test_an_outbox_row_holds_its_invariants(database_url: str, tmp_path: Path) -> None:
    run_machine(database_url, tmp_path, 30)


@pytest.mark.slow
def test_an_outbox_row_holds_its_invariants_at_length(database_url: str, tmp_path: Path) -> None:
    run_machine(database_url, tmp_path, 300)


async def _queue_one(services: Services, chat_id: int) -> None:
    async with services.db.session() as session:
        await enqueue_message(
            session=session, key="test:1", chat_id=chat_id, text="早上好", now=START
        )


async def _given_up(services: Services, sender: OutboxSender) -> OutboxMessage:
    async with asyncio.timeout(SETTLE_TIMEOUT):
        while True:
            async with services.db.session() as session:
                row = (
                    await session.exec(select(OutboxMessage).where(OutboxMessage.key == "test:1"))
                ).one()
            if row.failed_at is not None and not sender._queued:
                return row
            await asyncio.sleep(0.005)


async def _keys(services: Services) -> set[str]:
    async with services.db.session() as session:
        return set((await session.exec(select(OutboxMessage.key))).all())


async def _notice(services: Services, key: str) -> str:
    """The text queued under `key` (a notice to someone)."""
    async with services.db.session() as session:
        return (
            (await session.exec(select(OutboxMessage).where(OutboxMessage.key == key))).one().text
        )


async def _given_up_and_told(
    database_url: str,
    tmp_path: Path,
    telegram: FakeTelegram,
    recipient: Callable[[dict[str, Staff]], int],
) -> tuple[OutboxMessage, str]:
    """One message queued for the chat ``recipient`` names (scripting ``telegram`` for it),
    sent until given up: the row, and the notice the admin was sent."""
    services = services_for(database_url, tmp_path)
    people = await prepare(services)
    await _queue_one(services, recipient(people))
    sender = await start_sender(services, telegram)
    try:
        row = await _given_up(services, sender)
        return row, await _notice(services, f"{REFUSED_KEY}:{row.id}:{people[ADMIN].id}")
    finally:
        await sender.stop()
        await services.db.close()


async def test_a_message_given_up_after_its_retries_is_told_to_the_admins(
    database_url: str, tmp_path: Path
) -> None:
    telegram = FakeTelegram()

    def unreachable_clerk(people: dict[str, Staff]) -> int:
        chat_id = people["C001"].telegram_user_id or 0
        telegram.scripts[chat_id].extend([Answer.NETWORK] * LIMITS.max_attempts)
        return chat_id

    row, notice = await _given_up_and_told(database_url, tmp_path, telegram, unreachable_clerk)
    assert row.last_error == "Bad Gateway"  # the row keeps Telegram's own words
    assert row.attempts == LIMITS.max_attempts  # giving up is no further attempt
    assert row.chat_id not in [chat for chat, _, _ in telegram.delivered]
    # The admins read why in Chinese: not refused by Telegram, retried until given up.
    assert f"连续 {LIMITS.max_attempts} 次发送失败" in notice and "已停止重试" in notice
    assert "拒收" not in notice and "gave up" not in notice
    assert "最后一次的错误：Bad Gateway" in notice


async def test_a_chat_nobody_is_known_by_blocking_the_bot_is_told_to_the_admins(
    database_url: str, tmp_path: Path
) -> None:
    """A 403 from a chat no staff record has (they left and were unbound after the message
    was queued): no manager of theirs can be told of the blocking, so the admins are."""
    telegram = FakeTelegram()
    stranger = 7_399_999_999
    telegram.blocked.add(stranger)
    row, notice = await _given_up_and_told(database_url, tmp_path, telegram, lambda _: stranger)
    assert row.last_error == "Forbidden: bot was blocked by the user"
    assert "发给 未登记的聊天 的一条消息未能送达：对方已屏蔽本机器人" in notice
    assert "拒收" not in notice


async def test_a_refusal_and_a_block_are_told_before_the_row_is_marked_failed(
    database_url: str, tmp_path: Path
) -> None:
    """A crash between the two then sends the row again (and tells again, under the same
    key) rather than leaving a failure nobody heard of."""
    services = services_for(database_url, tmp_path)
    people = await prepare(services)
    telegram = FakeTelegram()
    refused, blocked = people["C001"].telegram_user_id or 0, people["I003"].telegram_user_id or 0
    telegram.scripts[refused].append(Answer.BAD_REQUEST)
    telegram.blocked.add(blocked)
    failed_when_told: list[bool] = []

    async def still_queued(row_id: int) -> None:
        async with services.db.session() as session:
            row = await session.get(OutboxMessage, row_id)
            assert row is not None
            failed_when_told.append(row.failed_at is not None)

    async def on_refused(message: OutboxMessage, undelivered: Undelivered) -> None:
        await still_queued(message.id or 0)
        await message_refused(services, message, undelivered)

    async def on_blocked(chat_id: int, occasion: str) -> bool:
        await still_queued(int(occasion.removeprefix("outbox:")))
        return await staff_blocked_bot(services, chat_id, occasion)

    for chat_id in (refused, blocked):
        async with services.db.session() as session:
            await enqueue_message(
                session=session, key=f"test:{chat_id}", chat_id=chat_id, text="早上好", now=START
            )
    sender = await start_sender(services, telegram, on_blocked, on_refused)
    try:
        async with asyncio.timeout(SETTLE_TIMEOUT):
            while len(failed_when_told) < 2 or sender._queued:
                await asyncio.sleep(0.005)
        keys = await _keys(services)
    finally:
        await sender.stop()
        await services.db.close()
    assert failed_when_told == [False, False]
    assert any(key.startswith(f"{REFUSED_KEY}:") for key in keys)
    assert any(key.startswith("blocked:") for key in keys)
