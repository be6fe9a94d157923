from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.sandbox import SandboxServer
from bot.settings import Settings, load_settings
from bot.views import texts
from db.org_import import import_org, read_org_file
from db.session import Database
from nlp.reader import ComplaintReader
from tests.conftest import REPO, SAMPLE_ORG
from tests.e2e.harness import Harness, run_bot


@pytest.fixture(scope="session")
def trained_reader() -> ComplaintReader:
    """Training the classifier takes a second: once per test session."""
    return ComplaintReader.create()


@pytest.fixture
def reader(trained_reader: ComplaintReader) -> ComplaintReader:
    """Each test's own reader: a test whose bot retrains the classifier (after a reporter
    chose a category) leaves the next test the classifier it started with."""
    return copy.copy(trained_reader)


@pytest.fixture
def paced_settings(database_url: str, sandbox: SandboxServer, tmp_path: Path) -> Settings:
    """config.toml as shipped, pointed at the sandbox and this test's database."""
    loaded = load_settings(
        REPO / "config.toml",
        {"TELEGRAM_BOT_TOKEN": sandbox.token, "DATABASE_URL": database_url},
    )
    bot = loaded.bot.model_copy(
        update={"api_base_url": sandbox.base_url, "username": sandbox.world.bot_user["username"]}
    )
    calendar = loaded.calendar.model_copy(update={"admin_dir": tmp_path / "calendar"})
    return loaded.model_copy(update={"bot": bot, "calendar": calendar})


@pytest.fixture
def settings(paced_settings: Settings) -> Settings:
    """The shipped configuration, but chats not paced: the sandbox enforces no flood limits
    unless a test says so, and simulated people answer within milliseconds, so Telegram's
    one message a second per chat would make every step of a dialog wait. Tests about the
    limits use paced_settings (or paced_bot)."""
    unpaced = paced_settings.rate_limits.model_copy(
        update={"chat_per_second": 1000.0, "chat_burst": 1000}
    )
    return paced_settings.model_copy(update={"rate_limits": unpaced})


@pytest.fixture
async def sample_org(database_url: str, clock: ManualClock) -> None:
    database = Database(database_url)
    async with database.session() as session:
        await import_org(
            read_org_file(SAMPLE_ORG), labels=texts.IMPORT_LABELS, session=session, now=clock.now()
        )
    await database.close()


@pytest.fixture
async def bot(
    settings: Settings,
    sandbox: SandboxServer,
    clock: ManualClock,
    reader: ComplaintReader,
    sample_org: None,
) -> AsyncIterator[Harness]:
    async with run_bot(settings, sandbox, clock, reader) as harness:
        yield harness


@pytest.fixture
async def quiet_bot(
    settings: Settings,
    sandbox: SandboxServer,
    clock: ManualClock,
    reader: ComplaintReader,
    sample_org: None,
) -> AsyncIterator[Harness]:
    """The bot without daily checks: only what a test does or seeds goes out."""
    async with run_bot(settings, sandbox, clock, reader, checks=False) as harness:
        yield harness


@pytest.fixture
async def paced_bot(
    paced_settings: Settings,
    sandbox: SandboxServer,
    clock: ManualClock,
    reader: ComplaintReader,
    sample_org: None,
) -> AsyncIterator[Harness]:
    """The quiet bot pacing each chat as in production."""
    async with run_bot(paced_settings, sandbox, clock, reader, checks=False) as harness:
        yield harness
