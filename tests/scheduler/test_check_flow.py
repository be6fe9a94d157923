"""The check conversation rules, as tables of cases over the shipped catalog."""

from __future__ import annotations

import pytest

from scheduler.catalog import AnswerValue, Catalog, load_catalog
from scheduler.check_flow import (
    MAX_TEXT_ANSWER,
    Problem,
    Rejected,
    Reply,
    accept,
    finding_description,
    findings,
    next_question,
    progress,
    skip,
)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def answer_all(
    catalog: Catalog, item_id: str, replies: list[str | None]
) -> dict[str, AnswerValue | None]:
    item = catalog.get(item_id)
    answers: dict[str, AnswerValue | None] = {}
    for text in replies:
        question = next_question(item, answers)
        assert question is not None
        outcome = (
            skip(item, answers, question)
            if text is None
            else accept(item, answers, question, Reply(text=text))
        )
        assert not isinstance(outcome, Rejected), outcome
        answers = dict(outcome)
    return answers


@pytest.mark.parametrize(
    ("question_type_item", "reply", "problem"),
    [
        (("delivery_express_signoff", "lists_total"), Reply(text="abc"), Problem.NOT_A_NUMBER),
        (("delivery_express_signoff", "lists_total"), Reply(text="-5"), Problem.OUT_OF_RANGE),
        (("delivery_express_signoff", "lists_total"), Reply(text="100001"), Problem.OUT_OF_RANGE),
        (
            ("delivery_express_signoff", "lists_total"),
            Reply(photo_file_id="f"),
            Problem.TEXT_EXPECTED,
        ),
        (("delivery_express_signoff", "lists_total"), Reply(text="  "), Problem.EMPTY),
        (("delivery_registered_balance", "balanced"), Reply(text="也许"), Problem.NOT_AN_OPTION),
        # What str.isdigit calls digits but int() or a count cannot use.
        (("delivery_express_signoff", "lists_total"), Reply(text="٣٠"), Problem.NOT_A_NUMBER),
        (("delivery_express_signoff", "lists_total"), Reply(text="9" * 5000), Problem.OUT_OF_RANGE),
        (
            ("delivery_express_signoff", "lists_total"),
            Reply(text="一" * 5000),
            Problem.NOT_A_NUMBER,
        ),
        (("delivery_express_signoff", "lists_total"), Reply(text="1-2"), Problem.NOT_A_NUMBER),
        (("delivery_express_signoff", "lists_total"), Reply(), Problem.TEXT_EXPECTED),
        (("counter_illegal_acceptance", "problem_type"), Reply(text="⁹"), Problem.NOT_AN_OPTION),
    ],
)
def test_bad_replies_are_refused_with_the_reason(
    catalog: Catalog, question_type_item: tuple[str, str], reply: Reply, problem: Problem
) -> None:
    item_id, question_id = question_type_item
    item = catalog.get(item_id)
    outcome = accept(item, {}, item.question(question_id), reply)
    assert isinstance(outcome, Rejected) and outcome.problem is problem


@pytest.mark.parametrize(
    ("text", "value"),
    [("是", "yes"), ("yes", "yes"), ("有", "yes"), ("否", "no"), ("没有", "no"), ("NO", "no")],
)
def test_yes_no_accepts_what_people_type(catalog: Catalog, text: str, value: str) -> None:
    item = catalog.get("delivery_registered_balance")
    outcome = accept(item, {}, item.question("balanced"), Reply(text=text))
    assert outcome == {"balanced": value}


def test_choice_by_text_or_number(catalog: Catalog) -> None:
    item = catalog.get("counter_illegal_acceptance")
    question = item.question("problem_type")
    base = {"problem_found": "yes"}
    assert accept(item, base, question, Reply(text="2")) == {**base, "problem_type": "违章收寄"}
    assert accept(item, base, question, Reply(text="违章收寄")) == {
        **base,
        "problem_type": "违章收寄",
    }
    rejected = accept(item, base, question, Reply(text="9"))
    assert isinstance(rejected, Rejected) and rejected.problem is Problem.NOT_AN_OPTION


