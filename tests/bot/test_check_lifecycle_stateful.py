"""A check's lifecycle under random sequences of steps by random people, through the use
cases on a real database (SQLite and PostgreSQL), with a clock that moves from the go-live
day across National Day (counters close, delivery stations stay open). Inspectors open,
answer (good replies, bad ones, stale buttons), skip, redo, pause and confirm checks; the
scheduled steps plan, push, remind and close the days; inspectors leave. After every step:

- a status only moves forward (planned → in progress → done / missed); a done or missed
  check never changes again (missed has no late path back to done);
- a question is answered at most once: answers only grow, each keeping its value, except
  when the inspector starts again from the summary (redo), and a refused or rejected step
  changes nothing; every stored answer belongs to a question asked on that path and is a
  valid value of its type;
- a done check has every question of its path answered (optional ones may be skipped);
- a finished day has no open check: the day's end marks exactly the unfinished ones missed,
  and each unit's manager is sent the day's misses;
- nothing is planned before go-live, for a day the site is closed, or for someone who left;
  someone who left holds no open check or corrective action, and their chat is no check's;
- a check with findings has one finding with one corrective action and a re-check on the
  working day after its deadline; an action is closed exactly when its re-check was done
  without findings;
- the morning push reaches exactly the registered inspectors with checks that day, the
  reminder exactly those with checks still open;
- /progress counts exactly the day's rows, status by status and inspector by inspector.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlmodel import col, select

from bot.app.jobs import STEPS
from bot.clock import ManualClock
from bot.services import Services
from bot.settings import load_settings
from bot.usecases import checks as uc
from bot.usecases import reports
from bot.usecases.offboarding import Outcome, offboard
from bot.views.cards import CheckView
from db.checks import UNFINISHED, decode_ids, read_answers
from db.models import (
    Assignment,
    AssignmentStatus,
    ChatState,
    CorrectiveAction,
    Finding,
    InviteCode,
    JobRun,
    OutboxMessage,
    Staff,
)
from db.staff import load_org_units
from scheduler import check_flow
from scheduler.catalog import CatalogItem, Question, QuestionType
from scheduler.complaints import escalation_chain
from scheduler.org import Level, OrgUnit
from tests.conftest import REPO, SHANGHAI
from tests.stateful import run_seeded, sample_org_for_example

T = TypeVar("T")
START = datetime(2026, 9, 28, 7, 0, tzinfo=SHANGHAI)  # Monday; National Day is Thursday
GO_LIVE = date(2026, 9, 29)
DOERS = ("I002", "I003", "I004", "I005", "M003", "M004")  # M003, M004: successors of leavers
LEAVERS = ("I003", "I004", "I005")
STRANGER = "C001"
UNREGISTERED = "I001"  # has checks, no chat: never pushed
MANAGERS = ("M001", "M002", "M003", "M004")
ACTORS = (*DOERS, STRANGER)
CHECK_STEPS = tuple(s for s in STEPS if s in (uc.close_day, uc.plan_and_push, uc.remind_unfinished))
FORWARD = {
    AssignmentStatus.PLANNED: set(AssignmentStatus),
    AssignmentStatus.IN_PROGRESS: {
        AssignmentStatus.IN_PROGRESS,
        AssignmentStatus.DONE,
        AssignmentStatus.MISSED,
    },
    AssignmentStatus.DONE: {AssignmentStatus.DONE},
    AssignmentStatus.MISSED: {AssignmentStatus.MISSED},
}
BAD_REPLIES = (
    check_flow.Reply(text="两百多"),
    check_flow.Reply(text="  "),
    check_flow.Reply(text="-3"),
    check_flow.Reply(text="9" * 30),
    check_flow.Reply(text="x" * (check_flow.MAX_TEXT_ANSWER + 1)),
    check_flow.Reply(photo_file_id="photo-bad"),
)


def good_replies(question: Question) -> list[check_flow.Reply]:
    """Replies an inspector would give, findings included; the sample rules may still refuse
    some of the numbers."""
    match question.type:
        case QuestionType.YES_NO:
            words = ["是", "否"]
        case QuestionType.INTEGER:
            words = ["20", "0", "1", "25", "200", "6", "4", "十"]
        case QuestionType.CHOICE:
            words = ["1", *question.options]
        case QuestionType.PHOTO:
            return [check_flow.Reply(photo_file_id="photo-1")]
        case _:
            words = ["门口积压邮件三袋", "已当场纠正"]
    return [check_flow.Reply(text=word) for word in words]


def valid_value(question: Question, value: object) -> bool:
    if value is None:
        return question.optional
    match question.type:
        case QuestionType.YES_NO:
            return value in (check_flow.YES, check_flow.NO)
        case QuestionType.INTEGER:
            low = question.min if question.min is not None else 0
            high = question.max if question.max is not None else value
            return isinstance(value, int) and low <= value <= high  # type: ignore[operator]
        case QuestionType.CHOICE:
            return value in question.options
    return isinstance(value, str) and 0 < len(value) <= check_flow.MAX_TEXT_ANSWER


def site_open(unit: OrgUnit, day: date, services: Services) -> bool:
    calendar = services.calendar
    working = calendar.is_working_day(day)
    if unit.operating is None:
        return working
    return unit.operating.is_open(day, working=working, holiday=calendar.is_holiday(day))


@dataclass
class Snapshot:
    """Everything the invariants read, in one transaction."""

    rows: list[Assignment]
    units: dict[int, OrgUnit]
    states: list[ChatState]
    findings: list[Finding]
    actions: list[CorrectiveAction]
    keys: set[str]
    names: dict[int | None, str]


class CheckMachine(RuleBasedStateMachine):
    database_url = ""
    calendar_dir = Path()

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = ManualClock(START)
        loaded = load_settings(
            REPO / "config.toml",
            {"TELEGRAM_BOT_TOKEN": "1:test", "DATABASE_URL": self.database_url},
        )
        calendar = loaded.calendar.model_copy(update={"admin_dir": self.calendar_dir})
        checks = loaded.checks.model_copy(update={"go_live": GO_LIVE})
        self.services = Services.create(
            loaded.model_copy(update={"calendar": calendar, "checks": checks}), self.clock
        )
        self.staff: dict[str, Staff] = self.run(self._people())
        self.codes = {person.id: code for code, person in self.staff.items()}
        self.left: dict[int, date] = {}
        # The last answers seen of each check, and its status: what the next step may change.
        self.answers: dict[int, dict[str, Any]] = {}
        self.statuses: dict[int, AssignmentStatus] = {}
        self.frozen: dict[int, tuple[Any, ...]] = {}
        self.redone: int | None = None
        self.progress_shown: tuple[object, ...] = ()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    async def _people(self) -> dict[str, Staff]:
        async with self.services.db.session() as session:
            # What the previous example left: the org stays, its checks and leavers go.
            return await sample_org_for_example(
                session,
                now=self.clock.now(),
                cleared=(
                    CorrectiveAction,
                    Finding,
                    ChatState,
                    OutboxMessage,
                    JobRun,
                    InviteCode,
                    Assignment,
                ),
                registered=(*ACTORS, *MANAGERS),
                first_chat=7_200_000_000,
                unregistered=(UNREGISTERED,),
            )

    def teardown(self) -> None:
        self.run(self.services.db.close())
        self.loop.close()

    async def _rows(self) -> list[Assignment]:
        async with self.services.db.session() as session:
            statement = select(Assignment).order_by(col(Assignment.id))
            return list((await session.exec(statement)).all())

    async def _get(self, assignment_id: int) -> Assignment:
        async with self.services.db.session() as session:
            found = await session.get(Assignment, assignment_id)
            assert found is not None
            return found

    def _today(self) -> date:
        return self.clock.now().date()

    def _expected_refusal(self, row: Assignment, who: str) -> uc.Refusal | None:
        if row.inspector_id != self.staff[who].id:
            return uc.Refusal.NOT_YOURS
        if row.status not in UNFINISHED:
            return uc.Refusal.FINISHED
        if row.day != self._today():
            return uc.Refusal.NOT_TODAY
        return None

    def _pick(self, data: st.DataObject) -> tuple[str, Assignment] | None:
        """Someone and a check: mostly a doer and one of their open checks of today,
        sometimes anyone and any check (someone else's, finished, of another day)."""
        rows = self.run(self._rows())
        if not rows:
            return None
        today = self._today()
        open_today = [
            r
            for r in rows
            if r.day == today
            and r.status in UNFINISHED
            and r.inspector_id in self.codes
            and r.inspector_id not in self.left
        ]
        if open_today and data.draw(st.integers(0, 3), label="likely") > 0:
            row = data.draw(st.sampled_from(open_today), label="open check")
            return self.codes[row.inspector_id], row
        return data.draw(st.sampled_from(ACTORS), label="anyone"), data.draw(
            st.sampled_from(rows), label="any check"
        )

    def _unchanged_unless(self, outcome: object, before: Assignment) -> None:
        """A refusal, a rejected reply or a stale button changes nothing."""
        if isinstance(outcome, uc.Refusal) or (
            isinstance(outcome, CheckView) and outcome.rejected is not None
        ):
            after = self.run(self._get(before.id or 0))
            assert (after.status, after.answers, after.inspector_id) == (
                before.status,
                before.answers,
                before.inspector_id,
            )

    # -- the inspector's steps -------------------------------------------------------------

    @rule(data=st.data())
    def open_check(self, data: st.DataObject) -> None:
        picked = self._pick(data)
        if picked is None:
            return
        who, before = picked
        assert before.id is not None
        outcome = self.run(uc.open_check(self.services, self.staff[who], before.id))
        expected = self._expected_refusal(before, who)
        if expected is not None:
            assert outcome is expected, (outcome, expected)
        else:
            assert isinstance(outcome, CheckView)
            assert self.run(uc.current_check(self.services, self.staff[who])) == before.id
        self._unchanged_unless(outcome, before)

    def _answer(self, who: str, before: Assignment, reply: check_flow.Reply | None) -> None:
        assert before.id is not None
        item = self.services.catalog.get(before.item_id)
        question = check_flow.next_question(item, read_answers(before))
        outcome = self.run(uc.answer_current(self.services, self.staff[who], before.id, reply))
        expected = self._expected_refusal(before, who)
        if expected is not None:
            assert outcome is expected, (outcome, expected)
        elif question is None:
            assert isinstance(outcome, CheckView) and outcome.question is None
        self._unchanged_unless(outcome, before)

    @rule(data=st.data())
    def answer(self, data: st.DataObject) -> None:
        picked = self._pick(data)
        if picked is None:
            return
        who, before = picked
        item = self.services.catalog.get(before.item_id)
        question = check_flow.next_question(item, read_answers(before))
        replies = [*(good_replies(question) if question else []), *BAD_REPLIES]
        self._answer(who, before, data.draw(st.sampled_from(replies), label="reply"))

    @rule(data=st.data())
    def skip(self, data: st.DataObject) -> None:
        picked = self._pick(data)
        if picked is not None:
            self._answer(*picked, None)

    @rule(data=st.data())
    def press_an_answered_question(self, data: st.DataObject) -> None:
        """A button of a question answered already (pressed twice, or an older message)."""
        picked = self._pick(data)
        if picked is None:
            return
        who, before = picked
        answered = list(read_answers(before))
        if not answered or before.id is None:
            return
        question_id = data.draw(st.sampled_from(answered), label="old question")
        outcome = self.run(
            uc.answer_current(
                self.services,
                self.staff[who],
                before.id,
                check_flow.Reply(text="是"),
                question_id=question_id,
            )
        )
        assert isinstance(outcome, uc.Refusal), outcome
        self._unchanged_unless(outcome, before)

    @rule(data=st.data())
    def redo(self, data: st.DataObject) -> None:
        picked = self._pick(data)
        if picked is None:
            return
        who, before = picked
        assert before.id is not None
        item = self.services.catalog.get(before.item_id)
        at_summary = check_flow.next_question(item, read_answers(before)) is None
        outcome = self.run(uc.redo_check(self.services, self.staff[who], before.id))
        expected = self._expected_refusal(before, who)
        if expected is not None:
            assert outcome is expected, (outcome, expected)
        elif not at_summary:
            assert outcome is uc.Refusal.OUTDATED
        else:
            assert isinstance(outcome, CheckView)
            self.redone = before.id
        self._unchanged_unless(outcome, before)

    @rule(data=st.data())
    def confirm(self, data: st.DataObject) -> None:
        picked = self._pick(data)
        if picked is None:
            return
        self._confirm(*picked)

    def _confirm(self, who: str, before: Assignment) -> None:
        assert before.id is not None
        item = self.services.catalog.get(before.item_id)
        answers = read_answers(before)
        outcome = self.run(uc.confirm_check(self.services, self.staff[who], before.id))
        expected = self._expected_refusal(before, who)
        if expected is None and check_flow.next_question(item, answers) is not None:
            expected = uc.Refusal.UNANSWERED
        if expected is not None:
            assert outcome is expected, (outcome, expected)
            self._unchanged_unless(outcome, before)
            return
        assert isinstance(outcome, uc.Confirmed)
        assert outcome.findings == len(check_flow.findings(item, answers))
        assert self.run(uc.current_check(self.services, self.staff[who])) is None

    @rule(who=st.sampled_from(ACTORS))
    def pause(self, who: str) -> None:
        current = self.run(uc.current_check(self.services, self.staff[who]))
        paused = self.run(uc.pause_check(self.services, self.staff[who]))
        assert paused == (current is not None)
        assert self.run(uc.current_check(self.services, self.staff[who])) is None

    @rule(data=st.data())
    def advance(self, data: st.DataObject) -> None:
        self._advance(data)

    @rule(data=st.data())
    def advance_again(self, data: st.DataObject) -> None:
        self._advance(data)

    def _advance(self, data: st.DataObject) -> None:
        """The likely next step of an open check of today, by its inspector (random steps
        alone seldom reach the summary): open it, answer well, confirm at the summary."""
        today = self._today()
        rows = [
            r
            for r in self.run(self._rows())
            if r.day == today
            and r.status in UNFINISHED
            and r.inspector_id in self.codes
            and r.inspector_id not in self.left
        ]
        if not rows:
            return
        row = data.draw(st.sampled_from(rows), label="check to advance")
        who, row_id = self.codes[row.inspector_id], row.id
        assert row_id is not None
        if row.status is AssignmentStatus.PLANNED:
            self.run(uc.open_check(self.services, self.staff[who], row_id))
            row = self.run(self._get(row_id))
        item = self.services.catalog.get(row.item_id)
        answers = read_answers(row)
        while (question := check_flow.next_question(item, answers)) is not None:
            fits = [
                reply
                for reply in good_replies(question)
                if not isinstance(
                    self._accepts(item, row, answers, question, reply), check_flow.Rejected
                )
            ]
            reply = data.draw(st.sampled_from(fits), label="good reply") if fits else None
            view = self.run(uc.answer_current(self.services, self.staff[who], row_id, reply))
            assert isinstance(view, CheckView) and view.rejected is None, view
            answers = view.answers
        self._confirm(who, self.run(self._get(row_id)))

    def _accepts(
        self,
        item: CatalogItem,
        row: Assignment,
        answers: check_flow.Answers,
        question: Question,
        reply: check_flow.Reply,
    ) -> object:
        points = len(decode_ids(row.transfer_point_ids)) or None
        return check_flow.accept(item, answers, question, reply, assigned_transfer_points=points)

    @precondition(lambda self: not self.left)
    @rule(code=st.sampled_from(LEAVERS))
    def leaves(self, code: str) -> None:
        person = self.staff[code]
        assert person.id is not None
        today = self._today()
        handed = [
            r
            for r in self.run(self._rows())
            if r.inspector_id == person.id and r.status in UNFINISHED and r.day >= today
        ]
        result = self.run(offboard(self.services, code))
        if person.id in self.left:
            assert result.outcome is Outcome.ALREADY
            return
        assert result.outcome is Outcome.DONE and result.checks == len(handed)
        self.left[person.id] = today

    # -- time ------------------------------------------------------------------------------

    @rule(hours=st.sampled_from([1, 2, 4, 7, 16, 24, 24 * 3]))
    def time_passes(self, hours: float) -> None:
        """The clock moves and the scheduled steps run, in the bot's order."""
        self.clock.set(self.clock.now() + timedelta(hours=hours))
        now = self.clock.now()
        end = self.services.settings.time.end_of_day
        closing = now.date() if now.time() >= end else now.date() - timedelta(days=1)
        before = self.run(self._rows())
        open_then = {r.id for r in before if r.day <= closing and r.status in UNFINISHED}
        jobs_before = self.run(self._job_keys())
        for step in CHECK_STEPS:
            self.run(step(self.services))
        after = self.run(self._rows())
        newly_missed = {
            r.id
            for r in after
            if r.status is AssignmentStatus.MISSED and self.statuses.get(r.id or 0) in UNFINISHED
        }
        assert newly_missed == open_then, (newly_missed, open_then)
        self.run(self._check_missed_told([r for r in after if r.id in newly_missed]))
        new_jobs = self.run(self._job_keys()) - jobs_before
        today = now.date()
        self.run(self._check_pushes(after, today, f"morning:{today}" in new_jobs, False))
        self.run(self._check_pushes(after, today, f"reminder:{today}" in new_jobs, True))

    @rule()
    def a_recheck_day_comes(self) -> None:
        """Jump to 09:00 of the next day with a re-check (days between: the bot was down)."""
        today = self._today()
        days = [
            r.day
            for r in self.run(self._rows())
            if r.is_recheck and r.status in UNFINISHED and r.day > today
        ]
        if days:
            morning = datetime.combine(min(days), time(9), tzinfo=SHANGHAI)
            self.time_passes((morning - self.clock.now()) / timedelta(hours=1))

    async def _job_keys(self) -> set[str]:
        async with self.services.db.session() as session:
            return set((await session.exec(select(JobRun.key))).all())

    async def _outbox_keys(self) -> set[str]:
        async with self.services.db.session() as session:
            return set((await session.exec(select(OutboxMessage.key))).all())

    async def _check_missed_told(self, missed: list[Assignment]) -> None:
        async with self.services.db.session() as session:
            reference = await self.services.reference.get(session)
        keys = await self._outbox_keys()
        for row in missed:
            chain = escalation_chain(row.unit_id, reference.units, reference.managers)
            assert chain, row
            for manager_id in chain[0]:
                assert f"missed:{row.day}:{manager_id}" in keys, (row, manager_id)

    async def _check_pushes(
        self, rows: list[Assignment], today: date, ran: bool, open_only: bool
    ) -> None:
        """Right after the morning push (or the reminder) ran: one message for each
        registered inspector with checks today (still open ones, for the reminder)."""
        if not ran:
            return
        prefix = "reminder" if open_only else "morning"
        chats = {p.id for p in self.staff.values() if p.telegram_user_id is not None}
        due = {
            r.inspector_id
            for r in rows
            if r.day == today
            and (not open_only or r.status in UNFINISHED)
            and r.inspector_id in chats
            and r.inspector_id not in self.left
        }
        sent = {
            int(key.rsplit(":", 1)[1])
            for key in await self._outbox_keys()
            if key.startswith(f"{prefix}:{today}:") and "~" not in key
        }
        assert sent == due, (prefix, sent, due)

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def lifecycle_holds(self) -> None:
        seen = self.run(self._snapshot())
        self._check_statuses_and_answers(seen.rows)
        self._check_days_and_people(seen)
        self._check_findings(seen)
        self.run(self._check_progress(seen))
        self.redone = None

    async def _snapshot(self) -> Snapshot:
        opening = self.services.settings.checks.opening()
        async with self.services.db.session() as session:
            return Snapshot(
                rows=list(
                    (await session.exec(select(Assignment).order_by(col(Assignment.id)))).all()
                ),
                units=await load_org_units(session=session, opening=opening),
                states=list((await session.exec(select(ChatState))).all()),
                findings=list((await session.exec(select(Finding))).all()),
                actions=list((await session.exec(select(CorrectiveAction))).all()),
                keys=set((await session.exec(select(OutboxMessage.key))).all()),
                names={s.id: s.name for s in (await session.exec(select(Staff))).all()},
            )

    def _check_statuses_and_answers(self, rows: list[Assignment]) -> None:
        now = self.clock.now()
        day_over = now.time() >= self.services.settings.time.end_of_day
        for row in rows:
            assert row.id is not None
            item = self.services.catalog.get(row.item_id)
            answers = read_answers(row)
            previous = self.statuses.get(row.id, AssignmentStatus.PLANNED)
            assert row.status in FORWARD[previous], (row.id, previous, row.status)
            frozen = (row.status, row.answers, row.inspector_id, row.completed_at)
            if row.id in self.frozen:
                assert frozen == self.frozen[row.id], row.id
            elif row.status not in UNFINISHED:
                self.frozen[row.id] = frozen
            earlier = {} if row.id == self.redone else self.answers.get(row.id, {})
            assert {k: answers.get(k, "—") for k in earlier} == earlier, (row.id, answers)
            self.answers[row.id], self.statuses[row.id] = answers, row.status
            asked = {q.id: q for q in check_flow.asked_questions(item, answers)}
            assert set(answers) <= set(asked), (row.id, answers)
            for question_id, value in answers.items():
                assert valid_value(asked[question_id], value), (row.id, question_id, value)
            if row.status is AssignmentStatus.DONE:
                assert check_flow.next_question(item, answers) is None, row.id
                assert row.completed_at is not None
            else:
                assert row.completed_at is None
            if row.day < now.date() or (row.day == now.date() and day_over):
                assert row.status not in UNFINISHED, (row.id, row.day, row.status)

    def _check_days_and_people(self, seen: Snapshot) -> None:
        calendar = self.services.calendar
        for row in seen.rows:
            if row.is_recheck:
                assert calendar.is_working_day(row.day), row
                continue
            assert row.day >= GO_LIVE, row
            site = seen.units[row.target_site_id or row.unit_id]
            if site.level is Level.SITE:
                assert site_open(site, row.day, self.services), row
            else:
                assert calendar.is_working_day(row.day), row
            left_on = self.left.get(row.inspector_id)
            if left_on is not None:
                assert row.status not in UNFINISHED, row
                assert row.day <= left_on, row
        by_id = {r.id: r for r in seen.rows}
        for state in seen.states:
            assert state.staff_id not in self.left, state
            if state.flow == uc.FLOW_CHECK:
                row = by_id[state.ref_id]
                assert row.status is AssignmentStatus.IN_PROGRESS, (state, row)
                assert row.inspector_id == state.staff_id, (state, row)
        for action in seen.actions:
            if action.closed_at is None:
                assert action.owner_id not in self.left, action

    def _check_findings(self, seen: Snapshot) -> None:
        by_id = {r.id: r for r in seen.rows}
        actions = {a.finding_id: a for a in seen.actions}
        found_in = Counter(f.assignment_id for f in seen.findings)
        for row in seen.rows:
            item = self.services.catalog.get(row.item_id)
            found = check_flow.findings(item, read_answers(row))
            expected = 1 if row.status is AssignmentStatus.DONE and found else 0
            assert found_in[row.id or 0] == expected, (row.id, found)
        calendar = self.services.calendar
        for finding in seen.findings:
            done = by_id[finding.assignment_id]
            item = self.services.catalog.get(done.item_id)
            assert finding.question_id == ",".join(check_flow.findings(item, read_answers(done)))
            action = actions[finding.id or 0]
            assert done.completed_at is not None
            assert action.deadline == calendar.add_working_days(done.completed_at, item.fix_days)
            recheck = by_id[action.recheck_assignment_id]
            assert recheck.is_recheck and recheck.item_id == done.item_id
            assert recheck.day == calendar.next_working_day(action.deadline.date())
            passed = recheck.status is AssignmentStatus.DONE and not check_flow.findings(
                item, read_answers(recheck)
            )
            assert (action.closed_at is not None) == passed, (action, recheck)
            if action.owner_id in self.codes and action.owner_id not in self.left:
                assert f"corrective:{finding.id}" in seen.keys, finding

    async def _check_progress(self, seen: Snapshot) -> None:
        """The region's manager sees every check of the day, as stored (asked again only
        when the day's rows changed: the same rows give the same figures)."""
        mine = [r for r in seen.rows if r.day == self._today()]
        shown = (self._today(), tuple((r.id, r.inspector_id, r.status) for r in mine))
        if shown == self.progress_shown:
            return
        self.progress_shown = shown
        progress = await reports.progress_today(self.services, self.staff["M001"])
        counted = Counter[AssignmentStatus]()
        for line in progress.inspectors:
            counted[AssignmentStatus.PLANNED] += line.planned
            counted[AssignmentStatus.IN_PROGRESS] += line.in_progress
            counted[AssignmentStatus.DONE] += line.done
            counted[AssignmentStatus.MISSED] += line.missed
        assert counted == Counter(r.status for r in mine), progress
        assert {
            line.name: line.planned + line.in_progress + line.done + line.missed
            for line in progress.inspectors
        } == Counter(seen.names[r.inspector_id] for r in mine), progress

    @initialize()
    def go_live(self) -> None:
        """08:00 on the day before go-live: nothing is planned yet; the next morning is."""
        self.time_passes(1)
        assert self.run(self._rows()) == []
        self.time_passes(24)
        assert self.run(self._rows())


def run_machine(database_url: str, calendar_dir: Path, examples: int) -> None:
    run_seeded(
        CheckMachine,
        examples=examples,
        steps=25,
        database_url=database_url,
        calendar_dir=calendar_dir,
    )


def test_a_check_holds_its_invariants(database_url: str, tmp_path: Path) -> None:
    run_machine(database_url, tmp_path, 25)


@pytest.mark.slow
def test_a_check_holds_its_invariants_at_length(database_url: str, tmp_path: Path) -> None:
    run_machine(database_url, tmp_path, 300)
