"""The complaint lifecycle under random sequences of events by random people, through the
use cases on a real database (SQLite and PostgreSQL), with a clock that moves across the
National Day holiday. After every step the invariants hold for every complaint:

- the lifecycle fields agree with the state machine's invariants (an owner and a next
  escalation time on a working day for every complaint still to be answered; nothing for
  closed or withdrawn ones);
- the owner has been told (a message about it in their chat, or they claimed it);
- no text, added detail or line of history is ever lost;
- a refused event changes nothing, and a stranger is always refused.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from sqlalchemy import update
from sqlmodel import col, select

from bot.clock import ManualClock
from bot.services import Services
from bot.settings import load_settings
from bot.usecases import complaints as uc
from db.complaints import lifecycle_of
from db.models import (
    ChatState,
    Complaint,
    ComplaintDetail,
    ComplaintEvent,
    ComplaintPhoto,
    OutboxMessage,
    Staff,
)
from nlp.categories import Category
from nlp.reader import ComplaintReader
from scheduler.complaint_lifecycle import ACTIVE, State, violations
from scheduler.org import Department
from tests.conftest import REPO
from tests.stateful import run_seeded, sample_org_for_example

T = TypeVar("T")
TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 9, 29, 10, 0, tzinfo=TZ)  # the Tuesday before National Day
REPORTERS = ("C001", "C002")
HANDLERS = ("H001", "H003")  # delivery (county), finance (city)
MANAGERS = ("M003", "M002", "M001")
STRANGER = "I003"
PEOPLE = (*REPORTERS, *HANDLERS, *MANAGERS, STRANGER)
TEXTS = (
    "东2段信件报刊积压三天了，用户多次打电话投诉",
    "察素齐营业支局营业员态度恶劣，顶撞用户",  # 监督检查部: no handler
    "用户反映代收款一直没到账，已经一周了",
    "包裹1123456789012破损，内件损坏",
)
REPLIES = ("已查明原因并答复用户", "👍👍👍", "请补充用户地址")


@pytest.fixture(scope="module")
def stateful_reader() -> ComplaintReader:
    return ComplaintReader.create()


class ComplaintMachine(RuleBasedStateMachine):
    database_url = ""
    calendar_dir = Path()
    reader: ComplaintReader | None = None

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = ManualClock(START)
        loaded = load_settings(
            REPO / "config.toml",
            {"TELEGRAM_BOT_TOKEN": "1:test", "DATABASE_URL": self.database_url},
        )
        calendar = loaded.calendar.model_copy(update={"admin_dir": self.calendar_dir})
        self.services = Services.create(
            loaded.model_copy(update={"calendar": calendar}), self.clock
        )
        self.services.complaint_reader = self.reader
        self.staff: dict[str, Staff] = self.run(self._people())
        self.codes = {person.id: code for code, person in self.staff.items()}
        self.texts: dict[int, str] = {}
        self.details: dict[int, int] = {}
        self.history: dict[int, int] = {}

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    async def _people(self) -> dict[str, Staff]:
        async with self.services.db.session() as session:
            # What the previous example left: the org stays, its complaints go (repeats
            # first let go of the complaints they repeat).
            await session.exec(update(Complaint).values(repeat_of_id=None))
            return await sample_org_for_example(
                session,
                now=self.clock.now(),
                cleared=(
                    ComplaintDetail,
                    ComplaintPhoto,
                    ComplaintEvent,
                    OutboxMessage,
                    ChatState,
                    Complaint,
                ),
                registered=PEOPLE,
                first_chat=7_100_000_000,
            )

    def teardown(self) -> None:
        self.run(self.services.db.close())
        self.loop.close()

    async def _complaints(self) -> list[Complaint]:
        async with self.services.db.session() as session:
            return list((await session.exec(select(Complaint).order_by(col(Complaint.id)))).all())

    def _complaint_ids(self) -> list[int]:
        return sorted(self.texts)

    # -- rules -----------------------------------------------------------------------------

    @initialize(first=st.sampled_from(TEXTS), second=st.sampled_from(TEXTS))
    def two_reports(self, first: str, second: str) -> None:
        self.report("C001", first)
        self.report("C002", second)

    @rule(who=st.sampled_from(REPORTERS), text=st.sampled_from(TEXTS))
    def report(self, who: str, text: str) -> None:
        assert self.reader is not None
        draft = self.run(uc.report_complaint(self.services, self.reader, self.staff[who], text))
        assert draft.card.complaint.id is not None
        self.texts[draft.card.complaint.id] = text

    def _act(self, outcome: object, who: str, before: Complaint | None) -> None:
        """A refusal changes nothing; a stranger is always refused."""
        if who == STRANGER:
            assert isinstance(outcome, uc.Refusal), outcome
        if isinstance(outcome, uc.Refusal) and before is not None:
            after = self.run(self._get(before.id or 0))
            assert lifecycle_of(after) == lifecycle_of(before)

    async def _get(self, complaint_id: int) -> Complaint:
        async with self.services.db.session() as session:
            complaint = await session.get(Complaint, complaint_id)
            assert complaint is not None
            return complaint

    def _pick(self, data: st.DataObject, by: str = "reporter") -> tuple[int, str, Complaint]:
        """A complaint and someone acting on it: mostly who would (its reporter, its owner
        or handler, the county manager), sometimes anyone at all (the stranger too)."""
        complaint_id = data.draw(st.sampled_from(self._complaint_ids()))
        complaint = self.run(self._get(complaint_id))
        likely = {
            "reporter": self.codes[complaint.reporter_id],
            "handler": self.codes.get(complaint.owner_id or complaint.handler_id or 0, "M003"),
            "manager": "M003",
        }[by]
        who = data.draw(st.sampled_from([likely] * 6 + list(PEOPLE)))
        return complaint_id, who, complaint

    @precondition(lambda self: self.texts)
    @rule(data=st.data())
    def confirm(self, data: st.DataObject) -> None:
        complaint_id, who, before = self._pick(data)
        outcome = self.run(uc.confirm_complaint(self.services, complaint_id, self.staff[who]))
        self._act(outcome, who, before)

    @precondition(lambda self: self.texts)
    @rule(data=st.data(), category=st.sampled_from(list(Category)))
    def change_category(self, data: st.DataObject, category: Category) -> None:
        complaint_id, who, before = self._pick(data)
        outcome = self.run(
            uc.choose_category(self.services, complaint_id, self.staff[who], category)
        )
        self._act(outcome, who, before)

    @precondition(lambda self: self.texts)
    @rule(data=st.data(), department=st.sampled_from([Department.FINANCE, Department.DELIVERY]))
    def reroute(self, data: st.DataObject, department: Department) -> None:
        complaint_id, who, before = self._pick(data, "handler")
        outcome = self.run(
            uc.reroute_complaint(self.services, complaint_id, self.staff[who], department, "转办")
        )
        self._act(outcome, who, before)

    @precondition(lambda self: self.texts)
    @rule(data=st.data())
    def return_it(self, data: st.DataObject) -> None:
        complaint_id, who, before = self._pick(data, "handler")
        outcome = self.run(
            uc.return_complaint(self.services, complaint_id, self.staff[who], "信息不全")
        )
        self._act(outcome, who, before)

    @precondition(lambda self: self.texts)
    @rule(data=st.data(), text=st.sampled_from(REPLIES))
    def add_details(self, data: st.DataObject, text: str) -> None:
        complaint_id, who, before = self._pick(data)
        outcome = self.run(uc.add_details(self.services, complaint_id, self.staff[who], text))
        self._act(outcome, who, before)

    @precondition(lambda self: self.texts)
    @rule(data=st.data())
    def resubmit(self, data: st.DataObject) -> None:
        complaint_id, who, before = self._pick(data)
        outcome = self.run(uc.resubmit_complaint(self.services, complaint_id, self.staff[who]))
        self._act(outcome, who, before)

    @precondition(lambda self: self.texts)
    @rule(data=st.data())
    def withdraw(self, data: st.DataObject) -> None:
        complaint_id, who, before = self._pick(data)
        outcome = self.run(uc.withdraw_complaint(self.services, complaint_id, self.staff[who]))
        self._act(outcome, who, before)

    @precondition(lambda self: self.texts)
    @rule(data=st.data())
    def claim(self, data: st.DataObject) -> None:
        complaint_id, who, before = self._pick(data, "manager")
        outcome = self.run(uc.claim_complaint(self.services, complaint_id, self.staff[who]))
        self._act(outcome, who, before)

    @precondition(lambda self: self.texts)
    @rule(data=st.data(), text=st.sampled_from(REPLIES))
    def answer(self, data: st.DataObject, text: str) -> None:
        complaint_id, who, before = self._pick(data, "handler")
        outcome = self.run(uc.answer_complaint(self.services, complaint_id, self.staff[who], text))
        self._act(outcome, who, before)

    @precondition(lambda self: self.texts)
    @rule(data=st.data())
    def satisfied(self, data: st.DataObject) -> None:
        complaint_id, who, before = self._pick(data)
        outcome = self.run(uc.rate_answer(self.services, complaint_id, self.staff[who]))
        self._act(outcome, who, before)

    @precondition(lambda self: self.texts)
    @rule(data=st.data())
    def dissatisfied(self, data: st.DataObject) -> None:
        complaint_id, who, before = self._pick(data)
        outcome = self.run(
            uc.reopen_complaint(self.services, complaint_id, self.staff[who], "还是没有送到")
        )
        self._act(outcome, who, before)

    # -- the likely next step, by the right person (random steps alone seldom get far) ---

    def _advance(self, data: st.DataObject) -> None:
        complaint_id = data.draw(st.sampled_from(self._complaint_ids()))
        complaint = self.run(self._get(complaint_id))
        services, state = self.services, complaint.status
        reporter = self.staff[self.codes[complaint.reporter_id]]
        handling = self.staff[self.codes.get(complaint.owner_id or 0, "M003")]
        handler = self.staff[self.codes.get(complaint.handler_id or 0, "M003")]
        manager = self.staff["M003"]
        steps: dict[State, list[Callable[[], Coroutine[Any, Any, object]]]] = {
            State.DRAFT: [lambda: uc.confirm_complaint(services, complaint_id, reporter)],
            State.OPEN: [
                lambda: uc.answer_complaint(
                    services, complaint_id, handling, "已查明原因并答复用户"
                ),
                lambda: uc.claim_complaint(services, complaint_id, manager),
                lambda: uc.return_complaint(services, complaint_id, handling, "信息不全"),
                lambda: uc.reroute_complaint(
                    services, complaint_id, handling, Department.FINANCE, "代收款"
                ),
            ],
            State.CLAIMED: [
                lambda: uc.answer_complaint(services, complaint_id, handler, "已补投"),
                lambda: uc.answer_complaint(services, complaint_id, manager, "已处理"),
            ],
            State.REOPENED: [
                lambda: uc.answer_complaint(services, complaint_id, handling, "再次处理")
            ],
            State.RETURNED: [
                lambda: uc.add_details(services, complaint_id, reporter, "地址：团结路12号"),
                lambda: uc.resubmit_complaint(services, complaint_id, reporter),
                lambda: uc.withdraw_complaint(services, complaint_id, reporter),
            ],
            State.ANSWERED: [
                lambda: uc.rate_answer(services, complaint_id, reporter),
                lambda: uc.reopen_complaint(services, complaint_id, reporter, "还是没有送到"),
            ],
        }
        options = steps.get(State(state), [])
        if not options:
            return
        chosen = data.draw(st.integers(0, len(options) - 1))
        self._act(self.run(options[chosen]()), "", complaint)

    @precondition(lambda self: self.texts)
    @rule(data=st.data())
    def advance(self, data: st.DataObject) -> None:
        self._advance(data)

    @precondition(lambda self: self.texts)
    @rule(data=st.data())
    def advance_again(self, data: st.DataObject) -> None:
        self._advance(data)

    @precondition(lambda self: self.texts)
    @rule(data=st.data())
    def advance_once_more(self, data: st.DataObject) -> None:
        self._advance(data)

    @rule(hours=st.sampled_from([1, 4, 9, 24, 24 * 3, 24 * 8]))
    def time_passes(self, hours: int) -> None:
        self.clock.set(self.clock.now() + timedelta(hours=hours))
        self.run(uc.escalate_overdue(self.services))

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def lifecycles_hold(self) -> None:
        self.run(self._check())

    async def _check(self) -> None:
        calendar = self.services.calendar
        async with self.services.db.session() as session:
            complaints = (await session.exec(select(Complaint))).all()
            outbox = (await session.exec(select(OutboxMessage))).all()
            events = (await session.exec(select(ComplaintEvent))).all()
            details = (await session.exec(select(ComplaintDetail))).all()
        chats = {s.id: s.telegram_user_id for s in self.staff.values()}
        for complaint in complaints:
            assert complaint.id is not None
            lifecycle = lifecycle_of(complaint)
            assert violations(lifecycle) == [], (complaint.id, lifecycle)
            assert complaint.text == self.texts[complaint.id]
            if lifecycle.next_escalation_at is not None:
                day = lifecycle.next_escalation_at.astimezone(TZ).date()
                assert calendar.is_working_day(day), (complaint.id, day)
            if lifecycle.state in ACTIVE:
                owner = lifecycle.owner_id
                told = any(
                    m.chat_id == chats.get(owner)
                    and m.key.startswith(
                        (f"complaint:{complaint.id}:", f"escalation:{complaint.id}:")
                    )
                    for m in outbox
                )
                assert told or owner == lifecycle.claimed_by, (complaint.id, lifecycle)
            if lifecycle.state is State.DRAFT:
                assert lifecycle.next_escalation_at is None
            kept = sum(1 for d in details if d.complaint_id == complaint.id)
            lines = sum(1 for e in events if e.complaint_id == complaint.id)
            assert kept >= self.details.get(complaint.id, 0)
            assert lines >= self.history.get(complaint.id, 0)
            self.details[complaint.id], self.history[complaint.id] = kept, lines
        assert {c.id for c in complaints} == set(self.texts)


def run_machine(database_url: str, calendar_dir: Path, reader: ComplaintReader, n: int) -> None:
    run_seeded(
        ComplaintMachine,
        examples=n,
        steps=20,
        database_url=database_url,
        calendar_dir=calendar_dir,
        reader=reader,
    )


def test_the_lifecycle_holds_its_invariants(
    database_url: str, tmp_path: Path, stateful_reader: ComplaintReader
) -> None:
    run_machine(database_url, tmp_path, stateful_reader, 15)


@pytest.mark.slow
def test_the_lifecycle_holds_its_invariants_at_length(
    database_url: str, tmp_path: Path, stateful_reader: ComplaintReader
) -> None:
    run_machine(database_url, tmp_path, stateful_reader, 300)
