"""The outbox against a fake Telegram whose answers each chat scripts: a row given up is
always told, and told before it is marked failed."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict, deque
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import delete, update
from sqlmodel import select
from telegram import Bot, Chat, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.clock import ManualClock
from bot.services import Services
from bot.settings import load_settings
from bot.usecases.blocked import staff_blocked_bot
from bot.usecases.messages import enqueue_message
from bot.usecases.outbox import BlockedListener, OutboxSender, RefusedListener, SenderLimits
from bot.usecases.refused import REFUSED_KEY, message_refused
from bot.views import texts
from db.models import ChatState, InviteCode, JobRun, OutboxMessage, Staff
from db.org_import import import_org, read_org_file
from tests.conftest import REPO, SAMPLE_ORG, SHANGHAI

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
        self.next_id = 1

    async def _answer(self, chat_id: int, text: str | None) -> Message:
        await asyncio.sleep(0)  # a request takes a turn of the loop, as on the wire
        if chat_id in self.blocked:
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
        if not (await session.exec(select(Staff))).first():
            await import_org(
                read_org_file(SAMPLE_ORG),
                labels=texts.IMPORT_LABELS,
                session=session,
                now=services.clock.now(),
            )
        for table in (OutboxMessage, ChatState, JobRun, InviteCode):
            await session.exec(delete(table))
        await session.exec(update(Staff).values(telegram_user_id=None, blocked_bot_at=None))
        people = {}
        for number, code in enumerate((*RECIPIENTS, ADMIN, *MANAGERS)):
            person = (await session.exec(select(Staff).where(Staff.code == code))).one()
            person.telegram_user_id = 7_300_000_000 + number
            session.add(person)
            people[code] = person
        await session.flush()
        return people


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


async def test_a_message_given_up_after_its_retries_is_told_to_the_admins(
    database_url: str, tmp_path: Path
) -> None:
    services = services_for(database_url, tmp_path)
    people = await prepare(services)
    telegram = FakeTelegram()
    chat_id = people["C001"].telegram_user_id or 0
    telegram.scripts[chat_id].extend([Answer.NETWORK] * LIMITS.max_attempts)
    await _queue_one(services, chat_id)
    sender = await start_sender(services, telegram)
    try:
        row = await _given_up(services, sender)
        keys = await _keys(services)
    finally:
        await sender.stop()
        await services.db.close()
    assert row.last_error == "Bad Gateway"
    assert chat_id not in [chat for chat, _, _ in telegram.delivered]
    assert f"{REFUSED_KEY}:{row.id}:{people[ADMIN].id}" in keys


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

    async def on_refused(message: OutboxMessage, error: str) -> None:
        await still_queued(message.id or 0)
        await message_refused(services, message, error)

    async def on_blocked(chat_id: int, occasion: str) -> None:
        await still_queued(int(occasion.removeprefix("outbox:")))
        await staff_blocked_bot(services, chat_id, occasion)

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
