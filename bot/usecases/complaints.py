"""Complaint use cases: report, confirm and route, answer, re-route, return, add details,
resubmit, withdraw, claim, escalate.

Each function is one unit of work: it locks the complaint, asks the lifecycle
(scheduler/complaint_lifecycle.py) whether the person may fire the event and what follows,
saves the transition (db/complaints.py `save_transition`, the only writer of the lifecycle
fields), queues the messages other people must get in the outbox, and returns what the
caller needs to answer the person who acted. No Telegram here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services import Services
from bot.usecases.checks import FLOW_CHECK
from bot.usecases.highlights import RecordedHighlight, store_highlight
from bot.usecases.messages import enqueue_message
from bot.views import texts
from bot.views.buttons import (
    escalation_buttons,
    handler_buttons,
    returned_buttons,
    satisfaction_buttons,
)
from bot.views.cards import ComplaintCard
from db.chat_state import clear_chat_state, get_chat_state, set_chat_state
from db.complaints import (
    EventKind,
    add_complaint_detail,
    add_complaint_event,
    add_complaint_photo,
    add_labelled_example,
    attach_waiting_photos,
    claim_due_escalations,
    create_complaint,
    find_album_complaint,
    find_earlier_complaint,
    get_complaint,
    lifecycle_of,
    list_complaint_details,
    list_complaint_photos,
    list_escalated_staff,
    list_overdue_complaints,
    load_transfer_points,
    save_transition,
)
from db.models import Complaint, ComplaintStatus, DetailKind, HighlightSource, Staff
from db.staff import get_staff, get_unit, load_staff
from nlp.categories import Category
from nlp.channels import find_channel
from scheduler import complaint_lifecycle as lifecycle
from scheduler.complaint_lifecycle import (
    AWAITING_REPORTER,
    Event,
    Lifecycle,
    Party,
    Route,
    State,
    Timing,
    Transition,
)
from scheduler.complaints import escalation_chain, resolve_handler, units_within
from scheduler.org import Department

if TYPE_CHECKING:
    # numpy and jieba come with it: loaded where the reader is built (bot/usecases/reader.py).
    from nlp.reader import ComplaintReader, ComplaintReading

logger = logging.getLogger(__name__)

FLOW_COMPLAINT_TEXT = "complaint_text"
FLOW_ANSWER = "complaint_answer"
FLOW_REROUTE_REASON = "complaint_reroute"
FLOW_RETURN_REASON = "complaint_return"
FLOW_DETAILS = "complaint_details"
FLOW_DISSATISFIED = "complaint_dissatisfied"

# A complaint about the same tracking number or customer phone within this many days is a
# repeat (重复投诉): linked to the earlier one, urgent.
REPEAT_WITHIN = timedelta(days=30)
# Telegram's sendMediaGroup takes 2–10 photos.
ALBUM_SIZE = 10

# Characters. Anything shorter cannot say what happened.
MIN_TEXT = 4
# A report is shown whole again (the draft, the handler's card, a return notice with its
# reason), an answer or a reason once more, each within Telegram's 4096 even when every
# character is an emoji (two UTF-16 units). Longer ones are refused, never cut.
MAX_REPORT = 1000
MAX_REPLY = 500


class Refusal(Enum):
    NOT_FOUND = "not_found"
    NOT_YOURS = "not_yours"
    WRONG_STATE = "wrong_state"


async def _log(
    session: AsyncSession,
    complaint_id: int,
    kind: str,
    now: datetime,
    actor_id: int | None,
    detail: str = "",
) -> None:
    """One line of the complaint's history."""
    await add_complaint_event(
        session=session,
        complaint_id=complaint_id,
        kind=kind,
        now=now,
        actor_id=actor_id,
        detail=detail,
    )


async def _cards(
    services: Services, session: AsyncSession, complaints: Sequence[Complaint], *, new: bool = False
) -> list[ComplaintCard]:
    """Names resolved in a few queries however many complaints there are: /overdue and the
    escalation scan handle thousands after a long holiday. Unit and segment names come
    from the reference cache; people the session holds already (the sender) are not read
    again."""
    people = await load_staff(
        session=session,
        staff_ids=[c.reporter_id for c in complaints]
        + [c.handler_id for c in complaints if c.handler_id is not None],
    )
    reference = await services.reference.get(session)
    points = await load_transfer_points(
        session=session,
        transfer_point_ids={
            c.transfer_point_id for c in complaints if c.transfer_point_id is not None
        },
    )
    ids = [c.id for c in complaints if c.id is not None]
    # Complaints just created (``new``) have no details: those come when one is returned.
    details = {} if new else await list_complaint_details(session=session, complaint_ids=ids)
    # Only complaints with a photo (its first one is on the row) have rows to read.
    photos = await list_complaint_photos(
        session=session,
        complaint_ids=[c.id for c in complaints if c.id is not None and c.photo_file_id],
    )
    cards = []
    for complaint in complaints:
        reporter = people[complaint.reporter_id]
        segment = (
            reference.segment_names.get(complaint.segment_id) if complaint.segment_id else None
        )
        point = points.get(complaint.transfer_point_id) if complaint.transfer_point_id else None
        cards.append(
            ComplaintCard(
                complaint=complaint,
                reporter=reporter,
                reporter_unit=reference.unit_name(reporter.unit_id),
                site=reference.unit_name(complaint.site_id) if complaint.site_id else None,
                segment=segment,
                transfer_point=point.name if point else None,
                handler=people.get(complaint.handler_id) if complaint.handler_id else None,
                details=tuple((d.kind, d.text) for d in details.get(complaint.id or 0, [])),
                photos=tuple(photos.get(complaint.id or 0, [])),
            )
        )
    return cards


