"""kill -9: the bot runs in an OS process of its own (bot/demo/processes.py, built like
`python -m bot run`), talks to the sandbox Bot API in this test, and is killed with SIGKILL
in the middle of its work, then started again. No update it acknowledged may be lost or
take effect twice, and no queued message be sent twice; what a kill may cost of the
replies (one per chat: lost, or sent again) is said at the burst (3.)."""

from __future__ import annotations

import asyncio
import itertools
import random
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import col, func, select

from bot.demo.processes import BotProcesses, bot_processes
from bot.sandbox import ApiCall, ApiReply, SandboxServer, SandboxUser
from bot.views import texts
from bot.views.buttons import Action, encode
from db.models import (
    Assignment,
    AssignmentStatus,
    ChatState,
    Complaint,
    InboxUpdate,
    OutboxMessage,
    Staff,
)
from db.outbox import enqueue_message
from db.session import Database
from db.staff import create_invite
from tests.conftest import SHANGHAI

WEDNESDAY_0900 = datetime(2026, 11, 25, 9, 0, tzinfo=SHANGHAI)
INSPECTOR_ID = 7_000_000_001
FIRST_CHAT = 8_300_000_001
# A cold start imports PTB, builds the classifier and migrates; generous for a loaded CI box.
START_TIMEOUT = 60.0


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 20) -> None:
    """Wait for a state of the database: across processes there is no event to wait on."""
    try:
        async with asyncio.timeout(timeout):
            while not await check():
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"not within {timeout}s: {what}") from None


async def idle(sandbox: SandboxServer) -> None:
    """The bot holds a long poll with nothing pending: every update it fetched is confirmed
    (a restart will not see it again) and it is waiting for the next."""
    await sandbox.updates.until_polled(timeout=5)
    assert sandbox.updates.pending_count == 0


# --- 1. the middle of a conversation ------------------------------------------------------


async def invite(database: Database, staff_code: str, now: datetime) -> str:
    """A one-time invite code, as `python -m bot invite` issues."""
    async with database.session() as session:
        staff = (await session.exec(select(Staff).where(Staff.code == staff_code))).one()
        code = await create_invite(
            session=session, staff=staff, now=now, valid_for=timedelta(days=7)
        )
        return code.code


async def check_of(database: Database, staff_code: str, item_id: str, day: date) -> Assignment:
    async with database.session() as session:
        staff = (await session.exec(select(Staff).where(Staff.code == staff_code))).one()
        statement = select(Assignment).where(
            Assignment.inspector_id == staff.id,
            Assignment.item_id == item_id,
            Assignment.day == day,
        )
        return (await session.exec(statement)).one()


async def chat_state_of(database: Database, staff_code: str) -> ChatState | None:
    async with database.session() as session:
        staff = (await session.exec(select(Staff).where(Staff.code == staff_code))).one()
        return await session.get(ChatState, staff.id)


async def answer(user: SandboxUser, text: str, expect: str, timeout: float = 5) -> None:
    await user.send(text)
    reply = await user.reply(timeout)
    assert expect in reply.content, reply.describe()


async def test_a_check_half_answered_survives_kill_9(
    database_url: str, database: Database, sandbox: SandboxServer, tmp_path: Path, sample_org: None
) -> None:
    async with bot_processes(sandbox, database_url, tmp_path, WEDNESDAY_0900) as bots:
        await bots.start()
        await bots.prepare()  # the next process imports meanwhile
        # The start-up run plans Wednesday's checks; the inspector registers afterwards.
        await sandbox.updates.until_polled(timeout=START_TIMEOUT)
        inspector = sandbox.user(INSPECTOR_ID, "陈明")
        await answer(inspector, f"/start {await invite(database, 'I003', WEDNESDAY_0900)}", "欢迎")
        await inspector.send("/today")
        overview = await inspector.reply()
        check = await check_of(database, "I003", "delivery_express_signoff", WEDNESDAY_0900.date())
        assert check.id is not None
        await inspector.press_data(overview.message_id, encode(Action.OPEN_CHECK, check.id))
        assert "第 1/4 题" in (await inspector.reply()).content
        await answer(inspector, "120", "第 2/4 题")
        await answer(inspector, "12", "第 3/4 题")

        await idle(sandbox)
        await bots.kill()
        # Both acknowledged answers are in the database, and so is where the chat stands.
        half = await check_of(database, "I003", "delivery_express_signoff", check.day)
        assert half.status is AssignmentStatus.IN_PROGRESS
        assert '"lists_total": 120' in half.answers and '"lists_checked": 12' in half.answers
        state = await chat_state_of(database, "I003")
        assert state is not None and (state.flow, state.ref_id) == ("check", check.id)

        # The inspector answers while the bot is down; Telegram keeps the message for it.
        await inspector.send("0")
        await bots.start()
        await bots.prepare()
        optional = await inspector.reply(timeout=START_TIMEOUT)
        assert "第 4/4 题" in optional.content and "/skip" in optional.content

        # A second kill, at the summary: all answered, not yet confirmed.
        await answer(inspector, "/skip", "请核对")
        await idle(sandbox)
        await bots.kill()
        await bots.start()
        await inspector.press(texts.BUTTON_SUBMIT_CHECK)
        (submitted,) = await inspector.edits(1, timeout=START_TIMEOUT)
        assert submitted.content.endswith(texts.check_done(0, None))
        await inspector.no_reply(within=0.3)
        assert await bots.stop() == 0

    done = await check_of(database, "I003", "delivery_express_signoff", check.day)
    assert done.status is AssignmentStatus.DONE
    for kept in ('"lists_total": 120', '"lists_checked": 12', '"signoff_problems": 0'):
        assert kept in done.answers, done.answers
    assert '"problem_detail": null' in done.answers
    assert await chat_state_of(database, "I003") is None
    # Each question was asked once: no answer was read twice across the kills.
    prompts = [m.content for m in inspector.messages if "题" in m.content]
    for number in range(1, 5):
        assert sum(f"第 {number}/4 题" in p for p in prompts) == 1, prompts


