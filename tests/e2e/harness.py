"""The bot under test, running in-process against the sandbox Bot API, with a clock the
test moves and a way to run the scheduled work at that clock time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta

from sqlmodel import select

from bot.app import BotApplication, build_application, running
from bot.clock import ManualClock
from bot.jobs import run_due_work
from bot.outbox import OutboxSender
from bot.sandbox import SandboxServer, SandboxUser, SentMessage
from bot.services import Services
from bot.settings import Settings
from db.models import Staff
from db.staff import create_invite
from nlp.reader import ComplaintReader
from scheduler.org import Level

# Telegram user ids of the simulated staff: 工号 → id.
_FIRST_USER_ID = 7_000_000_001


@dataclass
class Harness:
    sandbox: SandboxServer
    services: Services
    application: BotApplication
    clock: ManualClock
    users: dict[str, SandboxUser] = field(default_factory=dict)

    @property
    def db(self):  # type: ignore[no-untyped-def]
        return self.services.db

    async def invite(self, staff_code: str, valid_for: timedelta = timedelta(days=7)) -> str:
        async with self.services.db.session() as session:
            staff = (await session.exec(select(Staff).where(Staff.code == staff_code))).one()
            invite = await create_invite(
                session=session, staff=staff, now=self.clock.now(), valid_for=valid_for
            )
        return invite.code

    def user(self, staff_code: str) -> SandboxUser:
        """The Telegram account a staff member uses (not registered by itself)."""
        if staff_code not in self.users:
            user_id = _FIRST_USER_ID + len(self.users)
            self.users[staff_code] = self.sandbox.user(user_id, staff_code)
        return self.users[staff_code]

    async def register(self, staff_code: str) -> SandboxUser:
        """Invite and /start: the staff member's account is bound and welcomed."""
        user = self.user(staff_code)
        await user.send(f"/start {await self.invite(staff_code)}")
        (welcome,) = await user.replies(1)
        assert "欢迎" in welcome.content, welcome.content
        return user

    async def tick(self) -> None:
        """The scheduled work at the clock's current time (what the repeating job runs)."""
        await run_due_work(self.services)
        self.sender.wake()

    @property
    def sender(self) -> OutboxSender:
        sender: OutboxSender = self.application.bot_data["outbox_sender"]
        return sender


@asynccontextmanager
async def run_bot(
    settings: Settings,
    sandbox: SandboxServer,
    clock: ManualClock,
    reader: ComplaintReader,
    *,
    checks: bool = True,
) -> AsyncIterator[Harness]:
    """The bot, polling the sandbox. checks=False keeps only the region-level catalog items
    (the sample organisation has no region inspectors): no daily checks, pushes or miss
    summaries in tests about something else."""
    services = Services.create(settings, clock)
    services.complaint_reader = reader
    if not checks:
        regional = tuple(i for i in services.catalog if i.level is Level.REGION)
        services.catalog = replace(services.catalog, items=regional)
    application = build_application(services)
    async with running(application, poll_timeout=1):
        yield Harness(sandbox, services, application, clock)


def texts_of(messages: list[SentMessage]) -> list[str]:
    return [m.content for m in messages]