async def _card(
    services: Services, session: AsyncSession, complaint: Complaint, *, new: bool = False
) -> ComplaintCard:
    (card,) = await _cards(services, session, [complaint], new=new)
    return card


def _column_length(column: str) -> int:
    table = Complaint.__table__  # type: ignore[attr-defined]
    length = getattr(table.c[column].type, "length", None)
    assert isinstance(length, int), f"complaint.{column} has no length"
    return length


def _joined(values: Sequence[str], column: str) -> str:
    """Comma-separated, as many whole values as the column holds (the text keeps them all)."""
    limit = _column_length(column)
    joined = ""
    for value in values:
        longer = f"{joined},{value}" if joined else value
        if len(longer) > limit:
            break
        joined = longer
    return joined


def _site_of(reading: ComplaintReading) -> int | None:
    extraction = reading.extraction
    for place in (extraction.segment, extraction.transfer_point):
        if place is not None and place.site_id is not None:
            return place.site_id
    return extraction.site.id if extraction.site is not None else None


@dataclass(frozen=True)
class DraftReport:
    """A stored draft and how to ask about it: `unsure` (the reporter picks the category,
    `choices` first) or `praise` (offered as a 亮点 instead)."""

    card: ComplaintCard
    unsure: bool
    choices: tuple[Category, ...]
    praise: bool


async def report_complaint(
    services: Services,
    reader: ComplaintReader,
    reporter: Staff,
    text: str,
    photo_file_id: str | None = None,
    media_group_id: str | None = None,
) -> DraftReport:
    """Understand the text and keep it as a draft that the reporter confirms or corrects
    (or, for praise, records as a highlight)."""
    assert reporter.id is not None
    now = services.clock.now()
    reading = reader.read(text, reporter_site_id=reporter.unit_id)
    classification, extraction = reading.classification, reading.extraction
    complaint = Complaint(
        reporter_id=reporter.id,
        text=text,
        photo_file_id=photo_file_id,
        category=classification.category.value,
        categories=",".join(c.value for c in classification.categories),
        confidence=classification.confidence,
        site_id=_site_of(reading),
        segment_id=extraction.segment.id if extraction.segment else None,
        transfer_point_id=extraction.transfer_point.id if extraction.transfer_point else None,
        tracking_numbers=_joined(extraction.tracking_numbers, "tracking_numbers"),
        phones=_joined(extraction.phones, "phones"),
        urgent=extraction.urgent,
        urgency_cues=_joined(extraction.urgency_cues, "urgency_cues"),
        channel=find_channel(text).value,
        created_at=now,
    )
    department = services.settings.routing[classification.category]
    async with services.db.session() as session:
        await create_complaint(
            session=session,
            complaint=complaint,
            lifecycle=Lifecycle(state=State.DRAFT, department=department.value),
        )
        assert complaint.id is not None
        earlier = await find_earlier_complaint(
            session=session,
            complaint_id=complaint.id,
            tracking_numbers=extraction.tracking_numbers,
            phones=extraction.phones,
            since=now - REPEAT_WITHIN,
        )
        if earlier is not None:
            complaint.repeat_of_id = earlier.id
            complaint.urgent = True
            session.add(complaint)
        if photo_file_id is not None:
            await add_complaint_photo(
                session=session,
                reporter_id=reporter.id,
                file_id=photo_file_id,
                now=now,
                complaint_id=complaint.id,
                media_group_id=media_group_id,
            )
        if media_group_id is not None:
            await attach_waiting_photos(
                session=session,
                reporter_id=reporter.id,
                media_group_id=media_group_id,
                complaint_id=complaint.id,
            )
        await _log(
            session,
            complaint.id,
            EventKind.CREATED,
            now,
            reporter.id,
            f"confidence={classification.confidence:.2f}",
        )
        await clear_chat_state(session=session, staff_id=reporter.id)
        card = await _card(services, session, complaint, new=True)
    return DraftReport(
        card, classification.low_confidence, classification.choices, classification.praise
    )


async def keep_as_complaint(
    services: Services, reader: ComplaintReader, complaint_id: int, reporter: Staff
) -> DraftReport | Refusal:
    """A text offered as praise stays a complaint: the draft as the reader understood it
    (read again, it holds no choices)."""
    async with services.db.session() as session:
        acting = await _acting(session, complaint_id, reporter, Event.CONFIRM)
        if isinstance(acting, Refusal):
            return acting
        card = await _card(services, session, acting.complaint)
    classification = reader.read(card.complaint.text).classification
    return DraftReport(card, classification.low_confidence, classification.choices, praise=False)


