"""Once-only scheduled work: the first instance to insert a key does the work."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import JobRun


async def claim_job(*, session: AsyncSession, key: str, now: datetime) -> bool:
    """True for the one caller that claims `key`; the work must happen in the same
    transaction, so a crash before commit leaves the key free for the next try."""
    assert session.bind is not None
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(JobRun)
        .values(key=key, started_at=now)
        .on_conflict_do_nothing()
        # SQLAlchemy keeps an INSERT's rowcount only when asked: psycopg's is -1 otherwise.
        .execution_options(preserve_rowcount=True)
    )
    result = await session.exec(statement)
    return bool(result.rowcount)


async def is_job_claimed(*, session: AsyncSession, key: str) -> bool:
    """Whether some caller has claimed ``key`` (and committed its work)."""
    statement = select(JobRun.key).where(JobRun.key == key)
    return (await session.exec(statement)).first() is not None