# --- 2. the middle of a broadcast ---------------------------------------------------------

CHATS = 100
PER_CHAT = 5
ADMITTED_BEFORE_KILL = 200


class HoldAfter:
    """Telegram accepts the first ``admit`` messages; every later one is held unanswered on
    the wire, as if Telegram had stalled, until ``drop_held`` cuts those connections without
    carrying the sends out. So the kill lands while sends are in flight, and never between
    Telegram accepting a message and the bot recording it: that window (bot/usecases/outbox.py's
    docstring) is the one case a Bot API client cannot settle, and is kept empty here."""

    def __init__(self, admit: int) -> None:
        self.admit = admit
        self.admitted = 0
        self.held = 0
        self._someone_held = asyncio.Event()
        self._drop = asyncio.Event()

    async def __call__(self, call: ApiCall) -> ApiReply | None:
        if call.method != "sendMessage":
            return None
        if self.admitted < self.admit:
            self.admitted += 1
            return None
        self.held += 1
        self._someone_held.set()
        await self._drop.wait()
        return ApiReply.connection_dropped()

    async def until_held(self, timeout: float = 20) -> None:
        await asyncio.wait_for(self._someone_held.wait(), timeout)

    def drop_held(self) -> None:
        self._drop.set()


async def queue_broadcast(database: Database, now: datetime, users: list[SandboxUser]) -> None:
    async with database.session() as session:
        for n in range(1, PER_CHAT + 1):
            for user in users:
                await enqueue_message(
                    session=session,
                    key=f"broadcast:{user.id}:{n}",
                    chat_id=user.id,
                    text=f"通知第{n}条",
                    now=now,
                )


async def count_sent(database: Database) -> int:
    async with database.session() as session:
        statement = select(func.count()).where(col(OutboxMessage.sent_at).is_not(None))
        return int((await session.exec(statement)).one())


async def has_sent(database: Database, count: int) -> bool:
    return await count_sent(database) >= count


async def count_left_claimed(database: Database) -> int:
    """Unsent rows that a sender has claimed (and, after a kill, never handed back)."""
    async with database.session() as session:
        statement = select(func.count()).where(
            col(OutboxMessage.sent_at).is_(None), col(OutboxMessage.claimed_by).is_not(None)
        )
        return int((await session.exec(statement)).one())


def delivered(sandbox: SandboxServer) -> Counter[tuple[int, str]]:
    """Messages Telegram accepted, per chat and text."""
    return Counter(
        (int(c.params["chat_id"]), str(c.params["text"]))
        for c in sandbox.calls_to("sendMessage", ok_only=True)
    )


