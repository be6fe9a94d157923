"""The complaint lifecycle as one explicit state machine: states, the events that move a
complaint between them, who may fire each, and for every state who owns the complaint and
when it escalates (or closes) next. Pure: no database, no Telegram; the use cases apply the
Transition it returns, and db/complaints.py `save_transition` is the only writer.

Invariants (tests/scheduler/test_complaint_lifecycle.py and the stateful test check them):
- a complaint that is neither closed nor withdrawn, once confirmed, has an owner and a next
  escalation (or, when answered, closing) time on the business calendar;
- closed and withdrawn complaints have neither (nothing escalates them);
- the escalation level never goes down except when a dissatisfied reporter reopens it,
  which starts a new deadline.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from scheduler.complaints import WorkingDayCalendar, answer_deadline, escalation_time


class State(StrEnum):
    DRAFT = "draft"  # understood, waiting for the reporter to confirm
    OPEN = "open"  # routed: the handler (or, with none, the nearest manager) must answer
    CLAIMED = "claimed"  # an alerted manager took it over; the handler may still answer
    ANSWERED = "answered"  # answered; the reporter says 满意 / 不满意, or it closes itself
    REOPENED = "reopened"  # the reporter was not satisfied: back to the handler, new deadline
    RETURNED = "returned"  # sent back to the reporter for details; it keeps escalating
    WITHDRAWN = "withdrawn"  # the reporter withdrew it (or cancelled the draft)
    CLOSED = "closed"


class Event(StrEnum):
    CHANGE_CATEGORY = "change_category"
    CONFIRM = "confirm"
    REROUTE = "reroute"
    RETURN = "return"
    ADD_DETAILS = "add_details"
    RESUBMIT = "resubmit"
    WITHDRAW = "withdraw"
    CLAIM = "claim"
    ANSWER = "answer"
    SATISFIED = "satisfied"
    DISSATISFIED = "dissatisfied"
    ESCALATE = "escalate"
    CLOSE = "close"


class Party(StrEnum):
    """How a person stands to a complaint; one person may stand in several ways."""

    REPORTER = "reporter"
    HANDLER = "handler"  # the handler it is routed to (kept while a manager holds it)
    OWNER = "owner"  # who must act now: the handler, the claimer, or the fallback manager
    ALERTED = "alerted"  # a manager who was told about it (escalation, no handler)
    SYSTEM = "system"  # the clock: escalations and closing unconfirmed answers


ACTIVE = frozenset({State.OPEN, State.CLAIMED, State.REOPENED, State.RETURNED})
FINAL = frozenset({State.CLOSED, State.WITHDRAWN})
# States in which the reporter's answer 满意 / 不满意 is awaited.
AWAITING_REPORTER = frozenset({State.ANSWERED})

_HANDLING = frozenset({Party.HANDLER, Party.OWNER, Party.ALERTED})


@dataclass(frozen=True)
class Rule:
    sources: frozenset[State]
    parties: frozenset[Party]


RULES: dict[Event, Rule] = {
    Event.CHANGE_CATEGORY: Rule(
        frozenset({State.DRAFT, State.RETURNED}), frozenset({Party.REPORTER})
    ),
    Event.CONFIRM: Rule(frozenset({State.DRAFT}), frozenset({Party.REPORTER})),
    Event.REROUTE: Rule(frozenset({State.OPEN, State.CLAIMED, State.REOPENED}), _HANDLING),
    Event.RETURN: Rule(
        frozenset({State.OPEN, State.REOPENED}), frozenset({Party.HANDLER, Party.OWNER})
    ),
    Event.ADD_DETAILS: Rule(frozenset({State.RETURNED}), frozenset({Party.REPORTER})),
    Event.RESUBMIT: Rule(frozenset({State.RETURNED}), frozenset({Party.REPORTER})),
    Event.WITHDRAW: Rule(frozenset({State.DRAFT, State.RETURNED}), frozenset({Party.REPORTER})),
    Event.CLAIM: Rule(
        frozenset({State.OPEN, State.REOPENED, State.CLAIMED}), frozenset({Party.ALERTED})
    ),
    Event.ANSWER: Rule(frozenset({State.OPEN, State.CLAIMED, State.REOPENED}), _HANDLING),
    Event.SATISFIED: Rule(AWAITING_REPORTER, frozenset({Party.REPORTER})),
    Event.DISSATISFIED: Rule(AWAITING_REPORTER, frozenset({Party.REPORTER})),
    Event.ESCALATE: Rule(ACTIVE, frozenset({Party.SYSTEM})),
    Event.CLOSE: Rule(AWAITING_REPORTER, frozenset({Party.SYSTEM})),
}

# What each state waits for, for the README table and the cards.
OWNER_OF: dict[State, str] = {
    State.DRAFT: "reporter",
    State.OPEN: "handler (no handler: the nearest manager)",
    State.CLAIMED: "the manager who claimed it",
    State.ANSWERED: "reporter",
    State.REOPENED: "the handler who answered",
    State.RETURNED: "the handler who returned it (the reporter adds details)",
    State.WITHDRAWN: "nobody",
    State.CLOSED: "nobody",
}


@dataclass(frozen=True)
class Lifecycle:
    """The fields of a complaint that only transitions change."""

    state: State
    owner_id: int | None = None
    handler_id: int | None = None
    claimed_by: int | None = None
    # The department it goes to: proposed while a draft, then the one it was last routed
    # to, or (returned, the reporter changed the category) the new category's.
    department: str | None = None
    handler_unit_id: int | None = None  # where routing found its owner: escalation starts here
    deadline: datetime | None = None
    escalation_level: int = 0
    next_escalation_at: datetime | None = None  # when answered: when it closes by itself
    reopened: int = 0  # times a dissatisfied reporter reopened it


@dataclass(frozen=True)
class Route:
    """Where routing sends it: the department's nearest handler, or (none) a manager."""

    department: str
    handler_id: int | None = None
    fallback_manager_id: int | None = None  # the nearest manager, owner when no handler
    unit_id: int | None = None  # the handler's unit, or where the search for one started

    @property
    def owner_id(self) -> int | None:
        return self.handler_id if self.handler_id is not None else self.fallback_manager_id


