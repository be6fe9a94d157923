"""Migrations on a fresh clone: the SQLite file's folder (data/, not in git) is created; the
tests' databases, copied from a migrated template, are migrated databases."""

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from db.migrate import scratch_postgres_schema, upgrade_database
from tests.conftest import POSTGRES_DSN
from tests.database_templates import (
    PostgresTemplate,
    SqliteTemplate,
    dump_schema,
    schema_of,
    sqlite_url,
)


def test_a_missing_sqlite_folder_is_created(tmp_path: Path) -> None:
    path = tmp_path / "data" / "nested" / "bot.db"
    upgrade_database(f"sqlite+aiosqlite:///{path}")
    assert path.exists()


def _sqlite_schema(path: Path) -> list[tuple[str, str, list[str]]]:
    """Every table's and index's definition; a table's lines sorted: alembic's batch
    migrations write its constraints in an order of their own each time."""
    with closing(sqlite3.connect(path)) as connection:
        rows = connection.execute(
            "SELECT type, name, coalesce(sql, '') FROM sqlite_master ORDER BY type, name"
        ).fetchall()
    return [
        (kind, name, sorted(line.strip().rstrip(",") for line in sql.splitlines()))
        for kind, name, sql in rows
    ]


def test_the_tests_sqlite_copies_are_migrated_databases(
    tmp_path: Path, sqlite_template: SqliteTemplate
) -> None:
    migrated = tmp_path / "migrated.db"
    upgrade_database(sqlite_url(migrated))
    copied = tmp_path / "copied.db"
    sqlite_template.copy(copied)
    assert _sqlite_schema(copied) == _sqlite_schema(migrated)
    with closing(sqlite3.connect(copied)) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall()


def _postgres_schema(url: str) -> str:
    """The schema's definition and rows as pg_dump prints them, its name left out."""
    schema = schema_of(url)
    return dump_schema(POSTGRES_DSN, schema).replace(schema, "SCHEMA")


@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="schemas are migrated one by one")
def test_the_tests_postgres_copies_are_migrated_schemas(
    postgres_template: PostgresTemplate,
) -> None:
    with (
        scratch_postgres_schema(POSTGRES_DSN, "test") as migrated,
        postgres_template.schema() as copied,
    ):
        assert _postgres_schema(copied) == _postgres_schema(migrated)
