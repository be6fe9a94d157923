"""The bot running in-process against the sandbox Bot API, with simulated staff and a clock
moved by hand. The end-to-end tests and `python -m bot demo` both drive the bot through this:
everything the simulated people see is what the real bot sent through the Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta

from pydantic import SecretStr
from sqlmodel import select

from bot.app.application import SENDER_KEY, BotApplication, build_application, running
from bot.app.jobs import run_due_work
from bot.app.webhook import WebhookOptions
from bot.clock import ManualClock
from bot.sandbox import SandboxServer, SandboxUser
from bot.services import Services
from bot.settings import Settings
from bot.usecases.outbox import OutboxSender
from db.models import Staff
from db.session import Database
from db.staff import create_invite
from nlp.reader import ComplaintReader
from scheduler.org import Level

# Telegram user ids of the simulated staff, handed out in order of first use.
FIRST_USER_ID = 7_000_000_001
WELCOME_MARK = "欢迎"


class UnexpectedReply(AssertionError):
    """The bot did not answer a simulated person the way the script expects."""


@dataclass
class Simulation:
    """A running bot, its sandbox and clock, and the staff's Telegram accounts by 工号."""

    sandbox: SandboxServer
    services: Services
    application: BotApplication
    clock: ManualClock
    users: dict[str, SandboxUser] = field(default_factory=dict)

    @property
    def db(self) -> Database:
        return self.services.db

    @property
    def sender(self) -> OutboxSender:
        sender: OutboxSender = self.application.bot_data[SENDER_KEY]
        return sender

    async def staff(self, staff_code: str) -> Staff:
        async with self.services.db.session() as session:
            return (await session.exec(select(Staff).where(Staff.code == staff_code))).one()

    async def invite(self, staff_code: str, valid_for: timedelta = timedelta(days=7)) -> str:
        """A one-time invite code, as `python -m bot invite` issues."""
        async with self.services.db.session() as session:
            staff = (await session.exec(select(Staff).where(Staff.code == staff_code))).one()
            invite = await create_invite(
                session=session, staff=staff, now=self.clock.now(), valid_for=valid_for
            )
        return invite.code

    def user(self, staff_code: str, first_name: str | None = None) -> SandboxUser:
        """The Telegram account a staff member uses (not registered by itself)."""
        if staff_code not in self.users:
            user_id = FIRST_USER_ID + len(self.users)
            self.users[staff_code] = self.sandbox.user(user_id, first_name or staff_code)
        return self.users[staff_code]

    async def register(self, staff_code: str, first_name: str | None = None) -> SandboxUser:
        """Invite and /start: the staff member's account is bound and welcomed."""
        user = self.user(staff_code, first_name)
        await user.send(f"/start {await self.invite(staff_code)}")
        (welcome,) = await user.replies(1)
        if WELCOME_MARK not in welcome.content:
            raise UnexpectedReply(f"{staff_code} was not welcomed: {welcome.content}")
        return user

    async def tick(self) -> None:
        """The scheduled work at the clock's current time (what the repeating job runs)."""
        await run_due_work(self.services)
        self.sender.wake()


def sandbox_settings(settings: Settings, sandbox: SandboxServer) -> Settings:
    """The settings with the bot pointed at the sandbox and its token."""
    bot = settings.bot.model_copy(
        update={
            "api_base_url": sandbox.base_url,
            "token": SecretStr(sandbox.token),
            "username": sandbox.world.bot_user["username"],
        }
    )
    return settings.model_copy(update={"bot": bot})


@asynccontextmanager
async def simulate(
    settings: Settings,
    sandbox: SandboxServer,
    clock: ManualClock,
    reader: ComplaintReader | None = None,
    *,
    checks: bool = True,
    webhook: WebhookOptions | None = None,
) -> AsyncIterator[Simulation]:
    """The bot against the sandbox, polling it (or, with ``webhook``, fed by it). ``reader``
    skips training the classifier again; checks=False keeps only the region-level catalog
    items (the sample organisation has no region inspectors): no daily checks, pushes or
    miss summaries."""
    services = Services.create(settings, clock)
    services.complaint_reader = reader
    if not checks:
        regional = tuple(i for i in services.catalog if i.level is Level.REGION)
        services.catalog = replace(services.catalog, items=regional)
    application = build_application(services)
    async with running(application, poll_timeout=1, webhook=webhook):
        yield Simulation(sandbox, services, application, clock)