async def record_praise(
    services: Services, complaint_id: int, reporter: Staff
) -> RecordedHighlight | Refusal:
    """The praising draft becomes a highlight of the unit it names (or the reporter's); the
    draft is cancelled, its history says which highlight it became."""
    now = services.clock.now()
    async with services.db.session() as session:
        acting = await _acting(session, complaint_id, reporter, Event.WITHDRAW)
        if isinstance(acting, Refusal):
            return acting
        complaint = acting.complaint
        if complaint.status is not ComplaintStatus.DRAFT:
            # Only a new report is offered as praise; a returned complaint stays one.
            return Refusal.WRONG_STATE
        unit = await get_unit(session=session, unit_id=complaint.site_id or reporter.unit_id)
        recorded = await store_highlight(
            session,
            unit=unit,
            author=reporter,
            text=complaint.text,
            source=HighlightSource.PRAISE,
            now=now,
            photo_file_id=complaint.photo_file_id,
        )
        withdrawn = await _apply(
            services,
            session,
            acting,
            Event.WITHDRAW,
            reporter,
            now,
            detail=f"highlight={recorded.highlight_id}",
        )
        if isinstance(withdrawn, Refusal):
            return withdrawn
    return recorded


def _parties_of(complaint: Complaint, staff: Staff, alerted: Sequence[int]) -> frozenset[Party]:
    parties = set()
    if staff.id == complaint.reporter_id:
        parties.add(Party.REPORTER)
    if staff.id is not None and staff.id == complaint.handler_id:
        parties.add(Party.HANDLER)
    if staff.id is not None and staff.id == complaint.owner_id:
        parties.add(Party.OWNER)
    if staff.id in alerted:
        parties.add(Party.ALERTED)
    return frozenset(parties)


_REFUSALS = {
    lifecycle.Refusal.NOT_ALLOWED: Refusal.NOT_YOURS,
    lifecycle.Refusal.WRONG_STATE: Refusal.WRONG_STATE,
    lifecycle.Refusal.NOT_DUE: Refusal.WRONG_STATE,
    lifecycle.Refusal.NEEDS_ROUTE: Refusal.WRONG_STATE,
}

# The line of history each event writes.
_EVENT_KINDS = {
    Event.CHANGE_CATEGORY: EventKind.CATEGORY,
    Event.CONFIRM: EventKind.ROUTED,
    Event.REROUTE: EventKind.REROUTED,
    Event.RETURN: EventKind.RETURNED,
    Event.ADD_DETAILS: EventKind.DETAILS,
    Event.RESUBMIT: EventKind.RESUBMITTED,
    Event.WITHDRAW: EventKind.CANCELLED,
    Event.CLAIM: EventKind.CLAIMED,
    Event.ANSWER: EventKind.ANSWERED,
    Event.SATISFIED: EventKind.SATISFIED,
    Event.DISSATISFIED: EventKind.DISSATISFIED,
    Event.ESCALATE: EventKind.LEVEL,
    Event.CLOSE: EventKind.CLOSED,
}


def _timing(services: Services, complaint: Complaint, now: datetime) -> Timing:
    category = Category(complaint.category)
    return Timing(
        now=now,
        calendar=services.calendar,
        answer_within_days=services.settings.complaints.answer_within(category),
    )


@dataclass
class _Acting:
    """A complaint locked for one unit of work, and how the person stands to it."""

    complaint: Complaint
    parties: frozenset[Party]
    event_id: int = 0  # the history line of the last event applied: names its messages


async def _acting(
    session: AsyncSession, complaint_id: int, staff: Staff, event: Event
) -> _Acting | Refusal:
    """The complaint, locked, if `staff` may fire `event` on it now."""
    complaint = await get_complaint(session=session, complaint_id=complaint_id, for_update=True)
    if complaint is None:
        return Refusal.NOT_FOUND
    # Who was alerted (the complaint's history) matters only to events an alerted manager
    # may fire: confirming a draft, say, reads no history.
    alerted = (
        await list_escalated_staff(session=session, complaint_id=complaint_id)
        if Party.ALERTED in lifecycle.RULES[event].parties
        else []
    )
    parties = _parties_of(complaint, staff, alerted)
    refusal = lifecycle.may_fire(lifecycle_of(complaint), event, parties)
    if refusal is not None:
        return _REFUSALS[refusal]
    return _Acting(complaint, parties)


async def _apply(
    services: Services,
    session: AsyncSession,
    acting: _Acting,
    event: Event,
    actor: Staff | None,
    now: datetime,
    *,
    route: Route | None = None,
    detail: str = "",
) -> Transition | Refusal:
    """Fire the event on the locked complaint and save the transition."""
    complaint = acting.complaint
    actor_id = actor.id if actor is not None else None
    outcome = lifecycle.fire(
        lifecycle_of(complaint),
        event,
        acting.parties,
        _timing(services, complaint, now),
        route=route,
        actor_id=actor_id,
    )
    if isinstance(outcome, lifecycle.Refusal):
        return _REFUSALS[outcome]
    acting.event_id = await save_transition(
        session=session,
        complaint=complaint,
        transition=outcome,
        now=now,
        actor_id=actor_id,
        kind=_EVENT_KINDS[event],
        detail=detail,
    )
    return outcome


@dataclass(frozen=True)
class _Routing:
    route: Route
    handler: Staff | None
    managers: list[int]  # told at once when there is no handler to tell

    def detail(self) -> str:
        return f"{self.route.department}→{self.handler.name if self.handler else '-'}"


