"""The check conversation as plain rules: which question comes next, whether a reply is a
valid answer to it, and what the inspector confirms at the end. No Telegram, no database.

Answers are a mapping question id → value; a skipped optional question maps to None.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from scheduler.catalog import AnswerValue, CatalogItem, Question, QuestionType
from scheduler.sampling import SampleShortfall, check_sample

Answers = Mapping[str, AnswerValue | None]

YES, NO = "yes", "no"
# What inspectors actually type instead of pressing the buttons.
YES_WORDS = frozenset({"是", "是的", "有", "对", "y", "yes", "1"})
NO_WORDS = frozenset({"否", "不是", "没有", "无", "不", "n", "no", "0"})
# Characters of a free-text answer. The summary repeats every answer and the corrective
# action notice the text ones, within Telegram's 4096 (an emoji counts two).
MAX_TEXT_ANSWER = 500
# Longer digit strings are no count of anything inspected (and int() refuses > 4300 digits).
_MAX_DIGITS = 12
_WHOLE_NUMBER = re.compile(r"-?[0-9]+")
_CHINESE_DIGITS = {c: n for n, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
_CHINESE_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10_000}
_MEASURE_WORDS = frozenset("份件个张次封袋本处人家条户")


class Problem(StrEnum):
    NOT_A_NUMBER = "not_a_number"
    OUT_OF_RANGE = "out_of_range"
    NOT_AN_OPTION = "not_an_option"
    TEXT_EXPECTED = "text_expected"
    PHOTO_EXPECTED = "photo_expected"
    EMPTY = "empty"
    NOT_SKIPPABLE = "not_skippable"
    SAMPLE = "sample"
    TOO_LONG = "too_long"


@dataclass(frozen=True)
class Reply:
    """What the inspector sent: typed text, a photo (Telegram file id) or a button value."""

    text: str | None = None
    photo_file_id: str | None = None


@dataclass(frozen=True)
class Rejected:
    problem: Problem
    question: Question
    shortfall: SampleShortfall | None = None
    length: int | None = None  # of a reply refused as too long


def given(answers: Answers) -> dict[str, AnswerValue]:
    """The answers actually given (skipped questions left out), as the catalog rules want."""
    return {key: value for key, value in answers.items() if value is not None}


def asked_questions(item: CatalogItem, answers: Answers) -> list[Question]:
    """The questions that apply given the answers so far, in catalog order."""
    values = given(answers)
    return [q for q in item.questions if item.is_asked(q, values)]


def next_question(item: CatalogItem, answers: Answers) -> Question | None:
    return next((q for q in asked_questions(item, answers) if q.id not in answers), None)


def progress(item: CatalogItem, answers: Answers) -> tuple[int, int]:
    """(answered, applicable) questions: what "3/5" in /today shows."""
    applicable = asked_questions(item, answers)
    return sum(q.id in answers for q in applicable), len(applicable)


def _chinese_numeral(text: str) -> int | None:
    """二百 → 200, 一百零五 → 105, 二五 → 25; None for anything else (两千三 included)."""
    if not text or any(c not in _CHINESE_DIGITS and c not in _CHINESE_UNITS for c in text):
        return None
    if all(c in _CHINESE_DIGITS for c in text):
        return int("".join(str(_CHINESE_DIGITS[c]) for c in text))
    total, section, digit = 0, 0, None
    for char in text:
        if char in _CHINESE_DIGITS:
            if digit is not None and _CHINESE_DIGITS[char] != 0:
                return None  # two digits without a unit between them: 二三百
            digit = _CHINESE_DIGITS[char] or None
            continue
        unit = _CHINESE_UNITS[char]
        if unit == 10_000:
            total += (section + (digit or 0)) * unit
            section, digit = 0, None
            continue
        if digit is None and not (unit == 10 and section == 0 and total == 0):
            return None  # 百 without a digit; only 十 may stand alone (十二 = 12)
        section += (digit or 1) * unit
        digit = None
    if len(text) > 1 and text[-1] in _CHINESE_DIGITS and _CHINESE_UNITS.get(text[-2], 0) > 10:
        return None  # 两千三: 2300 in speech, but a count is too important to guess
    return total + section + (digit or 0)


def _whole_number(text: str) -> int | Problem:
    """A typed whole number: full-width digits, thousands separators, Chinese numerals and a
    trailing measure word (25份, 二百件) allowed."""
    digits = unicodedata.normalize("NFKC", text).replace(",", "").strip()
    if len(digits) > 2 * _MAX_DIGITS:  # no count, whatever it spells (int() refuses > 4300)
        return Problem.OUT_OF_RANGE if _WHOLE_NUMBER.fullmatch(digits) else Problem.NOT_A_NUMBER
    digits = digits.removesuffix(digits[-1:]) if digits[-1:] in _MEASURE_WORDS else digits
    if (chinese := _chinese_numeral(digits)) is not None:
        digits = str(chinese)
    if not _WHOLE_NUMBER.fullmatch(digits):
        return Problem.NOT_A_NUMBER
    if len(digits.lstrip("-")) > _MAX_DIGITS:
        return Problem.OUT_OF_RANGE
    return int(digits)


def _value(question: Question, reply: Reply) -> AnswerValue | Problem:
    if question.type is QuestionType.PHOTO:
        return reply.photo_file_id if reply.photo_file_id else Problem.PHOTO_EXPECTED
    if reply.text is None:
        return Problem.TEXT_EXPECTED
    text = reply.text.strip()
    if not text:
        return Problem.EMPTY
    match question.type:
        case QuestionType.YES_NO:
            lowered = text.lower()
            if lowered in YES_WORDS:
                return YES
            if lowered in NO_WORDS:
                return NO
            return Problem.NOT_AN_OPTION
        case QuestionType.CHOICE:
            if text in question.options:
                return text
            number = _whole_number(text)
            if isinstance(number, int) and 1 <= number <= len(question.options):
                return question.options[number - 1]
            return Problem.NOT_AN_OPTION
        case QuestionType.INTEGER:
            number = _whole_number(text)
            if isinstance(number, Problem):
                return number
            low = question.min if question.min is not None else 0
            if number < low or (question.max is not None and number > question.max):
                return Problem.OUT_OF_RANGE
            return number
    if len(text) > MAX_TEXT_ANSWER:
        return Problem.TOO_LONG
    return text


def accept(
    item: CatalogItem,
    answers: Answers,
    question: Question,
    reply: Reply,
    *,
    assigned_transfer_points: int | None = None,
) -> dict[str, AnswerValue | None] | Rejected:
    """The answers with this reply added, or why the reply is refused (re-ask the question).

    Later answers that no longer apply (an earlier answer changed the path) are dropped.
    """
    value = _value(question, reply)
    if value is Problem.TOO_LONG:
        return Rejected(value, question, length=len((reply.text or "").strip()))
    if isinstance(value, Problem):
        return Rejected(value, question)
    updated = {**answers, question.id: value}
    shortfall = check_sample(
        item, given(updated), assigned_transfer_points=assigned_transfer_points
    )
    if shortfall is not None and shortfall.question_id == question.id:
        return Rejected(Problem.SAMPLE, question, shortfall)
    applicable = {q.id for q in asked_questions(item, updated)}
    return {key: val for key, val in updated.items() if key in applicable}


def skip(
    item: CatalogItem, answers: Answers, question: Question
) -> dict[str, AnswerValue | None] | Rejected:
    if not question.optional:
        return Rejected(Problem.NOT_SKIPPABLE, question)
    return {**answers, question.id: None}


def findings(item: CatalogItem, answers: Answers) -> tuple[str, ...]:
    """Ids of the questions whose answers mean a problem was found."""
    return item.findings(given(answers))


def finding_description(item: CatalogItem, answers: Answers) -> str:
    """The free-text answers of the check, joined: what the corrective action is about."""
    texts = [
        str(value)
        for question in asked_questions(item, answers)
        if question.type in (QuestionType.TEXT, QuestionType.CHOICE)
        and (value := answers.get(question.id)) is not None
    ]
    return "；".join(texts)
