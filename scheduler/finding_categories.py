"""Which category a finding (问题) of a check counts under in the monthly report.

Findings share the complaint category codes (``scheduler.monthly_report.CATEGORIES``) so that
complaints and findings feed one scorecard. The category follows from what was checked; the
first rule that applies wins:

1. A question with its own meaning inside an item (``QUESTION_CATEGORY``), e.g. the attitude
   question of the counter video review is ``attitude``, the periodicals question of a spot
   check is ``periodical``.
2. Paperwork and process questions (a meeting not held, a record not kept, a notice or report
   not sent: ``PROCESS_QUESTIONS``) are ``other``: they are lapses of the inspection system,
   not a service failure a customer meets, and the scorecard shows them apart.
3. The item's own category (``ITEM_CATEGORY``), e.g. 退件退因 and 签收 → ``false_delivery``,
   平常商函 and 投递时限 → ``delay``, 拒办/搭售 → ``forced_sale``.
4. Otherwise by the kind of site checked: counter items → ``counter``, delivery items →
   ``delay``, so an item an admin adds to the catalog still lands somewhere sensible.

A finding with several problem questions takes the first question that is not paperwork.
Plain data and one function; no database, no Telegram.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final

from scheduler.catalog import CatalogItem
from scheduler.org import SiteKind

OTHER: Final = "other"

QUESTION_CATEGORY: Final[Mapping[tuple[str, str], str]] = {
    ("counter_video_review", "attitude_ok"): "attitude",
    ("counter_arrears_box", "box_opening_ok"): "delay",  # 开箱 late: letters wait in the box
    ("counter_service_weekly", "inquiries_unhandled"): "hotline",  # 查询投诉无人处理
    ("county_delivery_spot_check", "periodicals_ok"): "periodical",
    ("city_delivery_spot_check", "periodicals_ok"): "periodical",
}

PROCESS_QUESTIONS: Final[frozenset[str]] = frozenset(
    {
        "held",
        "rectification_raised",
        "notice_issued",
        "sent",
        "recorded",
        "record_filled",
        "records_ok",
        "records_reviewed",
        "ledger_current",
        "signed",
        "frequency_ok",
        "reviewed",
    }
)

ITEM_CATEGORY: Final[Mapping[str, str]] = {
    "counter_video_review": "counter",  # 收寄验视
    "counter_illegal_acceptance": "counter",  # 违章收寄
    "counter_refusal_forced_sale": "forced_sale",  # 拒办、强迫高资费、搭售
    "counter_tickets_meter": "finance",  # 票券、邮资机: money handled wrongly
    "counter_arrears_box": "finance",  # 欠费
    "counter_service_weekly": "counter",
    "delivery_express_signoff": "false_delivery",  # 签收不规范, 代签
    "delivery_return_review": "false_delivery",  # 虚假退因
    "delivery_registered_balance": "loss",  # 给据函件不平衡: an item is missing
    "delivery_shortage_damage": "loss",  # 报刊短缺、邮件破损未处理
    "delivery_tracking_sample": "delay",  # 投递时限和深度
    "delivery_parcel_check": "tracking",  # 小包信息反馈
    "delivery_letters_urban": "delay",
    "delivery_letters_rural": "delay",
    "delivery_transfer_points_urban": "false_delivery",  # 接转点转投不到位
    "delivery_transfer_points_rural": "false_delivery",
    "county_transfer_points_check": "false_delivery",
    "city_parcel_quarterly": "delay",
    "county_letters_field_check": "delay",
    "city_letters_field_check": "delay",
    # 第十七条 函件: 商函 late or not delivered; 第十八条 报刊: newspapers late, short, refunds.
    **{
        f"{level}_letters_{check}": "delay"
        for level in ("city", "county")
        for check in ("key_customer_calls", "test_mail", "system_check", "volume_notice")
    },
    **{
        f"{level}_periodicals_{check}": "periodical"
        for level in ("city", "county")
        for check in (
            "publisher_survey",
            "subscriber_calls",
            "key_subscriber_visits",
            "system_check",
        )
    },
}

# Questions about equipment (第五篇 硬件 "设备、用邮环境"): their findings count under 硬件.
EQUIPMENT_QUESTIONS: Final[frozenset[tuple[str, str]]] = frozenset(
    {("counter_tickets_meter", "meter_ok")}
)
# A complaint about broken equipment at a site (叫号机坏了, 自助机故障 …) counts under 硬件.
_EQUIPMENT = re.compile(
    r"(设备|机器|叫号机|邮资机|自助机|自助终端|电脑|打印机|扫码枪|秤|刷卡机|POS|pos|空调|电梯|"
    r"智能柜|快递柜|信报箱|监控)[^，。,.!！？?]{0,8}(坏|故障|失灵|不能用|用不了|没法用|死机|"
    r"瘫痪|不工作|停用|打不开|不好使|出问题)"
)


def is_equipment_finding(item_id: str, question_ids: Sequence[str]) -> bool:
    return any((item_id, question) in EQUIPMENT_QUESTIONS for question in question_ids)


def mentions_broken_equipment(text: str) -> bool:
    return _EQUIPMENT.search(text) is not None


_BY_SITE_KIND: Final[Mapping[SiteKind, str]] = {
    SiteKind.COUNTER: "counter",
    SiteKind.DELIVERY: "delay",
}


def finding_category(item: CatalogItem | None, item_id: str, question_ids: Sequence[str]) -> str:
    """The category of a finding of ``item_id`` raised by ``question_ids`` (in order); an
    item no longer in the catalog (``item`` None) falls back to ``other``."""
    service_questions = [q for q in question_ids if q and q not in PROCESS_QUESTIONS]
    if question_ids and not service_questions:
        return OTHER
    for question in service_questions[:1]:
        category = QUESTION_CATEGORY.get((item_id, question))
        if category is not None:
            return category
    if item_id in ITEM_CATEGORY:
        return ITEM_CATEGORY[item_id]
    if item is None:
        return OTHER
    return _BY_SITE_KIND[item.site_kind]