async def _route_to(
    services: Services, session: AsyncSession, complaint: Complaint, department: Department
) -> _Routing:
    """Where routing sends the complaint: the department's nearest handler; and the
    managers to tell at once (the nearest ones, when there is no handler)."""
    reference = await services.reference.get(session)
    units = reference.units
    reporter = await get_staff(session=session, staff_id=complaint.reporter_id)
    start_unit = complaint.site_id or reporter.unit_id
    post = resolve_handler(department, start_unit, units, reference.handlers)
    managers = escalation_chain(post.unit_id if post else start_unit, units, reference.managers)
    nearest = managers[0] if managers else []
    if not nearest:
        # No manager anywhere above: the admins of the region still hear of it.
        nearest = sorted(a.staff_id for a in reference.admins)
    route = Route(
        department=department.value,
        handler_id=post.staff_id if post else None,
        fallback_manager_id=nearest[0] if nearest else None,
        unit_id=post.unit_id if post else start_unit,
    )
    handler = await get_staff(session=session, staff_id=post.staff_id) if post else None
    return _Routing(route, handler, nearest)


async def _tell_owner(
    services: Services,
    session: AsyncSession,
    acting: _Acting,
    managers: Sequence[int],
    now: datetime,
) -> ComplaintCard:
    """The complaint reached its owner: the handler gets the card; with no handler (or one
    who cannot be reached) the nearest managers are told at once, and may claim it. Returns
    the card, for the reporter's answer too."""
    complaint = acting.complaint
    assert complaint.id is not None
    card = await _card(services, session, complaint)
    tz = services.settings.time.tz
    handler = card.handler
    stamp = acting.event_id
    if handler is not None and handler.telegram_user_id is not None:
        key = f"complaint:{complaint.id}:route:{handler.id}:{stamp}"
        await _queue_photos(session, card, handler.telegram_user_id, key, now)
        await enqueue_message(
            session=session,
            key=key,
            chat_id=handler.telegram_user_id,
            text=texts.complaint_for_handler(card, tz),
            buttons=handler_buttons(complaint.id),
            now=now,
        )
        return card
    logger.warning(
        "complaint %s: no reachable %s handler; telling managers %s",
        complaint.id,
        complaint.department,
        list(managers),
    )
    people = await load_staff(session=session, staff_ids=managers)
    for manager_id in managers:
        manager = people[manager_id]
        await add_complaint_event(
            session=session,
            complaint_id=complaint.id,
            kind=EventKind.NO_HANDLER,
            now=now,
            actor_id=manager_id,
            detail=str(complaint.department or ""),
        )
        if manager.telegram_user_id is None:
            continue
        key = f"complaint:{complaint.id}:nohandler:{manager_id}:{stamp}"
        await _queue_photos(session, card, manager.telegram_user_id, key, now)
        await enqueue_message(
            session=session,
            key=key,
            chat_id=manager.telegram_user_id,
            text=texts.complaint_without_handler(card, tz),
            buttons=escalation_buttons(complaint.id),
            now=now,
        )
    return card


async def choose_category(
    services: Services, complaint_id: int, reporter: Staff, category: Category
) -> ComplaintCard | Refusal:
    """The reporter corrects or picks the category (of a draft, or of a returned complaint:
    it is then resubmitted to the new category's department); the choice becomes a
    training example."""
    now = services.clock.now()
    async with services.db.session() as session:
        acting = await _acting(session, complaint_id, reporter, Event.CHANGE_CATEGORY)
        if isinstance(acting, Refusal):
            return acting
        complaint = acting.complaint
        if complaint.category == category.value and complaint.confidence == 1.0:
            return await _card(services, session, complaint)  # chosen already (a repeated press)
        complaint.category = category.value
        others = [c for c in complaint.categories.split(",") if c and c != category.value]
        complaint.categories = ",".join([category.value, *others])
        complaint.confidence = 1.0
        department = services.settings.routing[category]
        outcome = await _apply(
            services,
            session,
            acting,
            Event.CHANGE_CATEGORY,
            reporter,
            now,
            route=Route(department=department.value),
            detail=category.value,
        )
        if isinstance(outcome, Refusal):
            return outcome
        await add_labelled_example(
            session=session,
            text=complaint.text,
            category=category.value,
            staff_id=reporter.id,
            now=now,
        )
        return await _card(services, session, complaint)


async def check_may_recategorise(
    services: Services, complaint_id: int, reporter: Staff
) -> Refusal | ComplaintStatus:
    """Whether the reporter may change the category now (before showing them choices),
    and if so the complaint's state (a draft, or returned to them)."""
    async with services.db.session() as session:
        acting = await _acting(session, complaint_id, reporter, Event.CHANGE_CATEGORY)
    return acting if isinstance(acting, Refusal) else acting.complaint.status


async def begin_report(services: Services, reporter: Staff) -> bool:
    """/complaint: the reporter's next message is a report. Says whether a check was open
    (it is paused: its answers stay, /today resumes it)."""
    assert reporter.id is not None
    async with services.db.session() as session:
        state = await get_chat_state(session=session, staff_id=reporter.id)
        paused_check = state is not None and state.flow == FLOW_CHECK
        await set_chat_state(
            session=session,
            staff_id=reporter.id,
            flow=FLOW_COMPLAINT_TEXT,
            now=services.clock.now(),
        )
    return paused_check


