"""Daily-check use cases: plan and push the day's checks, walk an inspector through one
check, confirm it (findings become corrective actions and re-checks), remind, close the day.

Each function is one unit of work over db/, the rules of scheduler/ and the outbox.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import Enum

from sqlalchemy import Connection
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.heap import free_in_slices, pausing_collections
from bot.loop import handing_back
from bot.reference import ReferenceData
from bot.services import Services
from bot.usecases.messages import enqueue_message, enqueue_messages
from bot.views import texts
from bot.views.buttons import check_list_buttons
from bot.views.cards import CheckView, TodayLine
from db.chat_state import clear_chat_state, get_chat_state, set_chat_state
from db.checks import (
    close_actions_rechecked_by,
    decode_ids,
    get_assignment,
    insert_planned,
    list_assignments_on,
    list_day_assignments,
    list_unfinished_chats,
    list_unfinished_until,
    read_answers,
    read_history,
    read_org_snapshot,
    save_answers,
    start_assignment,
)
from db.inbox import lock_chats
from db.jobs import claim_job, is_job_claimed
from db.models import Assignment, AssignmentStatus, CorrectiveAction, Finding, Staff
from db.outbox import TextMessage
from db.staff import get_staff, list_staff_posts, load_staff
from scheduler import check_flow
from scheduler.complaints import escalation_chain
from scheduler.org import OrgSnapshot, Role
from scheduler.planner import HistoryEntry, PlannedAssignment, plan_day

logger = logging.getLogger(__name__)

FLOW_CHECK = "check"
# The planner counts periods up to a year; a week can reach back into December.
HISTORY_LOOKBACK = timedelta(days=7)


class Refusal(Enum):
    NOT_FOUND = "not_found"
    NOT_YOURS = "not_yours"
    FINISHED = "finished"
    NOT_TODAY = "not_today"
    UNANSWERED = "unanswered"  # confirm pressed before every question was answered
    OUTDATED = "outdated"  # a button of a question already answered, or of an older summary


# --- scheduled steps ----------------------------------------------------------------------


def _between(services: Services, start: time, end: time) -> datetime | None:
    """Now, if the clock is in [start, end); else None. Every day: sites open on weekends
    and holidays get their daily checks then (the planner knows which are due)."""
    now = services.clock.now()
    if not start <= now.time() < end:
        return None
    return now


# A province's history is hundreds of thousands of objects without cycles, the planner builds
# as many more, and its plan is stored and pushed as thousands of ORM objects and messages:
# the collector would walk them again and again (bot/heap.py), holding the loop each time.
@pausing_collections
async def plan_and_push(services: Services) -> int:
    """Between the morning push and the end of the day: plan the day and send each
    inspector one message with their checks. Once per day, whichever instance gets there
    first; a day the bot was down for is not planned afterwards (its quotas are caught up on
    the following days)."""
    times = services.settings.time
    now = _between(services, times.morning_push, times.end_of_day)
    if now is None:
        return 0
    today = now.date()
    key = f"morning:{today}"
    async with services.db.session() as session:
        if await is_job_claimed(session=session, key=key):
            return 0  # every tick of the day asks; only the first plans
    planned = await _plan(services, today)
    # Only the writes share a transaction with the claim: two instances may both plan, but
    # only one stores its plan and push (the other's planning is wasted).
    async with services.db.session() as session:
        if not await claim_job(session=session, key=key, now=now):
            return 0
        await insert_planned(session=session, planned=planned)
        assignments = await list_day_assignments(session=session, day=today)
        return await _push_lists(services, session, assignments, now)


async def _plan(services: Services, today: date) -> tuple[PlannedAssignment, ...]:
    """The day's plan, read and computed in a worker thread on a connection of its own,
    outside any session: the history's rows built on the event loop and the planning (a
    province: seconds of CPU) would stall every chat, and on SQLite a session would hold
    the process's one writer, so every update that writes would wait."""
    checks = services.settings.checks
    since = date(today.year, 1, 1) - HISTORY_LOOKBACK

    def read(connection: Connection) -> tuple[OrgSnapshot, list[HistoryEntry]]:
        org = read_org_snapshot(connection=connection, opening=checks.opening())
        return org, read_history(connection=connection, since=since, before=today)

    def plan() -> tuple[PlannedAssignment, ...]:
        org, history = services.db.blocking_read(read)
        try:
            return plan_day(
                services.catalog, org, services.calendar, today, history, go_live=checks.go_live
            )
        finally:
            free_in_slices(history)

    return await asyncio.to_thread(plan)


