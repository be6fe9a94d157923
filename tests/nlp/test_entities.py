"""Extraction: tracking numbers, phones and masking, places of a small organisation,
urgency cues."""

from __future__ import annotations

import pytest

from nlp.entities import OrgNames, Place, UrgencyCues, extract, mask_phone

CHENGGUAN, DONGCHENG, XINHUA, SAIHAN = 1, 2, 3, 4
ORG = OrgNames(
    sites=(
        Place(CHENGGUAN, "城关投递部"),
        Place(DONGCHENG, "东城投递部", DONGCHENG),
        Place(XINHUA, "新华路营业支局"),
        Place(SAIHAN, "赛罕投递部"),
        Place(5, "赛罕营业支局"),
        Place(6, "中心投递部"),
    ),
    segments=(
        Place(11, "东2段", CHENGGUAN),
        Place(12, "西3段", CHENGGUAN),
        Place(21, "东2段", DONGCHENG),
        Place(22, "南1段", DONGCHENG),
        Place(41, "东2段", SAIHAN),
    ),
    transfer_points=(
        Place(31, "第一中学收发室", CHENGGUAN),
        Place(32, "北关村邮站", DONGCHENG),
    ),
)


def places(text: str, reporter_site_id: int | None = None) -> tuple[str | None, ...]:
    found = extract(text, ORG, reporter_site_id=reporter_site_id)
    return tuple(
        None if place is None else f"{place.name}@{place.id}"
        for place in (found.site, found.segment, found.transfer_point)
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("单号EA123456789CN查不到", ("EA123456789CN",)),
        ("ea123456789cn和RR987654321CN两个件", ("EA123456789CN", "RR987654321CN")),
        ("ＥＡ１２３４５６７８９ＣＮ全角输入", ("EA123456789CN",)),
        ("EMS单号1100123456789，小包9812345678901", ("1100123456789", "9812345678901")),
        ("同一个件EA123456789CN，EA123456789CN又问了一遍", ("EA123456789CN",)),
        # not tracking numbers: too short, too long, embedded, a phone with country code
        ("EA12345678CN少一位，EA1234567890CN多一位", ()),
        ("订单号11001234567890多一位，XEA123456789CN夹在字母里", ()),
        ("电话+8613812345678", ()),
    ],
)
def test_tracking_numbers(text: str, expected: tuple[str, ...]) -> None:
    assert extract(text, ORG).tracking_numbers == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("用户电话13812345678", ("13812345678",)),
        ("手机 138-1234-5678，也可以打 159 4712 3456", ("13812345678", "15947123456")),
        ("+86 139 0471 8888", ("13904718888",)),
        ("座机0471-6961234，或者04716512345", ("0471-6961234", "0471-6512345")),
        ("北京的号码010-12345678和01087654321", ("010-12345678", "010-87654321")),
        ("(0471)6961234", ("0471-6961234",)),
        # service numbers, tracking numbers and other digits are not phones
        ("打11185和12345都没用，又打了12305", ()),
        ("单号1381234567890是13位", ()),
        ("EA138123456CN", ()),
        ("12812345678不是手机号，2026年11月25日", ()),
    ],
)
def test_phones(text: str, expected: tuple[str, ...]) -> None:
    assert extract(text, ORG).phones == expected


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812345678", "138****5678"),
        ("138-1234-5678", "138****5678"),
        ("+86 13812345678", "138****5678"),
        ("0471-6961234", "0471-***1234"),
        ("04716961234", "0471-***1234"),
        ("010-12345678", "010-****5678"),
        ("12345", "***45"),
        ("7", "*"),
    ],
)
def test_mask_phone(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(
    ("text", "reporter_site_id", "expected"),
    [
        # a unique segment names its site
        ("西3段积压", None, ("城关投递部@1", "西3段@12", None)),
        ("南1段的信没送", None, ("东城投递部@2", "南1段@22", None)),
        # 东2段 exists at three sites: the site named in the text decides ...
        ("东城投递部东2段积压", None, ("东城投递部@2", "东2段@21", None)),
        ("东2段，赛罕投递部的", CHENGGUAN, ("赛罕投递部@4", "东2段@41", None)),
        # ... else the reporter's site ...
        ("东2段积压", DONGCHENG, ("东城投递部@2", "东2段@21", None)),
        ("东2段积压", SAIHAN, ("赛罕投递部@4", "东2段@41", None)),
        # ... else the first one listed
        ("东2段积压", None, ("城关投递部@1", "东2段@11", None)),
        ("东2段积压", 99, ("城关投递部@1", "东2段@11", None)),
        # Chinese numerals and full-width digits name the same segment
        ("东二段积压", DONGCHENG, ("东城投递部@2", "东2段@21", None)),
        ("东２段积压", DONGCHENG, ("东城投递部@2", "东2段@21", None)),
        # short site names when unambiguous; 赛罕 is two sites, 中心 an everyday word
        ("东城的投递员", None, ("东城投递部@2", None, None)),
        ("新华路那个支局", None, ("新华路营业支局@3", None, None)),
        ("赛罕那边", None, (None, None, None)),
        ("转运中心丢件", None, (None, None, None)),
        ("中心投递部", None, ("中心投递部@6", None, None)),
        # transfer points name their site too
        ("第一中学收发室不通知", None, ("城关投递部@1", None, "第一中学收发室@31")),
        ("北关村邮站压着信", None, ("东城投递部@2", None, "北关村邮站@32")),
        # an explicitly named site wins over the one a segment implies
        ("新华路营业支局说西3段的件", None, ("新华路营业支局@3", "西3段@12", None)),
        ("没有任何地名", DONGCHENG, (None, None, None)),
    ],
)
def test_places(text: str, reporter_site_id: int | None, expected: tuple[str | None, ...]) -> None:
    assert places(text, reporter_site_id) == expected


def test_org_words_include_names_and_unambiguous_short_forms() -> None:
    words = ORG.words()
    assert {"城关投递部", "城关", "东城", "新华路", "东2段", "北关村邮站"} <= words
    assert "赛罕" not in words  # 赛罕投递部 and 赛罕营业支局
    assert "中心" not in words


def test_empty_org_finds_no_places() -> None:
    found = extract("东2段积压三天", OrgNames(), reporter_site_id=1)
    assert (found.site, found.segment, found.transfer_point) == (None, None, None)


@pytest.mark.parametrize(
    ("text", "cues"),
    [
        ("东2段信件报刊积压三天了，用户多次打电话投诉", ("三天", "多次")),
        ("用户再次来电，说要找媒体曝光", ("再次", "媒体", "曝光")),
        ("已经投诉到12345市长热线了", ("投诉到", "12345", "市长热线")),
        ("用户说要向上级反映，还要打12305", ("上级", "12305")),
        ("寄给老人的药，急用", ("老人", "急用")),
        ("这已经不是第一次了", ("不是第一次",)),
        ("包裹3天没动", ("3天",)),
        ("等了一周", ("一周",)),
        ("一个多月了还没到", ("一个多月",)),
        ("半个月没送报纸", ("半个月",)),
        ("好几天没人送", ("好几天",)),
        ("超过72小时", ("72小时",)),
        ("三个工作日答复，已经过期", ("三个工作日",)),
        ("五六天了", ("五六天",)),
        # not urgent: short waits, dates, numbers that only contain a cue
        ("昨天寄的今天还没到", ()),
        ("两天了还没送", ()),
        ("两三天一起送", ()),
        ("11月12日寄的", ()),
        ("12日寄的", ()),
        ("三月份订的报纸", ()),
        ("48小时内", ()),
        ("电话13812345678", ()),
        ("单号1123450000000", ()),
    ],
)
def test_urgency(text: str, cues: tuple[str, ...]) -> None:
    found = extract(text, ORG)
    assert found.urgency_cues == cues
    assert found.urgent is bool(cues)


def test_urgency_cue_list_is_data() -> None:
    cues = UrgencyCues(["加急", "110"], min_days=7)
    assert cues.find("用户要求加急，说要打110") == ("加急", "110")
    assert cues.find("三天没到") == ()
    assert cues.find("一周没到") == ("一周",)
    assert cues.find("电话13811012345") == ()
