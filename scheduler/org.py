"""The organisation as plain data: the vocabulary shared by the planner, the database and
the handlers, and a frozen snapshot the planner works on (no database, no Telegram)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Level(StrEnum):
    """Where a unit sits in the hierarchy of 第四篇 (区公司 → 盟市分公司 → 旗县局 → 网点)."""

    REGION = "region"
    CITY = "city"
    COUNTY = "county"
    SITE = "site"


class SiteKind(StrEnum):
    COUNTER = "counter"  # 营业支局(所)
    DELIVERY = "delivery"  # 投递部


class Area(StrEnum):
    URBAN = "urban"
    RURAL = "rural"


class Role(StrEnum):
    INSPECTOR = "inspector"
    COUNTER_STAFF = "counter_staff"
    HANDLER = "handler"
    MANAGER = "manager"
    ADMIN = "admin"


class Department(StrEnum):
    MARKET = "market"  # 市场经营部
    SUPERVISION = "supervision"  # 监督检查部
    LETTERS = "letters"  # 函件
    PERIODICALS = "periodicals"  # 报刊
    EXPRESS = "express"  # 速递
    FINANCE = "finance"  # 金融(储汇)
    DELIVERY = "delivery"  # 投递


@dataclass(frozen=True)
class OrgUnit:
    id: int
    name: str
    level: Level
    parent_id: int | None
    site_kind: SiteKind | None = None  # only for Level.SITE
    area: Area | None = None  # only for Level.SITE


@dataclass(frozen=True)
class OrgTransferPoint:
    """A mail transfer point (单位收发室, 物业, 村邮站) served by one delivery site."""

    id: int
    name: str
    site_id: int


@dataclass(frozen=True)
class OrgInspector:
    staff_id: int
    unit_id: int


@dataclass(frozen=True)
class OrgSnapshot:
    units: tuple[OrgUnit, ...]
    transfer_points: tuple[OrgTransferPoint, ...] = ()
    inspectors: tuple[OrgInspector, ...] = ()
