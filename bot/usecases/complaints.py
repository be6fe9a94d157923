"""Complaint use cases: report, confirm and route, answer, re-route, return, claim, escalate.

Each function is one unit of work: it reads and writes through db/, applies the rules of
scheduler/complaints.py, queues the messages other people must get in the outbox, and
returns what the caller needs to answer the person who acted. No Telegram here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services import Services
from bot.usecases.checks import FLOW_CHECK
from bot.usecases.highlights import RecordedHighlight, store_highlight
from bot.usecases.messages import enqueue_message
from bot.views import texts
from bot.views.buttons import draft_buttons, escalation_buttons, handler_buttons
from bot.views.cards import ComplaintCard
from db.chat_state import clear_chat_state, get_chat_state, set_chat_state
from db.complaints import (
    EventKind,
    add_complaint_event,
    add_labelled_example,
    claim_due_escalations,
    get_complaint,
    list_escalated_staff,
    list_overdue_complaints,
    load_places,
)
from db.models import Complaint, ComplaintStatus, HighlightSource, Staff
from db.staff import get_staff, get_unit, list_staff_posts, load_org_units, load_staff
from nlp.categories import Category
from nlp.reader import ComplaintReader, ComplaintReading
from scheduler.complaints import (
    answer_deadline,
    escalation_chain,
    escalation_time,
    resolve_handler,
    units_within,
)
from scheduler.org import Department, Role

logger = logging.getLogger(__name__)

FLOW_COMPLAINT_TEXT = "complaint_text"
FLOW_ANSWER = "complaint_answer"
FLOW_REROUTE_REASON = "complaint_reroute"
FLOW_RETURN_REASON = "complaint_return"

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


async def _cards(session: AsyncSession, complaints: Sequence[Complaint]) -> list[ComplaintCard]:
    """Names resolved in a few queries however many complaints there are: /overdue and the
    escalation scan handle thousands after a long holiday."""
    people = await load_staff(
        session=session,
        staff_ids=[c.reporter_id for c in complaints]
        + [c.handler_id for c in complaints if c.handler_id is not None],
    )
    places = await load_places(
        session=session,
        unit_ids={people[c.reporter_id].unit_id for c in complaints}
        | {c.site_id for c in complaints if c.site_id is not None},
        segment_ids={c.segment_id for c in complaints if c.segment_id is not None},
        transfer_point_ids={
            c.transfer_point_id for c in complaints if c.transfer_point_id is not None
        },
    )
    cards = []
    for complaint in complaints:
        reporter = people[complaint.reporter_id]
        reporter_unit = places.units.get(reporter.unit_id)
        site = places.units.get(complaint.site_id) if complaint.site_id else None
        segment = places.segments.get(complaint.segment_id) if complaint.segment_id else None
        point = (
            places.transfer_points.get(complaint.transfer_point_id)
            if complaint.transfer_point_id
            else None
        )
        cards.append(
            ComplaintCard(
                complaint=complaint,
                reporter=reporter,
                reporter_unit=reporter_unit.name if reporter_unit else "",
                site=site.name if site else None,
                segment=segment.name if segment else None,
                transfer_point=point.name if point else None,
                handler=people.get(complaint.handler_id) if complaint.handler_id else None,
            )
        )
    return cards


async def _card(session: AsyncSession, complaint: Complaint) -> ComplaintCard:
    (card,) = await _cards(session, [complaint])
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
        status=ComplaintStatus.DRAFT,
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
        department=services.settings.routing[classification.category],
        created_at=now,
    )
    async with services.db.session() as session:
        session.add(complaint)
        await session.flush()
        assert complaint.id is not None
        await _log(
            session,
            complaint.id,
            EventKind.CREATED,
            now,
            reporter.id,
            f"confidence={classification.confidence:.2f}",
        )
        await clear_chat_state(session=session, staff_id=reporter.id)
        card = await _card(session, complaint)
    return DraftReport(
        card, classification.low_confidence, classification.choices, classification.praise
    )


async def keep_as_complaint(
    services: Services, reader: ComplaintReader, complaint_id: int, reporter: Staff
) -> DraftReport | Refusal:
    """A text offered as praise stays a complaint: the draft as the reader understood it
    (read again, it holds no choices)."""
    async with services.db.session() as session:
        complaint = await _own_draft(session, complaint_id, reporter)
        if isinstance(complaint, Refusal):
            return complaint
        card = await _card(session, complaint)
    classification = reader.read(complaint.text).classification
    return DraftReport(card, classification.low_confidence, classification.choices, praise=False)


async def record_praise(
    services: Services, complaint_id: int, reporter: Staff
) -> RecordedHighlight | Refusal:
    """The praising draft becomes a highlight of the unit it names (or the reporter's); the
    draft is cancelled, its history says which highlight it became."""
    now = services.clock.now()
    async with services.db.session() as session:
        complaint = await _own_draft(session, complaint_id, reporter)
        if isinstance(complaint, Refusal):
            return complaint
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
        complaint.status = ComplaintStatus.CANCELLED
        session.add(complaint)
        await _log(
            session,
            complaint_id,
            EventKind.CANCELLED,
            now,
            reporter.id,
            f"highlight={recorded.highlight_id}",
        )
    return recorded


async def _own_draft(
    session: AsyncSession, complaint_id: int, reporter: Staff
) -> Complaint | Refusal:
    complaint = await get_complaint(session=session, complaint_id=complaint_id, for_update=True)
    if complaint is None:
        return Refusal.NOT_FOUND
    if complaint.reporter_id != reporter.id:
        return Refusal.NOT_YOURS
    if complaint.status is not ComplaintStatus.DRAFT:
        return Refusal.WRONG_STATE
    return complaint


async def choose_category(
    services: Services, complaint_id: int, reporter: Staff, category: Category
) -> ComplaintCard | Refusal:
    """The reporter corrects or picks the category; the choice becomes a training example."""
    now = services.clock.now()
    async with services.db.session() as session:
        complaint = await _own_draft(session, complaint_id, reporter)
        if isinstance(complaint, Refusal):
            return complaint
        if complaint.category == category.value and complaint.confidence == 1.0:
            return await _card(session, complaint)  # chosen already (a repeated press)
        complaint.category = category.value
        others = [c for c in complaint.categories.split(",") if c and c != category.value]
        complaint.categories = ",".join([category.value, *others])
        complaint.confidence = 1.0
        complaint.department = services.settings.routing[category]
        session.add(complaint)
        await add_labelled_example(
            session=session,
            text=complaint.text,
            category=category.value,
            staff_id=reporter.id,
            now=now,
        )
        return await _card(session, complaint)


async def check_own_draft(services: Services, complaint_id: int, reporter: Staff) -> Refusal | None:
    """Whether the reporter may still change the draft (before showing them choices)."""
    async with services.db.session() as session:
        complaint = await _own_draft(session, complaint_id, reporter)
    return complaint if isinstance(complaint, Refusal) else None


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


async def cancel_draft(services: Services, complaint_id: int, reporter: Staff) -> Refusal | None:
    now = services.clock.now()
    async with services.db.session() as session:
        complaint = await _own_draft(session, complaint_id, reporter)
        if isinstance(complaint, Refusal):
            return complaint
        complaint.status = ComplaintStatus.CANCELLED
        session.add(complaint)
        await _log(session, complaint_id, EventKind.CANCELLED, now, reporter.id)
    return None


async def _route(
    services: Services,
    session: AsyncSession,
    complaint: Complaint,
    department: Department,
    now: datetime,
) -> Staff | None:
    """Give the complaint to the nearest handler of the department and tell them."""
    assert complaint.id is not None
    units = await load_org_units(session=session)
    reporter = await get_staff(session=session, staff_id=complaint.reporter_id)
    start_unit = complaint.site_id or reporter.unit_id
    handlers = await list_staff_posts(session=session, role=Role.HANDLER)
    post = resolve_handler(department, start_unit, units, handlers)
    complaint.department = department
    complaint.handler_id = post.staff_id if post else None
    complaint.handler_unit_id = post.unit_id if post else start_unit
    session.add(complaint)
    if post is None:
        logger.warning(
            "complaint %s: no %s handler above unit %s", complaint.id, department, start_unit
        )
        return None
    handler = await get_staff(session=session, staff_id=post.staff_id)
    card = await _card(session, complaint)
    if handler.telegram_user_id is not None:
        await enqueue_message(
            session=session,
            key=f"complaint:{complaint.id}:route:{handler.id}:{now.isoformat()}",
            chat_id=handler.telegram_user_id,
            text=texts.complaint_for_handler(card, services.settings.time.tz),
            buttons=handler_buttons(complaint.id),
            now=now,
        )
    return handler


async def confirm_complaint(
    services: Services, complaint_id: int, reporter: Staff
) -> ComplaintCard | Refusal:
    """Route the confirmed complaint and start its answer deadline."""
    now = services.clock.now()
    async with services.db.session() as session:
        complaint = await _own_draft(session, complaint_id, reporter)
        if isinstance(complaint, Refusal):
            return complaint
        category = Category(complaint.category)
        complaint.status = ComplaintStatus.OPEN
        complaint.routed_at = now
        if complaint.deadline is None:
            days = services.settings.complaints.answer_within(category)
            complaint.deadline = answer_deadline(now, days, services.calendar)
            complaint.next_escalation_at = escalation_time(complaint.deadline, 1, services.calendar)
        handler = await _route(
            services, session, complaint, services.settings.routing[category], now
        )
        await _log(
            session,
            complaint_id,
            EventKind.ROUTED,
            now,
            reporter.id,
            f"{complaint.department}→{handler.name if handler else '-'}",
        )
        return await _card(session, complaint)


def _may_act(complaint: Complaint, staff: Staff, alerted: Sequence[int]) -> bool:
    return staff.id == complaint.handler_id or staff.id in alerted


async def _open_for(session: AsyncSession, complaint_id: int, staff: Staff) -> Complaint | Refusal:
    complaint = await get_complaint(session=session, complaint_id=complaint_id, for_update=True)
    if complaint is None:
        return Refusal.NOT_FOUND
    alerted = await list_escalated_staff(session=session, complaint_id=complaint_id)
    if not _may_act(complaint, staff, alerted):
        return Refusal.NOT_YOURS
    if complaint.status is not ComplaintStatus.OPEN:
        return Refusal.WRONG_STATE
    return complaint


async def begin_input(
    services: Services, complaint_id: int, staff: Staff, flow: str, data: str | None = None
) -> Refusal | None:
    """Remember that the person's next message is the answer (or reason) for this complaint."""
    assert staff.id is not None
    async with services.db.session() as session:
        complaint = await _open_for(session, complaint_id, staff)
        if isinstance(complaint, Refusal):
            return complaint
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
        complaint = await _open_for(session, complaint_id, staff)
        await clear_chat_state(session=session, staff_id=staff.id)
        if isinstance(complaint, Refusal):
            return complaint
        complaint.status = ComplaintStatus.ANSWERED
        complaint.answer, complaint.answered_by, complaint.answered_at = answer, staff.id, now
        complaint.next_escalation_at = None
        session.add(complaint)
        await _log(session, complaint_id, EventKind.ANSWERED, now, staff.id)
        reporter = await get_staff(session=session, staff_id=complaint.reporter_id)
        if reporter.telegram_user_id is not None:
            await enqueue_message(
                session=session,
                key=f"complaint:{complaint_id}:answered:reporter",
                chat_id=reporter.telegram_user_id,
                text=texts.complaint_answered_for_reporter(complaint_id, staff.name, answer),
                now=now,
            )
        for alerted_id in await list_escalated_staff(session=session, complaint_id=complaint_id):
            alerted = await get_staff(session=session, staff_id=alerted_id)
            if alerted.telegram_user_id is None or alerted.id == staff.id:
                continue
            await enqueue_message(
                session=session,
                key=f"complaint:{complaint_id}:closed:{alerted_id}",
                chat_id=alerted.telegram_user_id,
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
        complaint = await _open_for(session, complaint_id, staff)
        await clear_chat_state(session=session, staff_id=staff.id)
        if isinstance(complaint, Refusal):
            return complaint
        previous = complaint.department
        handler = await _route(services, session, complaint, department, now)
        await _log(
            session,
            complaint_id,
            EventKind.REROUTED,
            now,
            staff.id,
            f"{previous}→{department}→{handler.name if handler else '-'}: {reason}",
        )
        return await _card(session, complaint)


async def return_complaint(
    services: Services, complaint_id: int, staff: Staff, reason: str
) -> Refusal | None:
    """The handler sends the complaint back to the reporter (not theirs, or facts missing)."""
    assert staff.id is not None
    now = services.clock.now()
    async with services.db.session() as session:
        complaint = await _open_for(session, complaint_id, staff)
        await clear_chat_state(session=session, staff_id=staff.id)
        if isinstance(complaint, Refusal):
            return complaint
        complaint.status = ComplaintStatus.DRAFT
        complaint.handler_id = None
        complaint.next_escalation_at = None
        session.add(complaint)
        await _log(session, complaint_id, EventKind.RETURNED, now, staff.id, reason)
        card = await _card(session, complaint)
        if card.reporter.telegram_user_id is not None:
            await enqueue_message(
                session=session,
                key=f"complaint:{complaint_id}:returned:{now.isoformat()}",
                chat_id=card.reporter.telegram_user_id,
                text=texts.complaint_returned(card, staff.name, reason),
                buttons=draft_buttons(complaint_id),
                now=now,
            )
    return None


async def claim_complaint(
    services: Services, complaint_id: int, manager: Staff
) -> ComplaintCard | Refusal:
    """An alerted manager takes the complaint over: they become its handler."""
    assert manager.id is not None
    now = services.clock.now()
    async with services.db.session() as session:
        complaint = await _open_for(session, complaint_id, manager)
        if isinstance(complaint, Refusal):
            return complaint
        if complaint.handler_id == manager.id:
            return Refusal.WRONG_STATE  # claimed already (a repeated press)
        complaint.handler_id = manager.id
        session.add(complaint)
        await _log(session, complaint_id, EventKind.CLAIMED, now, manager.id)
        return await _card(session, complaint)


async def escalate_overdue(services: Services) -> int:
    """Alert the next level for every complaint whose escalation is due; returns how many
    alerts were queued. Safe to run on several instances at once (rows are claimed)."""
    now = services.clock.now()
    queued = 0
    async with services.db.session() as session:
        due = await claim_due_escalations(session=session, now=now)
        if not due:
            return 0
        units = await load_org_units(session=session)
        managers = await list_staff_posts(session=session, role=Role.MANAGER)
        cards = await _cards(session, due)
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


async def _escalate_one(
    services: Services,
    session: AsyncSession,
    card: ComplaintCard,
    chain: Sequence[Sequence[int]],
    managers: Mapping[int, Staff],
    now: datetime,
) -> int:
    """Send every level that is due (several after downtime), each recipient once."""
    complaint = card.complaint
    assert complaint.id is not None and complaint.deadline is not None
    overdue = services.calendar.working_time_between(complaint.deadline, now)
    queued = 0
    while complaint.next_escalation_at is not None and complaint.next_escalation_at <= now:
        level = complaint.escalation_level + 1
        if level > len(chain):
            complaint.next_escalation_at = None
            break
        for manager_id in chain[level - 1]:
            manager = managers[manager_id]
            await _log(
                session, complaint.id, EventKind.ESCALATED, now, manager_id, f"level {level}"
            )
            if manager.telegram_user_id is None:
                continue
            queued += await enqueue_message(
                session=session,
                key=f"escalation:{complaint.id}:{level}:{manager_id}",
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
        complaint.escalation_level = level
        complaint.next_escalation_at = (
            escalation_time(complaint.deadline, level + 1, services.calendar)
            if level < len(chain)
            else None
        )
    session.add(complaint)
    return queued


async def check_may_handle(services: Services, complaint_id: int, staff: Staff) -> Refusal | None:
    """Whether the person may act on the open complaint (before showing them choices)."""
    async with services.db.session() as session:
        complaint = await _open_for(session, complaint_id, staff)
    return complaint if isinstance(complaint, Refusal) else None


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
        units = await load_org_units(session=session)
        scope = sorted(units_within(viewer.unit_id, units))
        rows = await list_overdue_complaints(session=session, now=now, unit_ids=scope)
        return OverdueListing(await _cards(session, rows[:OVERDUE_LISTED]), len(rows))
