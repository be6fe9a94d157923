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

import psycopg

from db.migrate import scratch_postgres_schema, upgrade_database


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


class PostgresTemplate:
    """A migrated PostgreSQL schema, replayed for each test under a name of its own."""

    def __init__(self, dsn: str, prefix: str) -> None:
        self._dsn = dsn
        self._prefix = prefix
        self._base_url = dsn.replace("postgresql://", "postgresql+psycopg://", 1)
        self._placeholder = f"{prefix}_template_{uuid.uuid4().hex[:12]}"
        self._script: str | None = None
        if shutil.which("pg_dump") is None:
            return
        with self._dropped_afterwards(self._placeholder):
            with psycopg.connect(dsn, autocommit=True) as connection:
                connection.execute(f'CREATE SCHEMA "{self._placeholder}"')
            upgrade_database(self._url(self._placeholder))
            dumped = subprocess.run(
                [
                    "pg_dump",
                    "--schema",
                    self._placeholder,
                    "--no-owner",
                    "--no-privileges",
                    "--inserts",
                    "--dbname",
                    dsn,
                ],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        # psql's meta-commands (\restrict, since 15.14) are not SQL.
        self._script = "\n".join(line for line in dumped.splitlines() if not line.startswith("\\"))

    def _url(self, schema: str) -> str:
        return f"{self._base_url}?options=-csearch_path%3D{schema}"

    @contextmanager
    def _dropped_afterwards(self, schema: str) -> Iterator[None]:
        try:
            yield
        finally:
            with psycopg.connect(self._dsn, autocommit=True) as connection:
                connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    @contextmanager
    def schema(self) -> Iterator[str]:
        """A migrated schema of its own, dropped at the end; its URL."""
        if self._script is None:
            with scratch_postgres_schema(self._dsn, self._prefix) as url:
                yield url
            return
        schema = f"{self._prefix}_{uuid.uuid4().hex[:12]}"
        with self._dropped_afterwards(schema):
            with psycopg.connect(self._dsn, autocommit=True) as connection:
                # No parameters: the whole dump goes as one simple query, in one transaction.
                connection.execute(self._script.replace(self._placeholder, schema).encode())
            yield self._url(schema)