def test_numbers_typed_in_full_width_or_with_separators(catalog: Catalog) -> None:
    item = catalog.get("delivery_express_signoff")
    question = item.question("lists_total")
    for text in ("２５", "2,5", "2，5", " 25 "):
        assert accept(item, {}, question, Reply(text=text)) == {"lists_total": 25}, text


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("二百", 200),
        ("二十五", 25),
        ("十二", 12),
        ("一百零五", 105),
        ("两千三百", 2300),
        ("一万二千", 12000),
        ("二五", 25),
        ("零", 0),
        ("25份", 25),
        ("二百件", 200),
    ],
)
def test_numbers_typed_in_chinese_or_with_a_measure_word(
    catalog: Catalog, text: str, number: int
) -> None:
    item = catalog.get("delivery_express_signoff")
    question = item.question("lists_total")
    assert accept(item, {}, question, Reply(text=text)) == {"lists_total": number}


@pytest.mark.parametrize("text", ["两千三", "二三百", "百", "两百多", "二十几", "份"])
def test_numbers_that_would_be_guesses_are_asked_again(catalog: Catalog, text: str) -> None:
    item = catalog.get("delivery_express_signoff")
    question = item.question("lists_total")
    outcome = accept(item, {}, question, Reply(text=text))
    assert isinstance(outcome, Rejected) and outcome.problem is Problem.NOT_A_NUMBER, text


def test_a_free_text_answer_over_the_limit_is_refused_not_cut(catalog: Catalog) -> None:
    item = catalog.get("delivery_registered_balance")
    question = item.question("problem_detail")
    base = {"balanced": "no"}
    fits = "少" * MAX_TEXT_ANSWER
    assert accept(item, base, question, Reply(text=fits)) == {**base, "problem_detail": fits}
    outcome = accept(item, base, question, Reply(text=fits + "一"))
    assert isinstance(outcome, Rejected) and outcome.problem is Problem.TOO_LONG
    assert outcome.length == MAX_TEXT_ANSWER + 1


def test_the_sample_rule_refuses_a_small_sample_with_its_quote(catalog: Catalog) -> None:
    item = catalog.get("delivery_express_signoff")
    question = item.question("lists_checked")
    outcome = accept(item, {"lists_total": 200}, question, Reply(text="19"))
    assert isinstance(outcome, Rejected) and outcome.problem is Problem.SAMPLE
    assert outcome.shortfall is not None and outcome.shortfall.required == 20
    assert "10%" in outcome.shortfall.quote
    assert accept(item, {"lists_total": 200}, question, Reply(text="20")) == {
        "lists_total": 200,
        "lists_checked": 20,
    }


def test_split_quota_needs_both_parts(catalog: Catalog) -> None:
    item = catalog.get("delivery_letters_urban")
    first = accept(item, {}, item.question("out_of_town_checked"), Reply(text="5"))
    assert isinstance(first, Rejected) and first.shortfall is not None
    assert first.shortfall.required == 6
    ok = accept(item, {}, item.question("out_of_town_checked"), Reply(text="6"))
    assert not isinstance(ok, Rejected)
    local = accept(item, ok, item.question("local_checked"), Reply(text="3"))
    assert isinstance(local, Rejected) and local.shortfall is not None
    assert local.shortfall.required == 4


def test_dependent_questions_follow_the_answers(catalog: Catalog) -> None:
    item = catalog.get("counter_illegal_acceptance")
    no_problem = answer_all(catalog, item.id, ["否"])
    assert next_question(item, no_problem) is None
    assert progress(item, no_problem) == (1, 1)
    found = answer_all(catalog, item.id, ["是", "1", "跨界揽收一件", None])
    assert next_question(item, found) is None
    assert findings(item, found) == ("problem_found",)
    assert finding_description(item, found) == "跨界揽收；跨界揽收一件"
    assert found["evidence"] is None


def test_changing_an_earlier_answer_drops_answers_that_no_longer_apply(catalog: Catalog) -> None:
    item = catalog.get("counter_illegal_acceptance")
    found = answer_all(catalog, item.id, ["是", "1", "详情"])
    changed = accept(item, found, item.question("problem_found"), Reply(text="否"))
    assert changed == {"problem_found": "no"}


def test_only_optional_questions_can_be_skipped(catalog: Catalog) -> None:
    item = catalog.get("delivery_express_signoff")
    refused = skip(item, {}, item.question("lists_total"))
    assert isinstance(refused, Rejected) and refused.problem is Problem.NOT_SKIPPABLE
    assert skip(item, {}, item.question("problem_detail")) == {"problem_detail": None}


def test_integer_findings_count_problems(catalog: Catalog) -> None:
    item = catalog.get("delivery_express_signoff")
    clean = answer_all(catalog, item.id, ["100", "10", "0", None])
    assert findings(item, clean) == ()
    problems = answer_all(catalog, item.id, ["100", "10", "2", "两份签收不规范"])
    assert findings(item, problems) == ("signoff_problems",)