async def test_a_broadcast_killed_halfway_is_delivered_exactly_once(
    database_url: str, database: Database, sandbox: SandboxServer, tmp_path: Path, sample_org: None
) -> None:
    gate = HoldAfter(ADMITTED_BEFORE_KILL)
    sandbox.policy = gate
    async with bot_processes(sandbox, database_url, tmp_path, WEDNESDAY_0900) as bots:
        await bots.prepare()  # imports while the broadcast is queued
        users = [sandbox.user(FIRST_CHAT + i, f"收件人{i}") for i in range(CHATS)]
        await queue_broadcast(database, WEDNESDAY_0900, users)
        await bots.start()
        await bots.prepare()  # the one that starts after the kill
        await gate.until_held(timeout=START_TIMEOUT)
        # Everything Telegram accepted is recorded as sent before the kill …
        await until(lambda: has_sent(database, ADMITTED_BEFORE_KILL), "accepted sends recorded")
        await bots.kill()
        assert gate.held > 0, "the kill was to interrupt sends on the wire"
        # The window is empty: what Telegram accepted is exactly what the table says was sent.
        assert sum(delivered(sandbox).values()) == await count_sent(database)
        assert await count_left_claimed(database) == CHATS * PER_CHAT - ADMITTED_BEFORE_KILL
        gate.drop_held()
        sandbox.policy = None

        # … and the restarted bot takes over the rows the dead one had claimed.
        await bots.start()
        for user in users:
            await user.replies(PER_CHAT, timeout=START_TIMEOUT)
        await until(lambda: has_sent(database, CHATS * PER_CHAT), "every row marked sent")
        await asyncio.gather(*(user.no_reply(within=0.5) for user in users))
        assert await bots.stop() == 0

    expected = {(user.id, f"通知第{n}条") for user in users for n in range(1, PER_CHAT + 1)}
    counted = delivered(sandbox)
    assert set(counted) == expected
    assert [key for key, times in counted.items() if times != 1] == []
    for user in users:  # and in order within each chat
        assert [m.content for m in user.messages] == [
            f"通知第{n}条" for n in range(1, PER_CHAT + 1)
        ]
    async with database.session() as session:
        rows = (await session.exec(select(OutboxMessage))).all()
    assert len(rows) == CHATS * PER_CHAT
    assert all(r.sent_at is not None and r.failed_at is None for r in rows)
    assert all(r.claimed_by is None for r in rows)


# --- 3. the middle of a burst -------------------------------------------------------------

BURST_STAFF = ("C001", "C002", "I001", "I002", "I004", "I005")
ROUNDS = 10  # per person: a complaint, /help, a stale button, a complaint, …
KILLS = 3


def complaint_text(staff_code: str, n: int) -> str:
    return f"{staff_code}的第{n}件包裹破损了，内件损坏，用户要求赔偿"


async def send_round(user: SandboxUser, staff_code: str, n: int, welcome_id: int) -> None:
    match n % 3:
        case 0:
            await user.send(complaint_text(staff_code, n))
        case 1:
            await user.send("/help")
        case _:
            await user.press_data(welcome_id, f"stale:{n}")


async def count_inbox(database: Database, *, done: bool) -> int:
    async with database.session() as session:
        done_at = col(InboxUpdate.done_at)
        condition = done_at.is_not(None) if done else done_at.is_(None)
        return int((await session.exec(select(func.count()).where(condition))).one())


async def has_handled(database: Database, count: int) -> bool:
    return await count_inbox(database, done=True) >= count


def replies_allowed(expected: list[str]) -> re.Pattern[str]:
    """The replies a chat may get across kills, in the order of its updates (README,
    "Several instances"): a draft's complaint is committed (the update done) before the
    draft goes out, so a kill in between loses it, and it never comes twice; /help changes
    nothing and is done only after its reply, so a kill in between sends it again, and it
    is never lost. Tokens are written ``token;``."""
    parts = [
        f"(?:{re.escape(token)};)+" if token == "help" else f"(?:{re.escape(token)};)?"
        for token in expected
    ]
    return re.compile("".join(parts))


async def test_a_burst_killed_again_and_again_applies_every_update_once(
    database_url: str, database: Database, sandbox: SandboxServer, tmp_path: Path, sample_org: None
) -> None:
    async with bot_processes(sandbox, database_url, tmp_path, WEDNESDAY_0900) as bots:
        await burst_with_kills(database, sandbox, [bots], ROUNDS, KILLS)


@pytest.mark.slow
async def test_a_long_burst_killed_many_times_applies_every_update_once(
    database_url: str, database: Database, sandbox: SandboxServer, tmp_path: Path, sample_org: None
) -> None:
    async with bot_processes(sandbox, database_url, tmp_path, WEDNESDAY_0900) as bots:
        await burst_with_kills(database, sandbox, [bots], 4 * ROUNDS, 4 * KILLS)


async def register_everyone(
    database: Database, sandbox: SandboxServer, codes: Sequence[str], first_chat: int
) -> tuple[dict[str, SandboxUser], dict[str, int]]:
    """Each of ``codes`` registers with an invite, in chats from ``first_chat`` on: the
    people by code, and the message id of each one's welcome (its buttons go stale)."""
    users: dict[str, SandboxUser] = {}
    welcomes: dict[str, int] = {}
    for number, code in enumerate(codes):
        user = sandbox.user(first_chat + number, code)
        await user.send(f"/start {await invite(database, code, WEDNESDAY_0900)}")
        welcome = await user.reply(timeout=START_TIMEOUT)
        assert "欢迎" in welcome.content, welcome.describe()
        users[code], welcomes[code] = user, welcome.message_id
    return users, welcomes


