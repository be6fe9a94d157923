"""Tables. Every change here ships with an alembic migration under db/migrations/."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel

from db.types import AwareDateTime, enum_type
from scheduler.org import Area, Department, Level, Role, SiteKind


class Unit(SQLModel, table=True):
    """A node of the organisation: region, city branch, county bureau or site."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=100)
    level: Level = Field(sa_type=enum_type(Level))
    parent_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    site_kind: SiteKind | None = Field(default=None, sa_type=enum_type(SiteKind))
    area: Area | None = Field(default=None, sa_type=enum_type(Area))


class Segment(SQLModel, table=True):
    """A delivery segment (道段) of a delivery station, e.g. 东2段."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=100)
    site_id: int = Field(foreign_key="unit.id", index=True)


class TransferPoint(SQLModel, table=True):
    """A mail transfer point (单位收发室, 物业, 村邮站) served by a site."""

    __tablename__ = "transfer_point"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=100)
    site_id: int = Field(foreign_key="unit.id", index=True)


class Staff(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)  # 工号, the key of re-imports
    name: str = Field(max_length=50)
    role: Role = Field(sa_type=enum_type(Role))
    unit_id: int = Field(foreign_key="unit.id", index=True)
    department: Department | None = Field(default=None, sa_type=enum_type(Department))
    phone: str | None = Field(default=None, max_length=32)
    telegram_user_id: int | None = Field(default=None, unique=True, sa_type=BigInteger)
    registered_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class InviteCode(SQLModel, table=True):
    """A one-time registration code; the deep link t.me/<bot>?start=<code> carries it."""

    __tablename__ = "invite_code"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    created_at: datetime = Field(sa_type=AwareDateTime)
    expires_at: datetime = Field(sa_type=AwareDateTime)
    used_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