async def _push_lists(
    services: Services, session: AsyncSession, assignments: Sequence[Assignment], now: datetime
) -> int:
    lines = await _lines_by_inspector(services, session, assignments)
    day = now.date()
    return await _queue_lists(
        session,
        lines,
        f"morning:{day}",
        lambda inspector, own: texts.morning_push(inspector.name, day, own),
        now,
    )


async def _lines_by_inspector(
    services: Services, session: AsyncSession, assignments: Iterable[Assignment]
) -> dict[int, list[TodayLine]]:
    reference = await services.reference.get(session)
    lines: dict[int, list[TodayLine]] = defaultdict(list)
    async for assignment in handing_back(assignments):
        lines[assignment.inspector_id].append(_line(services, assignment, reference))
    return lines


async def _queue_lists(
    session: AsyncSession,
    lines: Mapping[int, list[TodayLine]],
    key: str,
    compose: Callable[[Staff, list[TodayLine]], str],
    now: datetime,
) -> int:
    """One message to each inspector with their list of checks (``compose`` words it), with
    a button per check; how many were newly queued."""
    people = await load_staff(session=session, staff_ids=lines)
    messages: list[TextMessage] = []
    async for inspector_id, own in handing_back(sorted(lines.items())):
        inspector = people[inspector_id]
        if inspector.telegram_user_id is None:
            continue
        messages.append(
            TextMessage(
                key=f"{key}:{inspector_id}",
                chat_id=inspector.telegram_user_id,
                text=compose(inspector, own),
                buttons=check_list_buttons(own),
            )
        )
    return await enqueue_messages(session=session, messages=messages, now=now)


def _line(services: Services, assignment: Assignment, reference: ReferenceData) -> TodayLine:
    item = services.catalog.get(assignment.item_id)
    answered, total = check_flow.progress(item, read_answers(assignment))
    site = reference.unit_name(assignment.target_site_id or assignment.unit_id)
    return TodayLine(assignment, item.title, site, answered, total)


async def remind_unfinished(services: Services) -> int:
    """Afternoon: one reminder per inspector who still has unfinished checks today."""
    times = services.settings.time
    now = _between(services, times.afternoon_reminder, times.end_of_day)
    if now is None:
        return 0
    today = now.date()
    async with services.db.session() as session:
        if not await claim_job(session=session, key=f"reminder:{today}", now=now):
            return 0
        unfinished = [
            assignment
            for assignment in await list_day_assignments(session=session, day=today)
            if assignment.status in (AssignmentStatus.PLANNED, AssignmentStatus.IN_PROGRESS)
        ]
        lines = await _lines_by_inspector(services, session, unfinished)
        return await _queue_lists(
            session,
            lines,
            f"reminder:{today}",
            lambda _, own: texts.afternoon_reminder(own, services.settings.time.end_of_day),
            now,
        )


async def close_day(services: Services) -> int:
    """End of day: unfinished checks become missed; each unit's manager gets one summary."""
    now = services.clock.now()
    today = now.date()
    day_over = now.time() >= services.settings.time.end_of_day
    last_open_day = today if day_over else today - timedelta(days=1)
    async with services.db.session() as session:
        # Updates of these inspectors under way finish first, and theirs wait for this commit
        # (db/inbox.py): an answer and the close never interleave.
        chats = await list_unfinished_chats(session=session, day=last_open_day)
        await lock_chats(session=session, chat_ids=chats)
        unfinished = await list_unfinished_until(session=session, day=last_open_day)
        if not unfinished:
            return 0
        reference = await services.reference.get(session)
        units, managers = reference.units, reference.managers
        misses: dict[tuple[date, int], list[str]] = defaultdict(list)
        people = await load_staff(
            session=session,
            staff_ids=[a.inspector_id for a in unfinished] + [m.staff_id for m in managers],
        )
        nearest_managers: dict[int, list[int]] = {}
        for assignment in unfinished:
            if assignment.status is AssignmentStatus.IN_PROGRESS and assignment.id is not None:
                await clear_check_state(session, people[assignment.inspector_id], assignment.id)
            assignment.status = AssignmentStatus.MISSED
            session.add(assignment)
            inspector = people[assignment.inspector_id]
            line = _line(services, assignment, reference)
            if assignment.unit_id not in nearest_managers:
                chain = escalation_chain(assignment.unit_id, units, managers)
                nearest_managers[assignment.unit_id] = chain[0] if chain else []
            for manager_id in nearest_managers[assignment.unit_id]:
                misses[(assignment.day, manager_id)].append(
                    texts.missed_line(inspector.name, line.site, line.title)
                )
        sent = 0
        for (day, manager_id), lines in sorted(misses.items()):
            manager = people[manager_id]
            if manager.telegram_user_id is None:
                continue
            sent += await enqueue_message(
                session=session,
                key=f"missed:{day}:{manager_id}",
                chat_id=manager.telegram_user_id,
                text=texts.missed_summary(day, lines),
                now=now,
            )
        return sent


