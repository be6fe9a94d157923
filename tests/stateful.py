"""How the project's state machines run: seeded (the same sequences on every run and
machine, so a failure in CI is one anyone can replay), with no per-example deadline (a
step may wait on a database) and quiet about slow data generation; and the sample
organisation each example starts from."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine
from sqlalchemy import delete, update
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.views import texts
from db.models import Staff
from db.org_import import import_org, read_org_file
from tests.conftest import SAMPLE_ORG


def run_seeded(
    machine: type[RuleBasedStateMachine], *, examples: int, steps: int, **attributes: object
) -> None:
    """Set the machine's class attributes (its database, fixtures …) and run it."""
    for name, value in attributes.items():
        setattr(machine, name, value)
    case = machine.TestCase
    case.settings = settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    case().runTest()


async def sample_org_for_example(
    session: AsyncSession,
    *,
    now: datetime,
    cleared: Sequence[type[SQLModel]],
    registered: Sequence[str],
    first_chat: int,
    unregistered: Sequence[str] = (),
) -> dict[str, Staff]:
    """The sample organisation (imported once per database) without what the previous
    example left (the ``cleared`` tables, emptied in that order), and the machine's people
    by code: ``registered`` with chats ``first_chat``, ``first_chat + 1`` …, everyone else
    unregistered; nobody blocking the bot or gone."""
    if not (await session.exec(select(Staff))).first():
        await import_org(
            read_org_file(SAMPLE_ORG), labels=texts.IMPORT_LABELS, session=session, now=now
        )
    for table in cleared:
        await session.exec(delete(table))
    await session.exec(
        update(Staff).values(telegram_user_id=None, left_at=None, blocked_bot_at=None)
    )
    people = {}
    for code in (*registered, *unregistered):
        people[code] = (await session.exec(select(Staff).where(Staff.code == code))).one()
    for number, code in enumerate(registered):
        people[code].telegram_user_id = first_chat + number
        session.add(people[code])
    await session.flush()
    return people
