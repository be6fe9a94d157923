"""The complaint lifecycle as a table: who may fire what from which state, and what each
transition does to the owner, the deadline and the next escalation."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from scheduler.business_calendar import (
    SHIPPED_CALENDAR_DIR,
    BusinessCalendar,
    WorkingHours,
    load_calendar_years,
)
from scheduler.complaint_lifecycle import (
    ACTIVE,
    FINAL,
    RULES,
    Event,
    Lifecycle,
    Party,
    Refusal,
    Route,
    State,
    Timing,
    Transition,
    fire,
    violations,
)

TZ = ZoneInfo("Asia/Shanghai")
CALENDAR = BusinessCalendar(
    load_calendar_years(SHIPPED_CALENDAR_DIR),
    tz=TZ,
    working_hours=WorkingHours(time(8, 30), time(17, 30)),
)
HANDLER, MANAGER, OTHER_MANAGER, REPORTER = 10, 20, 21, 30
DELIVERY = Route("delivery", handler_id=HANDLER, fallback_manager_id=MANAGER, unit_id=3)
NOBODY = Route("supervision", handler_id=None, fallback_manager_id=MANAGER, unit_id=5)
REPORTERS = frozenset({Party.REPORTER})
HANDLERS = frozenset({Party.HANDLER, Party.OWNER})
ALERTED = frozenset({Party.ALERTED})
SYSTEM = frozenset({Party.SYSTEM})


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=TZ)


def timing(now: datetime) -> Timing:
    return Timing(now=now, calendar=CALENDAR, answer_within_days=1, close_after_days=3)


def done(outcome: Transition | Refusal) -> Lifecycle:
    assert isinstance(outcome, Transition), outcome
    assert violations(outcome.after) == []
    return outcome.after


def confirmed(now: datetime | None = None, route: Route = DELIVERY) -> Lifecycle:
    now = now or at(9, 30)
    draft = Lifecycle(State.DRAFT, department=route.department)
    return done(fire(draft, Event.CONFIRM, REPORTERS, timing(now), route=route))


def test_confirming_routes_to_the_handler_with_a_deadline_across_the_holiday() -> None:
    open_ = confirmed(at(9, 30))  # Wednesday before National Day (Oct 1–7, 2026)
    assert open_.state is State.OPEN
    assert (open_.owner_id, open_.handler_id) == (HANDLER, HANDLER)
    assert open_.deadline == at(10, 8) == open_.next_escalation_at


def test_no_handler_makes_the_nearest_manager_the_owner() -> None:
    open_ = confirmed(route=NOBODY)
    assert (open_.owner_id, open_.handler_id) == (MANAGER, None)


def test_a_return_keeps_the_deadline_and_keeps_escalating() -> None:
    open_ = confirmed()
    returned = done(fire(open_, Event.RETURN, HANDLERS, timing(at(9, 30, 15))))
    assert returned.state is State.RETURNED
    assert returned.next_escalation_at == open_.deadline and returned.owner_id == HANDLER
    escalated = done(fire(returned, Event.ESCALATE, SYSTEM, timing(at(10, 8, 11))))
    assert (escalated.state, escalated.escalation_level) == (State.RETURNED, 1)
    assert escalated.next_escalation_at == at(10, 9)


def test_resubmission_goes_where_it_was_last_routed_unless_the_category_changed() -> None:
    open_ = confirmed()
    finance = Route("finance", handler_id=11, fallback_manager_id=MANAGER, unit_id=2)
    rerouted = done(fire(open_, Event.REROUTE, HANDLERS, timing(at(9, 30, 11)), route=finance))
    assert (rerouted.department, rerouted.owner_id) == ("finance", 11)
    returned = done(
        fire(rerouted, Event.RETURN, frozenset({Party.HANDLER, Party.OWNER}), timing(at(9, 30)))
    )
    assert returned.department == "finance"  # the use case routes a resubmission here
    recategorised = done(
        fire(returned, Event.CHANGE_CATEGORY, REPORTERS, timing(at(9, 30)), route=DELIVERY)
    )
    assert recategorised.department == "delivery"
    assert recategorised.state is State.RETURNED


def test_the_handler_still_answers_a_claimed_complaint() -> None:
    open_ = confirmed()
    claimed = done(fire(open_, Event.CLAIM, ALERTED, timing(at(10, 8, 11)), actor_id=MANAGER))
    assert (claimed.state, claimed.owner_id, claimed.handler_id) == (
        State.CLAIMED,
        MANAGER,
        HANDLER,
    )
    assert fire(claimed, Event.CLAIM, ALERTED, timing(at(10, 8)), actor_id=MANAGER) == (
        Refusal.WRONG_STATE
    )
    answered = done(fire(claimed, Event.ANSWER, frozenset({Party.HANDLER}), timing(at(10, 8))))
    assert answered.state is State.ANSWERED


def test_dissatisfied_reopens_to_the_handler_with_a_new_deadline() -> None:
    open_ = confirmed()
    escalated = done(fire(open_, Event.ESCALATE, SYSTEM, timing(at(10, 8, 11))))
    claimed = done(fire(escalated, Event.CLAIM, ALERTED, timing(at(10, 8)), actor_id=MANAGER))
    answered = done(fire(claimed, Event.ANSWER, ALERTED, timing(at(10, 9))))
    # It closes by itself after 3 working days (Saturday 10 October is a make-up one).
    assert answered.next_escalation_at == at(10, 13)
    reopened = done(fire(answered, Event.DISSATISFIED, REPORTERS, timing(at(10, 12))))
    assert reopened.state is State.REOPENED
    assert (reopened.owner_id, reopened.claimed_by, reopened.reopened) == (HANDLER, None, 1)
    assert reopened.escalation_level == 0 and reopened.deadline == at(10, 13)


def test_satisfied_or_silence_closes_it() -> None:
    answered = done(fire(confirmed(), Event.ANSWER, HANDLERS, timing(at(9, 30, 15))))
    closed = done(fire(answered, Event.SATISFIED, REPORTERS, timing(at(10, 8))))
    assert closed.state is State.CLOSED and closed.next_escalation_at is None
    assert fire(answered, Event.CLOSE, SYSTEM, timing(at(10, 9))) == Refusal.NOT_DUE
    assert done(fire(answered, Event.CLOSE, SYSTEM, timing(at(10, 12)))).state is State.CLOSED


def test_past_the_top_of_the_chain_it_keeps_escalating_each_working_day() -> None:
    current = confirmed()
    for day in (8, 9, 10, 12, 13):  # Oct 10 is a make-up working Saturday
        current = done(fire(current, Event.ESCALATE, SYSTEM, timing(at(10, day, 11))))
    assert current.escalation_level == 5 and current.next_escalation_at == at(10, 14)


@pytest.mark.parametrize("event", list(Event))
@pytest.mark.parametrize("state", list(State))
def test_every_event_from_every_state_by_anyone(event: Event, state: State) -> None:
    """Only the parties of the rule, only from its states; whatever happens, no invariant
    breaks."""
    base = replace(confirmed(), state=state, claimed_by=MANAGER if state is State.CLAIMED else None)
    if state is State.CLAIMED:
        base = replace(base, owner_id=MANAGER)
    if state in FINAL:
        base = replace(base, owner_id=None, next_escalation_at=None)
    if state is State.DRAFT:
        base = Lifecycle(State.DRAFT, department="delivery")
    for party in Party:
        outcome = fire(
            base,
            event,
            frozenset({party}),
            timing(at(12, 31)),
            route=DELIVERY,
            actor_id=OTHER_MANAGER,
        )
        rule = RULES[event]
        if party not in rule.parties:
            assert outcome is Refusal.NOT_ALLOWED
        elif state not in rule.sources:
            assert outcome is Refusal.WRONG_STATE
        else:
            assert isinstance(outcome, Transition), (state, event, party, outcome)
            assert violations(outcome.after) == []
            if outcome.after.state in ACTIVE:
                assert outcome.after.escalation_level >= base.escalation_level or (
                    event is Event.DISSATISFIED
                )