async def withdraw_complaint(
    services: Services, complaint_id: int, reporter: Staff
) -> Refusal | None:
    """The reporter cancels a draft or withdraws a returned complaint; the handler who
    returned it is told."""
    now = services.clock.now()
    async with services.db.session() as session:
        acting = await _acting(session, complaint_id, reporter, Event.WITHDRAW)
        if isinstance(acting, Refusal):
            return acting
        was_returned = acting.complaint.status is ComplaintStatus.RETURNED
        outcome = await _apply(services, session, acting, Event.WITHDRAW, reporter, now)
        if isinstance(outcome, Refusal):
            return outcome
        await clear_chat_state(session=session, staff_id=reporter.id or 0)
        owner_id = outcome.before.owner_id
        if was_returned and owner_id is not None:
            owner = await get_staff(session=session, staff_id=owner_id)
            if owner.telegram_user_id is not None:
                await enqueue_message(
                    session=session,
                    key=f"complaint:{complaint_id}:withdrawn:{owner_id}:{acting.event_id}",
                    chat_id=owner.telegram_user_id,
                    text=texts.complaint_withdrawn(complaint_id, reporter.name),
                    now=now,
                )
    return None


# The old name: a draft's ✖️ 取消 is a withdrawal before it was submitted.
cancel_draft = withdraw_complaint


async def confirm_complaint(
    services: Services, complaint_id: int, reporter: Staff
) -> ComplaintCard | Refusal:
    """Route the confirmed complaint, start its answer deadline and tell its owner."""
    now = services.clock.now()
    async with services.db.session() as session:
        acting = await _acting(session, complaint_id, reporter, Event.CONFIRM)
        if isinstance(acting, Refusal):
            return acting
        complaint = acting.complaint
        department = services.settings.routing[Category(complaint.category)]
        routing = await _route_to(services, session, complaint, department)
        complaint.routed_at = now
        outcome = await _apply(
            services,
            session,
            acting,
            Event.CONFIRM,
            reporter,
            now,
            route=routing.route,
            detail=routing.detail(),
        )
        if isinstance(outcome, Refusal):
            return outcome
        return await _tell_owner(services, session, acting, routing.managers, now)


async def resubmit_complaint(
    services: Services, complaint_id: int, reporter: Staff
) -> ComplaintCard | Refusal:
    """A returned complaint goes back to the department it was last routed to (or, if the
    reporter changed the category, to that category's); its deadline stays."""
    now = services.clock.now()
    async with services.db.session() as session:
        acting = await _acting(session, complaint_id, reporter, Event.RESUBMIT)
        if isinstance(acting, Refusal):
            return acting
        complaint = acting.complaint
        assert complaint.department is not None
        routing = await _route_to(services, session, complaint, complaint.department)
        outcome = await _apply(
            services,
            session,
            acting,
            Event.RESUBMIT,
            reporter,
            now,
            route=routing.route,
            detail=routing.detail(),
        )
        if isinstance(outcome, Refusal):
            return outcome
        await clear_chat_state(session=session, staff_id=reporter.id or 0)
        return await _tell_owner(services, session, acting, routing.managers, now)


async def add_details(
    services: Services, complaint_id: int, reporter: Staff, text: str
) -> ComplaintCard | Refusal:
    """Append the reporter's text to the returned complaint, with its history."""
    assert reporter.id is not None
    now = services.clock.now()
    async with services.db.session() as session:
        acting = await _acting(session, complaint_id, reporter, Event.ADD_DETAILS)
        await clear_chat_state(session=session, staff_id=reporter.id)
        if isinstance(acting, Refusal):
            return acting
        outcome = await _apply(
            services, session, acting, Event.ADD_DETAILS, reporter, now, detail=text
        )
        if isinstance(outcome, Refusal):
            return outcome
        await add_complaint_detail(
            session=session, complaint_id=complaint_id, staff_id=reporter.id, text=text, now=now
        )
        return await _card(services, session, acting.complaint)


# The event each question for a complaint leads to.
_FLOW_EVENTS = {
    FLOW_DETAILS: Event.ADD_DETAILS,
    FLOW_DISSATISFIED: Event.DISSATISFIED,
    FLOW_ANSWER: Event.ANSWER,
    FLOW_REROUTE_REASON: Event.REROUTE,
    FLOW_RETURN_REASON: Event.RETURN,
}


async def begin_input(
    services: Services, complaint_id: int, staff: Staff, flow: str, data: str | None = None
) -> Refusal | None:
    """Remember that the person's next message is the answer, reason, (补充说明) added detail
    or (不满意) why the reporter is not satisfied, for this complaint."""
    assert staff.id is not None
    async with services.db.session() as session:
        acting = await _acting(session, complaint_id, staff, _FLOW_EVENTS[flow])
        if isinstance(acting, Refusal):
            return acting
        await set_chat_state(
            session=session,
            staff_id=staff.id,
            flow=flow,
            ref_id=complaint_id,
            data=data,
            now=services.clock.now(),
        )
    return None


