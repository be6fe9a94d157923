"""SQLite's statements each take one trip to aiosqlite's thread (db/sqlite_driver.py) and
give what SQLAlchemy's own adapter gives: rows, counts, new ids, the driver's errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import exc, text

from db.session import Database


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with database.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
    yield database
    await database.close()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every call handed to an aiosqlite connection's thread."""
    seen: list[Any] = []
    handed: Any = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(fn)
        return await handed(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return seen


async def test_a_statement_is_one_trip(sqlite: Database, trips: list[Any]) -> None:
    async with sqlite.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))  # the connection's own setup
        trips.clear()
        rows = (await connection.execute(text("SELECT :a, 'x'"), {"a": 2})).all()
        assert len(trips) == 1
    assert [tuple(row) for row in rows] == [(2, "x")]


async def test_counts_ids_and_many_rows_as_the_driver_gives_them(sqlite: Database) -> None:
    async with sqlite.engine.begin() as connection:
        inserted = await connection.execute(text("INSERT INTO t (name) VALUES ('a')"))
        assert inserted.lastrowid == 1
        many = await connection.execute(
            text("INSERT INTO t (name) VALUES (:name)"), [{"name": "b"}, {"name": "c"}]
        )
        assert many.rowcount == 2
        updated = await connection.execute(text("UPDATE t SET name = name || '!' WHERE id > 1"))
        assert updated.rowcount == 2
        returned = await connection.execute(text("DELETE FROM t WHERE id = 3 RETURNING name"))
        assert returned.scalars().all() == ["c!"]
        names = (await connection.execute(text("SELECT name FROM t ORDER BY id"))).scalars()
        assert names.all() == ["a", "b!"]


async def test_the_drivers_errors_are_sqlalchemys(sqlite: Database) -> None:
    async with sqlite.engine.begin() as connection:
        await connection.execute(text("INSERT INTO t (name) VALUES ('a')"))
        with pytest.raises(exc.IntegrityError):
            await connection.execute(text("INSERT INTO t (name) VALUES ('a')"))
        with pytest.raises(exc.OperationalError):
            await connection.execute(text("SELECT * FROM no_such_table"))


async def test_a_streamed_read_comes_in_batches(sqlite: Database) -> None:
    async with sqlite.engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO t (name) VALUES (:name)"), [{"name": str(n)} for n in range(50)]
        )
        result = await connection.stream(text("SELECT name FROM t ORDER BY id"))
        batches = [len(rows) async for rows in result.partitions(20)]
    assert batches == [20, 20, 10]