@dataclass(frozen=True)
class Timing:
    now: datetime
    calendar: WorkingDayCalendar
    answer_within_days: int = 1
    close_after_days: int = 3  # an answer nobody rates closes after this many working days


@dataclass(frozen=True)
class Transition:
    event: Event
    before: Lifecycle
    after: Lifecycle

    @property
    def owner_changed(self) -> bool:
        return self.before.owner_id != self.after.owner_id


class Refusal(StrEnum):
    WRONG_STATE = "wrong_state"
    NOT_ALLOWED = "not_allowed"
    NEEDS_ROUTE = "needs_route"
    NOT_DUE = "not_due"


def may_fire(current: Lifecycle, event: Event, parties: frozenset[Party]) -> Refusal | None:
    """Why `parties` may not fire `event` now (None: they may)."""
    rule = RULES[event]
    if not parties & rule.parties:
        return Refusal.NOT_ALLOWED
    if current.state not in rule.sources:
        return Refusal.WRONG_STATE
    return None


def _routed(current: Lifecycle, route: Route) -> Lifecycle:
    return replace(
        current,
        owner_id=route.owner_id,
        handler_id=route.handler_id,
        claimed_by=None,
        department=route.department,
        handler_unit_id=route.unit_id,
    )


def _escalated(current: Lifecycle, timing: Timing) -> Lifecycle:
    """One level up; past the top of the chain the top is reminded every working day."""
    assert current.deadline is not None
    level = current.escalation_level + 1
    return replace(
        current,
        escalation_level=level,
        next_escalation_at=escalation_time(current.deadline, level + 1, timing.calendar),
    )


