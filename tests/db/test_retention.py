"""Personal data past its keeping period is anonymised, once a day, and nothing newer is
touched (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, select

from bot.clock import ManualClock
from bot.services import Services
from bot.settings import load_settings
from bot.usecases.retention import anonymise_old_personal_data
from bot.views import texts
from db.complaints import create_complaint
from db.models import (
    Complaint,
    ComplaintDetail,
    ComplaintEvent,
    Highlight,
    HighlightSource,
    LabelledExample,
    OutboxMessage,
    Staff,
)
from db.org_import import import_org, read_org_file
from db.session import Database
from scheduler.complaint_lifecycle import Lifecycle, State
from tests.conftest import REPO, SAMPLE_ORG, SHANGHAI

NOW = datetime(2029, 12, 3, 2, 0, tzinfo=SHANGHAI)
OLD = NOW - timedelta(days=3 * 365 + 2)
RECENT = NOW - timedelta(days=3 * 365 - 2)
TEXT = "东2段信件积压三天了，用户电话13912345678，单号1234567890123"


async def seed(database: Database) -> None:
    async with database.session() as session:
        await import_org(
            read_org_file(SAMPLE_ORG), labels=texts.IMPORT_LABELS, session=session, now=OLD
        )
    async with database.session() as session:
        clerk = (await session.exec(select(Staff).where(Staff.code == "C002"))).one()
        assert clerk.id is not None
        for when in (OLD, RECENT):
            complaint = await create_complaint(
                session=session,
                complaint=Complaint(
                    reporter_id=clerk.id,
                    text=TEXT,
                    category="delay",
                    categories="delay",
                    confidence=0.9,
                    phones="13912345678",
                    tracking_numbers="1234567890123",
                    answer="已联系用户 13912345678",
                    created_at=when,
                ),
                lifecycle=Lifecycle(State.CLOSED),
            )
            assert complaint.id is not None
            session.add_all(
                [
                    ComplaintDetail(
                        complaint_id=complaint.id, staff_id=clerk.id, text=TEXT, added_at=when
                    ),
                    ComplaintEvent(
                        complaint_id=complaint.id, kind="returned", detail=TEXT, at=when
                    ),
                    LabelledExample(
                        text=TEXT, category="delay", staff_id=clerk.id, created_at=when
                    ),
                    Highlight(
                        unit_id=clerk.unit_id,
                        author_id=clerk.id,
                        text=TEXT,
                        source=HighlightSource.PRAISE,
                        created_at=when,
                    ),
                    OutboxMessage(
                        key=f"sent:{when}", chat_id=1, text=TEXT, created_at=when, sent_at=when
                    ),
                    OutboxMessage(key=f"pending:{when}", chat_id=1, text=TEXT, created_at=when),
                ]
            )


async def test_old_personal_data_is_anonymised_once_a_day_and_nothing_newer(
    database_url: str,
) -> None:
    settings = load_settings(REPO / "config.toml", {"DATABASE_URL": database_url})
    assert settings.retention.personal_data_years == 3
    services = Services.create(settings, ManualClock(NOW))
    try:
        await seed(services.db)
        done = await anonymise_old_personal_data(services)
        assert done is not None
        assert (done.complaints, done.details, done.events, done.examples) == (1, 1, 1, 1)
        assert (done.highlights, done.outbox) == (1, 1)
        assert await anonymise_old_personal_data(services) is None  # once a day
        async with services.db.session() as session:
            complaints = (await session.exec(select(Complaint).order_by(col(Complaint.id)))).all()
            old, recent = complaints
            assert old.text == texts.ANONYMISED and old.phones == "" and old.answer is None
            assert old.tracking_numbers == "" and old.category == "delay"  # counts stay
            assert recent.text == TEXT and recent.phones == "13912345678"
            details = (await session.exec(select(ComplaintDetail.text))).all()
            assert sorted(details) == sorted([texts.ANONYMISED, TEXT])
            events = (await session.exec(select(ComplaintEvent.detail))).all()
            assert sorted(events) == sorted(["", TEXT])
            examples = (await session.exec(select(LabelledExample))).all()
            assert [e.created_at for e in examples] == [RECENT]
            outbox = {m.key: m.text for m in (await session.exec(select(OutboxMessage))).all()}
            assert outbox == {
                f"sent:{OLD}": "",
                f"pending:{OLD}": TEXT,  # not yet sent: kept until it is
                f"sent:{RECENT}": TEXT,
                f"pending:{RECENT}": TEXT,
            }
            texts_now = sorted((await session.exec(select(Highlight.text))).all())
            assert texts_now == sorted([texts.ANONYMISED, TEXT])
    finally:
        await services.db.close()
