"""Migrated databases for the tests, copied from one template each instead of migrated one
by one: running every migration took about half a second per test and database, a third of
the suite's time.

SQLite: the template file, migrated once, is copied with SQLite's backup API. PostgreSQL: a
template schema, migrated once, is dumped (``pg_dump``, schema and rows: alembic's revision
among them) and the dump replayed under each test's schema name. Without ``pg_dump`` every
schema is migrated as before. ``tests/db/test_migrate.py`` checks that a copy and a
migrated database have the same tables, columns, indexes and constraints.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote

import psycopg

from db.migrate import postgres_schema_url, scratch_postgres_schema, upgrade_database


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


class SqliteTemplate:
    """A migrated SQLite file, copied for each test."""

    def __init__(self, directory: Path) -> None:
        self._path = directory / "template.db"
        upgrade_database(sqlite_url(self._path))

    def copy(self, path: Path) -> str:
        """A migrated database at ``path``; its URL."""
        source, target = sqlite3.connect(self._path), sqlite3.connect(path)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        return sqlite_url(path)


def schema_of(url: str) -> str:
    """The schema a URL of ``postgres_schema_url`` puts its tables into."""
    return unquote(url.rsplit("search_path%3D", 1)[1])


def dump_schema(dsn: str, schema: str) -> str:
    """The schema's definition and rows, as SQL statements naming it (pg_dump)."""
    dumped = subprocess.run(
        ["pg_dump", "--schema", schema, "--no-owner", "--no-privileges", "--inserts", "-d", dsn],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    # psql's meta-commands (\restrict, since 15.14) are not SQL.
    return "\n".join(line for line in dumped.splitlines() if not line.startswith("\\"))


class PostgresTemplate:
    """A migrated PostgreSQL schema, replayed for each test under a name of its own."""

    def __init__(self, dsn: str, prefix: str) -> None:
        self._dsn = dsn
        self._prefix = prefix
        self._template = ""
        self._script: str | None = None
        if shutil.which("pg_dump") is None:
            return
        with scratch_postgres_schema(dsn, f"{prefix}_template") as url:
            self._template = schema_of(url)
            self._script = dump_schema(dsn, self._template)

    @contextmanager
    def schema(self) -> Iterator[str]:
        """A migrated schema of its own, dropped at the end; its URL."""
        if self._script is None:
            with scratch_postgres_schema(self._dsn, self._prefix) as url:
                yield url
            return
        schema = f"{self._prefix}_{uuid.uuid4().hex[:12]}"
        try:
            with psycopg.connect(self._dsn, autocommit=True) as connection:
                # No parameters: the whole dump goes as one simple query, in one transaction.
                connection.execute(self._script.replace(self._template, schema).encode())
            yield postgres_schema_url(self._dsn, schema)
        finally:
            with psycopg.connect(self._dsn, autocommit=True) as connection:
                connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