async def delivered_all(sandbox: SandboxServer) -> None:
    """Every update Telegram has was taken: confirmed by a long poll that followed it, or
    answered 200 by a webhook."""
    if sandbox.webhook.url:
        await until(lambda: _none_pending(sandbox), "every update delivered")
    else:
        await idle(sandbox)


async def _none_pending(sandbox: SandboxServer) -> bool:
    return sandbox.updates.pending_count == 0


async def burst_with_kills(
    database: Database,
    sandbox: SandboxServer,
    instances: Sequence[BotProcesses],
    rounds: int,
    kill_times: int,
) -> None:
    """Six people's updates at once, interleaved, while one of the instances is killed
    with SIGKILL at random moments and started again (polling: the one receiver; webhooks
    behind a proxy: whichever is picked, the others go on)."""
    chance = random.Random(13 + kill_times + len(instances))
    for bots in instances:
        await bots.start()
        await bots.prepare()
    if not sandbox.webhook.url:
        await sandbox.updates.until_polled(timeout=START_TIMEOUT)
    users, welcomes = await register_everyone(database, sandbox, BURST_STAFF, FIRST_CHAT + 500)
    await delivered_all(sandbox)
    registered = await count_inbox(database, done=True)
    before = {code: len(user.messages) for code, user in users.items()}

    async def send(chunk: range) -> None:
        for n in chunk:
            for code, user in users.items():
                await send_round(user, code, n, welcomes[code])

    # The rounds in as many parts as there are kills and one: each part after the first
    # arrives while the killed instance is down (at a webhook: POSTs that fail and are
    # sent again, to another instance).
    bounds = [rounds * k // (kill_times + 1) for k in range(kill_times + 2)]
    chunks = [range(start, end) for start, end in itertools.pairwise(bounds)]
    await send(chunks[0])
    total = registered + rounds * len(users)
    for chunk in chunks[1:]:
        progress = await count_inbox(database, done=True)
        await until(
            lambda at=progress: has_handled(database, at + 3),  # type: ignore[misc]
            "handling under way",
            timeout=START_TIMEOUT,
        )
        await asyncio.sleep(chance.uniform(0, 0.15))
        victim = chance.choice(instances)
        await victim.kill()
        await send(chunk)
        await victim.start()
        await victim.prepare()
    await until(lambda: has_handled(database, total), "every update handled", 120)
    assert await count_inbox(database, done=False) == 0
    await delivered_all(sandbox)
    for bots in instances:
        assert await bots.stop() == 0
    kills = sum(len(bots.started) - 1 for bots in instances)

    # Each complaint was read once: one draft per text, however often the bot died.
    async with database.session() as session:
        drafts = Counter((await session.exec(select(Complaint.text))).all())
        failed = (
            await session.exec(select(InboxUpdate).where(col(InboxUpdate.error).is_not(None)))
        ).all()
    assert failed == []
    expected_texts = {
        complaint_text(code, n) for code in users for n in range(rounds) if n % 3 == 0
    }
    assert set(drafts) == expected_texts
    assert [text for text, times in drafts.items() if times != 1] == []
    # Replies in each chat come in the order of its updates. A kill interrupts at most one
    # update of a chat (one at a time, in order), so it loses that update's draft or repeats
    # its /help: at most one of either per kill and chat.
    for code, user in users.items():
        expected = [reply_token(code, n) for n in range(rounds) if n % 3 != 2]
        got = [token_of(code, m.content, rounds) for m in user.messages[before[code] :]]
        assert replies_allowed(expected).fullmatch("".join(f"{t};" for t in got)), got
        lost = sum(token not in got for token in expected)
        repeated = len(got) - (len(expected) - lost)
        assert lost + repeated <= kills, got
    # The stale buttons were answered as such (the client stops waiting); one whose handler
    # took over a second (a bot just restarted, a loaded machine) was answered empty in time
    # instead (bot/presses.py PressAnswer).
    answered = {c.params.get("text") for c in sandbox.calls_to("answerCallbackQuery")}
    assert texts.UNKNOWN_BUTTON in answered and answered <= {texts.UNKNOWN_BUTTON, None}


def reply_token(code: str, n: int) -> str:
    return f"draft {n}" if n % 3 == 0 else "help"


def token_of(code: str, content: str, rounds: int = ROUNDS) -> str:
    """What a reply answers: the draft of which complaint, or /help (else: itself)."""
    for n in range(rounds):
        if complaint_text(code, n) in content:
            return f"draft {n}"
    return "help" if content.startswith("您的角色") else content
