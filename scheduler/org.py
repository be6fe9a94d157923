"""The organisation as plain data: the vocabulary shared by the planner, the database and
the handlers, and a frozen snapshot the planner works on (no database, no Telegram)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final


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
class OperatingDays:
    """When a site is open: every working day of the business calendar (make-up days
    included), and besides those its ``weekdays`` (0 = Monday) that are not official holidays,
    or that are, with ``on_holidays``."""

    weekdays: frozenset[int] = frozenset(range(5))
    on_holidays: bool = False

    def is_open(self, day: date, *, working: bool, holiday: bool) -> bool:
        if working:
            return True
        return day.weekday() in self.weekdays and (self.on_holidays or not holiday)


_WEEKDAY_NAMES: Final = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_EVERY_DAY: Final = ("每天", "每日", "全周", "全年", "daily", "every day")
_DAY_TOKEN: Final = re.compile(r"^(?:周|星期)?([1-7一二三四五六日天])$")
_RANGE: Final = re.compile(r"[-~～至到]")
_LIST: Final = re.compile(r"[,，、;；\s]+")


def parse_open_days(text: str) -> frozenset[int] | None:
    """ "1-6", "1-5,7", "周一至周六", "一、三、五", "每天" → the weekdays (0 = Monday);
    None when the text says nothing readable."""
    text = text.strip()
    if text.lower() in _EVERY_DAY:
        return frozenset(range(7))
    days: set[int] = set()
    for part in _LIST.split(text):
        if not part:
            continue
        ends = _RANGE.split(part)
        if len(ends) > 2:
            return None
        numbers = [_weekday(end) for end in ends]
        if any(number is None for number in numbers):
            return None
        first, last = numbers[0], numbers[-1]
        assert first is not None and last is not None
        if last < first:
            return None
        days.update(range(first, last + 1))
    return frozenset(days) if days else None


def _weekday(token: str) -> int | None:
    match = _DAY_TOKEN.match(token.strip())
    if match is None:
        return None
    value = match[1]
    return int(value) - 1 if value.isdigit() else _WEEKDAY_NAMES[value]


@dataclass(frozen=True)
class OrgUnit:
    id: int
    name: str
    level: Level
    parent_id: int | None
    site_kind: SiteKind | None = None  # only for Level.SITE
    area: Area | None = None  # only for Level.SITE
    # Sites only: None follows the business calendar (open on working days only).
    operating: OperatingDays | None = None


@dataclass(frozen=True)
class OrgTransferPoint:
    """A mail transfer point (单位收发室, 物业, 村邮站) served by one delivery site."""

    id: int
    name: str
    site_id: int


@dataclass(frozen=True)
class OrgInspector:
    """Someone who performs checks at their unit: those of the duties they hold (catalog
    duty ids), or, when they list none, every check of their unit (files before duties)."""

    staff_id: int
    unit_id: int
    duties: frozenset[str] = frozenset()

    def holds(self, duty: str | None) -> bool:
        return not self.duties or (duty is not None and duty in self.duties)


@dataclass(frozen=True)
class OrgSnapshot:
    units: tuple[OrgUnit, ...]
    transfer_points: tuple[OrgTransferPoint, ...] = ()
    inspectors: tuple[OrgInspector, ...] = ()