async def answer_complaint(
    services: Services, complaint_id: int, staff: Staff, answer: str
) -> Refusal | None:
    """Store the answer, tell the reporter and send closing notices to everyone alerted."""
    assert staff.id is not None
    now = services.clock.now()
    async with services.db.session() as session:
        acting = await _acting(session, complaint_id, staff, Event.ANSWER)
        await clear_chat_state(session=session, staff_id=staff.id)
        if isinstance(acting, Refusal):
            return acting
        complaint = acting.complaint
        outcome = await _apply(services, session, acting, Event.ANSWER, staff, now)
        if isinstance(outcome, Refusal):
            return outcome
        complaint.answer, complaint.answered_by, complaint.answered_at = answer, staff.id, now
        session.add(complaint)
        card = await _card(services, session, complaint)
        reporter = card.reporter
        if reporter.telegram_user_id is not None:
            key = f"complaint:{complaint_id}:answered:reporter:{acting.event_id}"
            # The reporter judges the answer beside the evidence, photos included.
            await _queue_photos(session, card, reporter.telegram_user_id, key, now)
            await enqueue_message(
                session=session,
                key=key,
                chat_id=reporter.telegram_user_id,
                text=texts.complaint_answered_for_reporter(complaint_id, staff.name, answer),
                buttons=satisfaction_buttons(complaint_id),
                now=now,
            )
        told = {staff.id, complaint.reporter_id}
        others = await list_escalated_staff(session=session, complaint_id=complaint_id)
        if complaint.handler_id is not None:
            others.append(complaint.handler_id)  # a manager answered in the handler's place
        for other_id in others:
            if other_id in told:
                continue
            told.add(other_id)
            other = await get_staff(session=session, staff_id=other_id)
            if other.telegram_user_id is None:
                continue
            await enqueue_message(
                session=session,
                key=f"complaint:{complaint_id}:closed:{other_id}:{acting.event_id}",
                chat_id=other.telegram_user_id,
                text=texts.escalation_closed(complaint_id, staff.name),
                now=now,
            )
    return None


async def reroute_complaint(
    services: Services, complaint_id: int, staff: Staff, department: Department, reason: str
) -> ComplaintCard | Refusal:
    """Hand the complaint to another department, recording who and why."""
    assert staff.id is not None
    now = services.clock.now()
    async with services.db.session() as session:
        acting = await _acting(session, complaint_id, staff, Event.REROUTE)
        await clear_chat_state(session=session, staff_id=staff.id)
        if isinstance(acting, Refusal):
            return acting
        complaint = acting.complaint
        previous = complaint.department
        routing = await _route_to(services, session, complaint, department)
        outcome = await _apply(
            services,
            session,
            acting,
            Event.REROUTE,
            staff,
            now,
            route=routing.route,
            detail=f"{previous}→{routing.detail()}: {reason}",
        )
        if isinstance(outcome, Refusal):
            return outcome
        return await _tell_owner(services, session, acting, routing.managers, now)


async def return_complaint(
    services: Services, complaint_id: int, staff: Staff, reason: str
) -> Refusal | None:
    """The handler sends the complaint back to the reporter for details (or another
    category); it keeps its deadline and keeps escalating until resubmitted or withdrawn."""
    assert staff.id is not None
    now = services.clock.now()
    async with services.db.session() as session:
        acting = await _acting(session, complaint_id, staff, Event.RETURN)
        await clear_chat_state(session=session, staff_id=staff.id)
        if isinstance(acting, Refusal):
            return acting
        outcome = await _apply(services, session, acting, Event.RETURN, staff, now, detail=reason)
        if isinstance(outcome, Refusal):
            return outcome
        card = await _card(services, session, acting.complaint)
        if card.reporter.telegram_user_id is not None:
            key = f"complaint:{complaint_id}:returned:{acting.event_id}"
            # The reporter sees what the handler saw, photos included, to complete it.
            await _queue_photos(session, card, card.reporter.telegram_user_id, key, now)
            await enqueue_message(
                session=session,
                key=key,
                chat_id=card.reporter.telegram_user_id,
                text=texts.complaint_returned(card, staff.name, reason),
                buttons=returned_buttons(complaint_id),
                now=now,
            )
    return None


async def claim_complaint(
    services: Services, complaint_id: int, manager: Staff
) -> ComplaintCard | Refusal:
    """An alerted manager takes the complaint over: they own it now; the handler is told
    and may still answer."""
    assert manager.id is not None
    now = services.clock.now()
    async with services.db.session() as session:
        acting = await _acting(session, complaint_id, manager, Event.CLAIM)
        if isinstance(acting, Refusal):
            return acting
        outcome = await _apply(services, session, acting, Event.CLAIM, manager, now)
        if isinstance(outcome, Refusal):
            return outcome
        complaint = acting.complaint
        for told_id in {outcome.before.owner_id, complaint.handler_id} - {None, manager.id}:
            assert told_id is not None
            told = await get_staff(session=session, staff_id=told_id)
            if told.telegram_user_id is None:
                continue
            await enqueue_message(
                session=session,
                key=f"complaint:{complaint_id}:claimed:{told_id}:{acting.event_id}",
                chat_id=told.telegram_user_id,
                text=texts.complaint_claimed_for_handler(complaint_id, manager.name),
                now=now,
            )
        return await _card(services, session, complaint)


