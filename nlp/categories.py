"""The fixed complaint categories (MISSION §2) and their Chinese labels."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class Category(StrEnum):
    """Complaint category codes; stored in the database and used by the routing table."""

    DELAY = "delay"
    LOSS = "loss"
    DAMAGE = "damage"
    FALSE_DELIVERY = "false_delivery"
    ATTITUDE = "attitude"
    FORCED_SALE = "forced_sale"
    COUNTER = "counter"
    TRACKING = "tracking"
    PERIODICAL = "periodical"
    FINANCE = "finance"
    HOTLINE = "hotline"
    OTHER = "other"

    @property
    def label(self) -> str:
        """The Chinese name shown to users (e.g. on the buttons to change a category)."""
        return CATEGORY_LABELS[self]


# The one place the category names users read are kept; the order is the table's, which
# is also the order the bot offers them in.
CATEGORY_LABELS: Mapping[Category, str] = MappingProxyType(
    {
        Category.DELAY: "投递延误/积压",
        Category.LOSS: "丢失/短少",
        Category.DAMAGE: "破损",
        Category.FALSE_DELIVERY: "虚假妥投/投递不到位",
        Category.ATTITUDE: "服务态度",
        Category.FORCED_SALE: "强制搭售/违规加办",
        Category.COUNTER: "营业窗口/拒办",
        Category.TRACKING: "信息上网/查询",
        Category.PERIODICAL: "报刊发行",
        Category.FINANCE: "邮政金融/代收代付",
        Category.HOTLINE: "11185热线/投诉渠道",
        Category.OTHER: "其他",
    }
)

if set(CATEGORY_LABELS) != set(Category):  # pragma: no cover - guards future edits
    raise RuntimeError("every Category needs a label in CATEGORY_LABELS")


def parse_category(code: str) -> Category:
    """The category for a stored code; raises ValueError naming the code if unknown."""
    try:
        return Category(code.strip())
    except ValueError:
        known = ", ".join(c.value for c in Category)
        raise ValueError(f"unknown complaint category {code!r} (known: {known})") from None