async def clear_check_state(session: AsyncSession, inspector: Staff, assignment_id: int) -> None:
    assert inspector.id is not None
    state = await get_chat_state(session=session, staff_id=inspector.id)
    if state is not None and state.flow == FLOW_CHECK and state.ref_id == assignment_id:
        await clear_chat_state(session=session, staff_id=inspector.id)


# --- the conversation ---------------------------------------------------------------------


async def _view(
    services: Services,
    session: AsyncSession,
    assignment: Assignment,
    rejected: check_flow.Rejected | None = None,
) -> CheckView:
    item = services.catalog.get(assignment.item_id)
    answers = read_answers(assignment)
    reference = await services.reference.get(session)
    return CheckView(
        assignment=assignment,
        item=item,
        site=reference.unit_name(assignment.target_site_id or assignment.unit_id),
        answers=answers,
        question=check_flow.next_question(item, answers),
        rejected=rejected,
    )


async def _own_open(
    session: AsyncSession, assignment_id: int, inspector: Staff, today: date
) -> Assignment | Refusal:
    assignment = await get_assignment(session=session, assignment_id=assignment_id, for_update=True)
    if assignment is None:
        return Refusal.NOT_FOUND
    if assignment.inspector_id != inspector.id:
        return Refusal.NOT_YOURS
    if assignment.status in (AssignmentStatus.DONE, AssignmentStatus.MISSED):
        return Refusal.FINISHED
    if assignment.day != today:
        return Refusal.NOT_TODAY
    return assignment


async def open_check(
    services: Services, inspector: Staff, assignment_id: int
) -> CheckView | Refusal:
    """Start or resume a check: it becomes the inspector's current conversation."""
    assert inspector.id is not None
    now = services.clock.now()
    async with services.db.session() as session:
        assignment = await _own_open(session, assignment_id, inspector, now.date())
        if isinstance(assignment, Refusal):
            return assignment
        if assignment.status is AssignmentStatus.PLANNED:
            await start_assignment(session=session, assignment=assignment, now=now)
        await set_chat_state(
            session=session, staff_id=inspector.id, flow=FLOW_CHECK, ref_id=assignment_id, now=now
        )
        return await _view(services, session, assignment)


async def answer_current(
    services: Services,
    inspector: Staff,
    assignment_id: int,
    reply: check_flow.Reply | None,
    question_id: str | None = None,
) -> CheckView | Refusal:
    """Answer (or, with reply None, skip) the current question. A button pressed on an
    older question (question_id differs: answered already, or pressed twice) changes
    nothing."""
    now = services.clock.now()
    async with services.db.session() as session:
        assignment = await _own_open(session, assignment_id, inspector, now.date())
        if isinstance(assignment, Refusal):
            return assignment
        item = services.catalog.get(assignment.item_id)
        answers = read_answers(assignment)
        question = check_flow.next_question(item, answers)
        if question_id is not None and (question is None or question_id != question.id):
            return Refusal.OUTDATED
        if question is None:
            return await _view(services, session, assignment)
        outcome = (
            check_flow.skip(item, answers, question)
            if reply is None
            else check_flow.accept(
                item,
                answers,
                question,
                reply,
                assigned_transfer_points=len(decode_ids(assignment.transfer_point_ids)) or None,
            )
        )
        if isinstance(outcome, check_flow.Rejected):
            return await _view(services, session, assignment, outcome)
        await save_answers(session=session, assignment=assignment, answers=outcome)
        return await _view(services, session, assignment)


async def redo_check(
    services: Services, inspector: Staff, assignment_id: int
) -> CheckView | Refusal:
    """From the summary: start the answers again from the first question. Only from the
    summary: pressed twice, or on an older summary, it would wipe answers given since."""
    now = services.clock.now()
    async with services.db.session() as session:
        assignment = await _own_open(session, assignment_id, inspector, now.date())
        if isinstance(assignment, Refusal):
            return assignment
        item = services.catalog.get(assignment.item_id)
        if check_flow.next_question(item, read_answers(assignment)) is not None:
            return Refusal.OUTDATED
        await save_answers(session=session, assignment=assignment, answers={})
        return await _view(services, session, assignment)


@dataclass(frozen=True)
class Confirmed:
    view: CheckView
    findings: int
    recheck_day: date | None