async def _queue_photos(
    session: AsyncSession, card: ComplaintCard, chat_id: int, key: str, now: datetime
) -> None:
    """The complaint's photos, before the message about it (the chat's order is kept):
    one photo, or albums of up to ten."""
    assert card.complaint.id is not None
    photos = list(card.photos)
    for part, start in enumerate(range(0, len(photos), ALBUM_SIZE)):
        await enqueue_message(
            session=session,
            key=f"{key}:photos:{part}",
            chat_id=chat_id,
            text=texts.complaint_photos(card.complaint.id, len(photos)),
            photo_file_ids=photos[start : start + ALBUM_SIZE],
            now=now,
        )


class PhotoOutcome(Enum):
    ATTACHED = "attached"  # joined a complaint (its album, or the returned one's details)
    WAITING = "waiting"  # an album's photo before its captioned one
    WAITING_FIRST = "waiting_first"  # … the first such: the reporter is told once
    NO_TEXT = "no_text"  # a lone photo without a caption: nothing to report yet


async def add_photo(
    services: Services,
    reporter: Staff,
    file_id: str,
    media_group_id: str | None,
    details_of: int | None = None,
) -> PhotoOutcome | Refusal:
    """A photo without a caption: a detail of the returned complaint being completed, the
    next photo of an album, or one waiting for its album's caption."""
    assert reporter.id is not None
    now = services.clock.now()
    async with services.db.session() as session:
        if details_of is not None:
            acting = await _acting(session, details_of, reporter, Event.ADD_DETAILS)
            if isinstance(acting, Refusal):
                return acting
            await add_complaint_photo(
                session=session,
                reporter_id=reporter.id,
                file_id=file_id,
                now=now,
                complaint_id=details_of,
                media_group_id=media_group_id,
            )
            if acting.complaint.photo_file_id is None:
                acting.complaint.photo_file_id = file_id
                session.add(acting.complaint)
            outcome = await _apply(
                services, session, acting, Event.ADD_DETAILS, reporter, now, detail="photo"
            )
            return outcome if isinstance(outcome, Refusal) else PhotoOutcome.ATTACHED
        if media_group_id is None:
            return PhotoOutcome.NO_TEXT
        complaint_id = await find_album_complaint(
            session=session, reporter_id=reporter.id, media_group_id=media_group_id
        )
        first = complaint_id is None and not await find_album_complaint(
            session=session, reporter_id=reporter.id, media_group_id=media_group_id, waiting=True
        )
        await add_complaint_photo(
            session=session,
            reporter_id=reporter.id,
            file_id=file_id,
            now=now,
            complaint_id=complaint_id,
            media_group_id=media_group_id,
        )
    if complaint_id is not None:
        return PhotoOutcome.ATTACHED
    return PhotoOutcome.WAITING_FIRST if first else PhotoOutcome.WAITING


async def rate_answer(
    services: Services, complaint_id: int, reporter: Staff
) -> ComplaintCard | Refusal:
    """满意: the reporter accepts the answer; the complaint is closed."""
    now = services.clock.now()
    async with services.db.session() as session:
        acting = await _acting(session, complaint_id, reporter, Event.SATISFIED)
        if isinstance(acting, Refusal):
            return acting
        outcome = await _apply(services, session, acting, Event.SATISFIED, reporter, now)
        if isinstance(outcome, Refusal):
            return outcome
        acting.complaint.satisfaction = "satisfied"
        session.add(acting.complaint)
        return await _card(services, session, acting.complaint)


async def reopen_complaint(
    services: Services, complaint_id: int, reporter: Staff, reason: str
) -> ComplaintCard | Refusal:
    """The reporter is not satisfied: the complaint goes back to the handler with a new
    deadline, urgent, counted as a repeat; whoever answered is told why."""
    assert reporter.id is not None
    now = services.clock.now()
    async with services.db.session() as session:
        acting = await _acting(session, complaint_id, reporter, Event.DISSATISFIED)
        await clear_chat_state(session=session, staff_id=reporter.id)
        if isinstance(acting, Refusal):
            return acting
        complaint = acting.complaint
        outcome = await _apply(
            services, session, acting, Event.DISSATISFIED, reporter, now, detail=reason
        )
        if isinstance(outcome, Refusal):
            return outcome
        complaint.satisfaction = "dissatisfied"
        complaint.urgent = True
        session.add(complaint)
        await add_complaint_detail(
            session=session,
            complaint_id=complaint_id,
            staff_id=reporter.id,
            text=reason,
            now=now,
            kind=DetailKind.DISSATISFIED,
        )
        managers: list[int] = []
        if complaint.handler_id is None and complaint.owner_id is not None:
            managers = [complaint.owner_id]  # the manager who owned it, told again
        card = await _tell_owner(services, session, acting, managers, now)
        answered_by = complaint.answered_by
        if answered_by is not None and answered_by not in (complaint.handler_id, *managers):
            other = await get_staff(session=session, staff_id=answered_by)
            if other.telegram_user_id is not None:
                await enqueue_message(
                    session=session,
                    key=f"complaint:{complaint_id}:reopened:{answered_by}:{acting.event_id}",
                    chat_id=other.telegram_user_id,
                    text=texts.complaint_reopened_notice(complaint_id, reason),
                    now=now,
                )
        return card


