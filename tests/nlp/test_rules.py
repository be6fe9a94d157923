"""Negated clauses and keyword evidence."""

from __future__ import annotations

import pytest

from nlp.categories import Category
from nlp.rules import KeywordRules, RulesError, main_first, parse_precedence
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


def test_the_conventions_winner_weighs_fully_wherever_it_is_named() -> None:
    # Lost, or said delivered and not received? The convention: false delivery.
    late = "件找不到了，投递员说他送了"
    early = "投递员说他送了，件找不到了"
    for text in (late, early):
        result = RULES.evidence(text, negated_spans(text))
        assert result.main_first([Category.LOSS, Category.FALSE_DELIVERY])[0] is (
            Category.FALSE_DELIVERY
        )
        assert result.score(Category.FALSE_DELIVERY) > result.score(Category.LOSS)


def test_main_first_moves_each_winner_before_its_loser_only() -> None:
    C = Category
    precedence = frozenset({(C.FALSE_DELIVERY, C.LOSS), (C.FORCED_SALE, C.COUNTER)})
    assert main_first([C.LOSS, C.DELAY, C.FALSE_DELIVERY], precedence) == (
        C.FALSE_DELIVERY,
        C.LOSS,
        C.DELAY,
    )
    assert main_first([C.DELAY, C.DAMAGE], precedence) == (C.DELAY, C.DAMAGE)
    assert main_first([C.COUNTER, C.LOSS, C.FORCED_SALE, C.FALSE_DELIVERY], precedence) == (
        C.FORCED_SALE,
        C.COUNTER,
        C.FALSE_DELIVERY,
        C.LOSS,
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("false_delivery", "expected 'winner<TAB>loser'"),
        ("false_delivery\tlost", "unknown complaint category 'lost'"),
        ("loss\tloss", "loss and loss contradict"),
    ],
)
def test_parse_precedence_rejects_bad_lines(line: str, message: str) -> None:
    with pytest.raises(RulesError, match=message):
        parse_precedence(["# header", line], "precedence.tsv")


def test_parse_precedence_rejects_a_pair_and_its_reverse() -> None:
    with pytest.raises(RulesError, match=r"precedence\.tsv:2: loss and false_delivery"):
        parse_precedence(["false_delivery\tloss", "loss\tfalse_delivery"], "precedence.tsv")
