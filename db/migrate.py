"""Schema migrations: a fresh database is built by the same alembic scripts as an upgrade."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def sync_url(url: str) -> str:
    """Alembic runs synchronously: same database, blocking driver."""
    return url.replace("sqlite+aiosqlite://", "sqlite://", 1)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    return config


def _ensure_sqlite_directory(url: str) -> None:
    """SQLite creates the file but not its folder (data/ is not in a fresh clone)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def upgrade_database(url: str) -> None:
    """Create or migrate the schema to the newest revision."""
    _ensure_sqlite_directory(url)
    command.upgrade(alembic_config(url), "head")