def fire(
    current: Lifecycle,
    event: Event,
    parties: frozenset[Party],
    timing: Timing,
    *,
    route: Route | None = None,
    actor_id: int | None = None,
) -> Transition | Refusal:
    """The transition `event` makes from `current`, or why it is refused."""
    refusal = may_fire(current, event, parties)
    if refusal is not None:
        return refusal
    now = timing.now
    after: Lifecycle
    match event:
        case Event.CHANGE_CATEGORY:
            # Only the department changes (the category's); a returned complaint is then
            # resubmitted there instead of where it was last routed.
            if route is None:
                return Refusal.NEEDS_ROUTE
            after = replace(current, department=route.department)
        case Event.ADD_DETAILS:
            after = current
        case Event.CONFIRM:
            if route is None:
                return Refusal.NEEDS_ROUTE
            deadline = answer_deadline(now, timing.answer_within_days, timing.calendar)
            after = replace(
                _routed(current, route),
                state=State.OPEN,
                deadline=deadline,
                escalation_level=0,
                next_escalation_at=escalation_time(deadline, 1, timing.calendar),
            )
        case Event.REROUTE | Event.RESUBMIT:
            # The deadline and the escalations already sent stay: a 转办 or a return does
            # not buy time. A resubmission is routed to `department` (see CHANGE_CATEGORY).
            if route is None:
                return Refusal.NEEDS_ROUTE
            after = replace(_routed(current, route), state=State.OPEN)
        case Event.RETURN:
            after = replace(current, state=State.RETURNED)
        case Event.WITHDRAW:
            after = replace(current, state=State.WITHDRAWN, owner_id=None, next_escalation_at=None)
        case Event.CLAIM:
            if actor_id is None or actor_id == current.claimed_by:
                return Refusal.WRONG_STATE
            after = replace(current, state=State.CLAIMED, owner_id=actor_id, claimed_by=actor_id)
        case Event.ANSWER:
            after = replace(
                current,
                state=State.ANSWERED,
                next_escalation_at=timing.calendar.add_working_days(now, timing.close_after_days),
            )
        case Event.SATISFIED | Event.CLOSE:
            if event is Event.CLOSE and (
                current.next_escalation_at is None or current.next_escalation_at > now
            ):
                return Refusal.NOT_DUE
            after = replace(current, state=State.CLOSED, owner_id=None, next_escalation_at=None)
        case Event.DISSATISFIED:
            deadline = answer_deadline(now, timing.answer_within_days, timing.calendar)
            owner = current.handler_id if current.handler_id is not None else current.owner_id
            after = replace(
                current,
                state=State.REOPENED,
                owner_id=owner,
                claimed_by=None,
                deadline=deadline,
                escalation_level=0,
                next_escalation_at=escalation_time(deadline, 1, timing.calendar),
                reopened=current.reopened + 1,
            )
        case Event.ESCALATE:
            if current.next_escalation_at is None or current.next_escalation_at > now:
                return Refusal.NOT_DUE
            after = _escalated(current, timing)
    return Transition(event, current, after)


def violations(lifecycle: Lifecycle) -> list[str]:
    """What is wrong with a lifecycle (empty: the invariants hold)."""
    problems: list[str] = []
    if lifecycle.state in ACTIVE or lifecycle.state is State.ANSWERED:
        if lifecycle.next_escalation_at is None:
            problems.append(f"{lifecycle.state}: no next escalation time")
        if lifecycle.deadline is None:
            problems.append(f"{lifecycle.state}: no deadline")
    if lifecycle.state in ACTIVE and lifecycle.owner_id is None:
        problems.append(f"{lifecycle.state}: nobody owns it")
    if lifecycle.state in FINAL and lifecycle.next_escalation_at is not None:
        problems.append(f"{lifecycle.state}: still escalates")
    if lifecycle.state is State.CLAIMED and lifecycle.owner_id != lifecycle.claimed_by:
        problems.append("claimed: the claimer does not own it")
    if lifecycle.escalation_level < 0:
        problems.append("negative escalation level")
    return problems
