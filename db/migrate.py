"""Schema migrations: a fresh database is built by the same alembic scripts as an upgrade."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
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


def postgres_schema_url(dsn: str, schema: str) -> str:
    """The database URL whose search_path puts every table into ``schema``."""
    base = dsn.replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}?options=-csearch_path%3D{schema}"


@contextmanager
def scratch_postgres_schema(dsn: str, prefix: str) -> Iterator[str]:
    """A migrated PostgreSQL schema of its own, dropped at the end (tests and benches): the
    URL's search_path puts every table, alembic's included, into it."""
    # Tests' and benches' helper: a bot on SQLite need not load the PostgreSQL driver.
    import psycopg

    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        url = postgres_schema_url(dsn, schema)
        upgrade_database(url)
        yield url
    finally:
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
