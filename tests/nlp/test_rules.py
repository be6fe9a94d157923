"""Negated clauses and keyword evidence."""

from __future__ import annotations

import pytest

from nlp.categories import Category
from nlp.rules import KeywordRules
from nlp.text import mask_numbers, negated_spans, normalize

RULES = KeywordRules.load()


def denied(text: str) -> list[str]:
    return [text[start:end] for start, end in negated_spans(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("不是丢了，是晚了", ["丢了"]),
        ("不是丢了是晚了", ["丢了"]),
        ("并不是态度问题而是没开门", ["态度问题"]),
        ("倒不是寄件慢，是要买邮票", ["寄件慢"]),
        ("是晚了，而不是丢了", ["丢了"]),
        ("并非投递员的问题", ["投递员的问题"]),
        # questions and "not the first time" deny nothing
        ("是不是丢了？", []),
        ("这已经不是第一次积压了", []),
        ("邮件积压三天", []),
    ],
)
def test_negated_spans(text: str, expected: list[str]) -> None:
    assert denied(text) == expected


def evidence(text: str) -> dict[Category, float]:
    prepared = mask_numbers(normalize(text).lower())
    return dict(RULES.evidence(prepared, negated_spans(prepared)).scores)


@pytest.mark.parametrize(
    ("text", "present", "absent"),
    [
        ("不是丢了，是晚了三天", {Category.DELAY}, {Category.LOSS}),
        ("包裹没有破损，里面少了一本书", {Category.LOSS}, {Category.DAMAGE}),
        ("外包装无破损", set(), {Category.DAMAGE}),
        ("进口邮件无投递日戳", {Category.TRACKING}, set()),
        ("营业员没有搭售", set(), {Category.FORCED_SALE}),
        ("不用排队", set(), {Category.COUNTER}),
        # digits of tracking and phone numbers never look like the 11185 hotline
        ("单号1118512345678", set(), {Category.HOTLINE}),
        ("打11185没人接", {Category.HOTLINE}, set()),
    ],
)
def test_evidence_respects_negation(
    text: str, present: set[Category], absent: set[Category]
) -> None:
    found = evidence(text)
    assert {c for c, v in found.items() if v > 0} >= present
    assert not {c for c, v in found.items() if v > 0} & absent


def test_denied_keyword_counts_against_its_category() -> None:
    assert evidence("不是丢了，是晚了")[Category.LOSS] < 0


def test_first_mentioned_problem_weighs_more_and_clauses_are_counted() -> None:
    text = "包裹晚了五天，而且外箱压扁了"
    result = RULES.evidence(text, negated_spans(text))
    assert result.first_clause == {Category.DELAY: 0, Category.DAMAGE: 1}
    repeated = "外箱压扁了，而且包裹晚了五天"
    swapped = RULES.evidence(repeated, negated_spans(repeated))
    assert result.score(Category.DELAY) > swapped.score(Category.DELAY)
