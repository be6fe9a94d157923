"""The escalation job while an update about the same complaint runs (PostgreSQL, where
workers of several instances run beside the job): the job neither waits for a complaint an
update holds nor alerts about it meanwhile, and its next tick sees what that update
committed."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import col, func, select

from bot.services import Services
from bot.usecases.complaints import answer_complaint, escalate_overdue
from bot.views import texts
from db.complaints import get_complaint
from db.models import Complaint, ComplaintStatus, OutboxMessage, Staff
from db.org_import import import_org, read_org_file
from scheduler.org import Department
from tests.bot.services import services_for
from tests.conftest import SAMPLE_ORG


async def staff_of(services: Services, code: str) -> Staff:
    async with services.db.session() as session:
        return (await session.exec(select(Staff).where(Staff.code == code))).one()


async def overdue_complaint(services: Services) -> tuple[int, Staff]:
    """A delivery complaint routed to H001 whose answer deadline passed an hour ago."""
    now = services.clock.now()
    async with services.db.session() as session:
        rows = read_org_file(SAMPLE_ORG)
        await import_org(rows, labels=texts.IMPORT_LABELS, session=session, now=now)
    reporter, handler = await staff_of(services, "C001"), await staff_of(services, "H001")
    assert reporter.id is not None and handler.id is not None
    async with services.db.session() as session:
        complaint = Complaint(
            reporter_id=reporter.id,
            text="东2段信件报刊积压三天了",
            status=ComplaintStatus.OPEN,
            category="delay",
            categories="delay",
            confidence=1.0,
            department=Department.DELIVERY,
            handler_id=handler.id,
            handler_unit_id=handler.unit_id,
            owner_id=handler.id,
            created_at=now - timedelta(days=2),
            routed_at=now - timedelta(days=2),
            deadline=now - timedelta(hours=1),
            next_escalation_at=now - timedelta(hours=1),
        )
        session.add(complaint)
        await session.flush()
        assert complaint.id is not None
        return complaint.id, handler


async def alerts(services: Services) -> int:
    async with services.db.session() as session:
        statement = select(func.count()).where(col(OutboxMessage.key).startswith("escalation:"))
        return int((await session.exec(statement)).one())


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_an_answer_under_way_as_the_deadline_passes_gets_no_alert(
    database_url: str,
) -> None:
    services = services_for(database_url)
    try:
        complaint_id, handler = await overdue_complaint(services)
        # The handler's answer is being handled: its transaction holds the complaint (as
        # every use case that changes one does). A tick meanwhile skips it at once.
        async with services.db.session() as answering:
            await get_complaint(session=answering, complaint_id=complaint_id, for_update=True)
            assert await asyncio.wait_for(escalate_overdue(services), 10) == 0
        assert await alerts(services) == 0
        answer = "已查明原因并答复用户"
        assert await answer_complaint(services, complaint_id, handler, answer) is None
        assert await escalate_overdue(services) == 0
        assert await alerts(services) == 0
        async with services.db.session() as session:
            complaint = await get_complaint(session=session, complaint_id=complaint_id)
        assert complaint is not None
        assert (complaint.status, complaint.escalation_level) == (ComplaintStatus.ANSWERED, 0)
    finally:
        await services.db.close()