async def record_verdict(
    services: Services, complaint_id: int, staff: Staff, justified: bool
) -> bool | Refusal:
    """有理 / 无理, recorded by whoever answered; returns the verdict."""
    async with services.db.session() as session:
        complaint = await get_complaint(session=session, complaint_id=complaint_id, for_update=True)
        if complaint is None:
            return Refusal.NOT_FOUND
        if complaint.answered_by is None or complaint.answered_by != staff.id:
            return Refusal.NOT_YOURS
        complaint.justified = justified
        session.add(complaint)
        await add_complaint_event(
            session=session,
            complaint_id=complaint_id,
            kind=EventKind.VERDICT,
            now=services.clock.now(),
            actor_id=staff.id,
            detail="justified" if justified else "unjustified",
        )
    return justified


async def escalate_overdue(services: Services) -> int:
    """Alert the next level for every complaint whose escalation is due (and close answers
    nobody rated in time); returns how many alerts were queued. Safe to run on several
    instances at once (rows are claimed)."""
    now = services.clock.now()
    queued = 0
    async with services.db.session() as session:
        # No chat locks here, unlike close_day: this changes nobody's conversation (no
        # chat_state), and an update that changes a complaint holds its row, which the claim
        # skips until the next tick. Chat locks taken after these row locks would invert the
        # order updates take them in (db/inbox.py lock_chats).
        due = await claim_due_escalations(session=session, now=now)
        if not due:
            return 0
        answered = [c for c in due if c.status in AWAITING_REPORTER]
        for complaint in answered:
            await _apply(services, session, _Acting(complaint, _SYSTEM), Event.CLOSE, None, now)
        escalating = [c for c in due if c.status not in AWAITING_REPORTER]
        if not escalating:
            return 0
        reference = await services.reference.get(session)
        units, managers = reference.units, reference.managers
        cards = await _cards(services, session, escalating)
        chains = [
            escalation_chain(
                card.complaint.handler_unit_id or card.reporter.unit_id, units, managers
            )
            for card in cards
        ]
        people = await load_staff(
            session=session,
            staff_ids=[staff_id for chain in chains for level in chain for staff_id in level],
        )
        for card, chain in zip(cards, chains, strict=True):
            queued += await _escalate_one(services, session, card, chain, people, now)
    return queued


_SYSTEM = frozenset({Party.SYSTEM})


async def _escalate_one(
    services: Services,
    session: AsyncSession,
    card: ComplaintCard,
    chain: Sequence[Sequence[int]],
    managers: Mapping[int, Staff],
    now: datetime,
) -> int:
    """Send every level that is due (several after downtime), each recipient once. Past
    the top of the chain the top level is reminded each working day: a complaint nobody
    answers never goes quiet."""
    complaint = card.complaint
    assert complaint.id is not None and complaint.deadline is not None
    overdue = services.calendar.working_time_between(complaint.deadline, now)
    levels: list[int] = []
    while True:
        outcome = await _apply(
            services,
            session,
            _Acting(complaint, _SYSTEM),
            Event.ESCALATE,
            None,
            now,
            detail=f"level {complaint.escalation_level + 1}",
        )
        if isinstance(outcome, Refusal):
            break
        levels.append(outcome.after.escalation_level)
    if not chain:
        logger.error(
            "complaint %s: no manager above unit %s", complaint.id, complaint.handler_unit_id
        )
        return 0
    queued = 0
    # After downtime several levels are due at once: each level of the chain is told, the
    # top's daily reminders only once.
    for level in [lv for lv in levels if lv <= len(chain)] + [
        lv for lv in levels[-1:] if lv > len(chain)
    ]:
        for manager_id in chain[min(level, len(chain)) - 1]:
            manager = managers[manager_id]
            await add_complaint_event(
                session=session,
                complaint_id=complaint.id,
                kind=EventKind.ESCALATED,
                now=now,
                actor_id=manager_id,
                detail=f"level {level}",
            )
            if manager.telegram_user_id is None:
                continue
            key = f"escalation:{complaint.id}:{complaint.reopened}:{level}:{manager_id}"
            await _queue_photos(session, card, manager.telegram_user_id, key, now)
            queued += await enqueue_message(
                session=session,
                key=key,
                chat_id=manager.telegram_user_id,
                text=texts.escalation_alert(
                    card,
                    level,
                    overdue,
                    services.settings.time.tz,
                    services.settings.calendar.day_hours,
                ),
                buttons=escalation_buttons(complaint.id),
                now=now,
            )
    return queued


async def check_may_handle(services: Services, complaint_id: int, staff: Staff) -> Refusal | None:
    """Whether the person may re-route the complaint (before showing them departments)."""
    async with services.db.session() as session:
        acting = await _acting(session, complaint_id, staff, Event.REROUTE)
    return acting if isinstance(acting, Refusal) else None


# One chat message holds about this many complaint lines within Telegram's 4,096 characters.
OVERDUE_LISTED = 25


@dataclass(frozen=True)
class OverdueListing:
    cards: list[ComplaintCard]  # the oldest OVERDUE_LISTED
    total: int


async def overdue_in_scope(services: Services, viewer: Staff) -> OverdueListing:
    """Open complaints past their deadline in the viewer's unit and below, oldest first."""
    now = services.clock.now()
    async with services.db.session() as session:
        reference = await services.reference.get(session)
        scope = sorted(units_within(viewer.unit_id, reference.units))
        rows = await list_overdue_complaints(session=session, now=now, unit_ids=scope)
        return OverdueListing(await _cards(services, session, rows[:OVERDUE_LISTED]), len(rows))
