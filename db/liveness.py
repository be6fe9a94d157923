"""Telling a live instance from a crashed one (PostgreSQL): an instance holds a session
advisory lock named by its id, on a connection of its own kept open for its life. The server
drops the lock with a dead process's connection, so the others see at once that it is gone,
without waiting for a lease to run out. Each kind of id has its lock class (the first key of
the two-key locks)."""

from __future__ import annotations

import secrets

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


def new_id() -> int:
    """A random id for one instance (a positive 32-bit integer, as advisory keys)."""
    return secrets.randbelow(2**31 - 2) + 1


def alive_sql(lock_class: int, id_column: str) -> str:
    """SQL true when the instance whose id is in ``id_column`` holds its lock."""
    return (
        "EXISTS (SELECT 1 FROM pg_locks AS l WHERE l.locktype = 'advisory' "
        f"AND l.classid::bigint = {lock_class} AND l.objsubid = 2 "
        f"AND l.objid::bigint = {id_column})"
    )


async def hold_lock(engine: AsyncEngine, lock_class: int, instance: int) -> AsyncConnection:
    """Take the lock that says ``instance`` is alive, on a connection of its own: the caller
    keeps it open for the instance's life and gives it to ``release_lock`` at the end."""
    connection = await engine.connect()
    try:
        await connection.execute(
            text("SELECT pg_advisory_lock(:lock_class, :instance)"),
            {"lock_class": lock_class, "instance": instance},
        )
        await connection.commit()
    except BaseException:
        await connection.close()
        raise
    return connection


async def release_lock(connection: AsyncConnection, lock_class: int, instance: int) -> None:
    try:
        await connection.execute(
            text("SELECT pg_advisory_unlock(:lock_class, :instance)"),
            {"lock_class": lock_class, "instance": instance},
        )
        await connection.commit()
    finally:
        await connection.close()