async def confirm_check(
    services: Services, inspector: Staff, assignment_id: int
) -> Confirmed | Refusal:
    """Finish the check; each problem found opens a corrective action and a re-check."""
    assert inspector.id is not None
    now = services.clock.now()
    async with services.db.session() as session:
        assignment = await _own_open(session, assignment_id, inspector, now.date())
        if isinstance(assignment, Refusal):
            return assignment
        view = await _view(services, session, assignment)
        if view.question is not None:
            return Refusal.UNANSWERED
        assignment.status = AssignmentStatus.DONE
        assignment.completed_at = now
        session.add(assignment)
        await clear_chat_state(session=session, staff_id=inspector.id)
        found = check_flow.findings(view.item, view.answers)
        recheck_day = None
        if found:
            recheck_day = await _open_corrective_action(services, session, view, found, now)
        elif assignment.is_recheck:
            await close_actions_rechecked_by(session=session, assignment=assignment, now=now)
        return Confirmed(view, len(found), recheck_day)


async def _responsible_person(
    services: Services, session: AsyncSession, site_id: int
) -> Staff | None:
    """The site's responsible person: a manager of the site, else its 支局长/主任 (an
    inspector of the site), else the nearest manager above it."""
    reference = await services.reference.get(session)
    posts = [p for p in reference.managers if p.unit_id == site_id] or await list_staff_posts(
        session=session, role=Role.INSPECTOR, unit_id=site_id
    )
    if posts:
        return await get_staff(session=session, staff_id=min(p.staff_id for p in posts))
    chain = escalation_chain(site_id, reference.units, reference.managers)
    return await get_staff(session=session, staff_id=chain[0][0]) if chain else None


async def _open_corrective_action(
    services: Services,
    session: AsyncSession,
    view: CheckView,
    found: Sequence[str],
    now: datetime,
) -> date:
    assignment = view.assignment
    assert assignment.id is not None
    site_id = assignment.target_site_id or assignment.unit_id
    finding = Finding(
        assignment_id=assignment.id,
        item_id=assignment.item_id,
        site_id=site_id,
        question_id=",".join(found),
        description=check_flow.finding_description(view.item, view.answers),
        created_at=now,
    )
    session.add(finding)
    await session.flush()
    assert finding.id is not None
    deadline = services.calendar.add_working_days(now, view.item.fix_days)
    recheck_day = services.calendar.next_working_day(deadline.date())
    recheck = Assignment(
        key=f"recheck:{finding.id}",
        day=recheck_day,
        item_id=assignment.item_id,
        inspector_id=assignment.inspector_id,
        unit_id=assignment.unit_id,
        target_site_id=assignment.target_site_id,
        transfer_point_ids=assignment.transfer_point_ids,
        status=AssignmentStatus.PLANNED,
        is_recheck=True,
    )
    session.add(recheck)
    await session.flush()
    owner = await _responsible_person(services, session, site_id)
    session.add(
        CorrectiveAction(
            finding_id=finding.id,
            owner_id=owner.id if owner else None,
            deadline=deadline,
            recheck_assignment_id=recheck.id,
        )
    )
    if owner is not None and owner.telegram_user_id is not None:
        await enqueue_message(
            session=session,
            key=f"corrective:{finding.id}",
            chat_id=owner.telegram_user_id,
            text=texts.corrective_action_notice(
                view.item.title, view.site, finding.description, deadline, recheck_day
            ),
            now=now,
        )
    return recheck_day


async def pause_check(services: Services, inspector: Staff) -> bool:
    """/cancel inside a check: the answers so far stay; /today resumes it."""
    assert inspector.id is not None
    async with services.db.session() as session:
        state = await get_chat_state(session=session, staff_id=inspector.id)
        if state is None or state.flow != FLOW_CHECK:
            return False
        await clear_chat_state(session=session, staff_id=inspector.id)
        return True


async def today_lines(services: Services, inspector: Staff) -> list[TodayLine]:
    assert inspector.id is not None
    today = services.clock.now().date()
    async with services.db.session() as session:
        reference = await services.reference.get(session)
        return [
            _line(services, a, reference)
            for a in await list_assignments_on(
                session=session, day=today, inspector_id=inspector.id
            )
        ]


async def current_check(services: Services, inspector: Staff) -> int | None:
    """The assignment the inspector is answering right now, if any."""
    assert inspector.id is not None
    async with services.db.session() as session:
        state = await get_chat_state(session=session, staff_id=inspector.id)
    return state.ref_id if state is not None and state.flow == FLOW_CHECK else None


async def question_at(services: Services, assignment_id: int, index: int) -> str | None:
    """The id of the question a button was made for (its index in the catalog item)."""
    async with services.db.session() as session:
        assignment = await get_assignment(session=session, assignment_id=assignment_id)
    if assignment is None:
        return None
    questions = services.catalog.get(assignment.item_id).questions
    return questions[index].id if index < len(questions) else None
