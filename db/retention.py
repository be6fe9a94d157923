"""Personal data past its keeping period: complaint texts, customers' phones and tracking
numbers, answers and added details, labelled examples, highlight texts and the texts of
delivered outbox messages. Set-based statements: no row is loaded, however many there are.
The records themselves stay (counts, dates, categories, units): reports keep working."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import (
    Complaint,
    ComplaintDetail,
    ComplaintEvent,
    Highlight,
    LabelledExample,
    OutboxMessage,
)


@dataclass(frozen=True)
class Anonymised:
    complaints: int
    details: int
    events: int
    examples: int
    highlights: int
    outbox: int

    @property
    def total(self) -> int:
        return (
            self.complaints
            + self.details
            + self.events
            + self.examples
            + self.highlights
            + self.outbox
        )


async def anonymise_personal_data(
    *, session: AsyncSession, before: datetime, placeholder: str
) -> Anonymised:
    """Everything personal created before ``before`` is replaced by ``placeholder`` (texts)
    or emptied; labelled examples, nothing but a customer's text, are deleted. Rows already
    anonymised are not touched again."""
    complaints = await session.exec(
        update(Complaint)
        .where(col(Complaint.created_at) < before, col(Complaint.text) != placeholder)
        .values(
            text=placeholder,
            phones="",
            tracking_numbers="",
            photo_file_id=None,
            answer=None,
        )
        .execution_options(synchronize_session=False)
    )
    details = await session.exec(
        update(ComplaintDetail)
        .where(col(ComplaintDetail.added_at) < before, col(ComplaintDetail.text) != placeholder)
        .values(text=placeholder)
        .execution_options(synchronize_session=False)
    )
    # Reasons for returning or rerouting quote the customer as often as not.
    events = await session.exec(
        update(ComplaintEvent)
        .where(col(ComplaintEvent.at) < before, col(ComplaintEvent.detail) != "")
        .values(detail="")
        .execution_options(synchronize_session=False)
    )
    examples = await session.exec(
        delete(LabelledExample)
        .where(col(LabelledExample.created_at) < before)
        .execution_options(synchronize_session=False)
    )
    highlights = await session.exec(
        update(Highlight)
        .where(col(Highlight.created_at) < before, col(Highlight.text) != placeholder)
        .values(text=placeholder, photo_file_id=None)
        .execution_options(synchronize_session=False)
    )
    # Only what is finished with: a message still to be sent keeps its text.
    outbox = await session.exec(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.created_at) < before,
            or_(col(OutboxMessage.sent_at).is_not(None), col(OutboxMessage.failed_at).is_not(None)),
            or_(
                col(OutboxMessage.text) != "",
                col(OutboxMessage.photo).is_not(None),
                col(OutboxMessage.document).is_not(None),
            ),
        )
        .values(text="", buttons=None, photo=None, document=None)
        .execution_options(synchronize_session=False)
    )
    return Anonymised(
        complaints=int(complaints.rowcount),
        details=int(details.rowcount),
        events=int(events.rowcount),
        examples=int(examples.rowcount),
        highlights=int(highlights.rowcount),
        outbox=int(outbox.rowcount),
    )
