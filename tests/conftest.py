"""Shared fixtures: a fresh database per test on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from telegram.constants import ParseMode
from telegram.ext import Defaults

from bot.app.event_loop import use_fast_event_loop
from bot.app.splitting_bot import SplittingBot
from bot.clock import ManualClock
from bot.sandbox import SandboxServer
from db.session import Database
from tests.database_templates import PostgresTemplate, SqliteTemplate

# PTB 22 warns (an error under pytest) when it builds RetryAfter unless this opts in to
# timedelta periods; the bot sets it in bot/app/cli.py.
os.environ.setdefault("PTB_TIMEDELTA", "true")
# Every test on the loop the bot runs on (pytest-asyncio's loops and asyncio.run alike).
use_fast_event_loop()

SHANGHAI = ZoneInfo("Asia/Shanghai")
POSTGRES_DSN = os.environ.get("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
REPO = Path(__file__).resolve().parent.parent
SAMPLE_ORG = REPO / "db" / "sample_org.csv"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    return SqliteTemplate(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def postgres_template() -> PostgresTemplate:
    return PostgresTemplate(POSTGRES_DSN, "test")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database; each test gets its own file or schema."""
    if request.param == "sqlite":
        template: SqliteTemplate = request.getfixturevalue("sqlite_template")
        yield template.copy(tmp_path / "bot.db")
        return
    postgres: PostgresTemplate = request.getfixturevalue("postgres_template")
    with postgres.schema() as url:
        yield url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    yield db
    await db.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 25, 9, 0, tzinfo=SHANGHAI))


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    """Our fake Bot API, on a port of its own."""
    async with SandboxServer() as server:
        yield server


@pytest.fixture
async def splitting_bot(sandbox: SandboxServer) -> AsyncIterator[SplittingBot]:
    """The bot's Bot class (long messages split) talking to the sandbox."""
    splitting = SplittingBot(
        sandbox.token,
        base_url=sandbox.base_url,
        base_file_url=sandbox.base_file_url,
        defaults=Defaults(parse_mode=ParseMode.HTML),
    )
    async with splitting:
        yield splitting
