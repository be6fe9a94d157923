"""The shipped data files: corpus, keyword rules, category labels, urgency cues."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from nlp.categories import CATEGORY_LABELS, Category, parse_category
from nlp.corpus import (
    PRAISE_TAG,
    CorpusError,
    LabelledExample,
    corpus_files,
    load_corpus,
    parse_corpus,
)
from nlp.entities import UrgencyCues
from nlp.rules import KeywordRules, RulesError, parse_rules

MIN_EXAMPLES_PER_CATEGORY = 40


def test_corpus_has_enough_examples_of_every_category() -> None:
    primaries = Counter(example.primary for example in load_corpus())
    for category in Category:
        assert primaries[category] >= MIN_EXAMPLES_PER_CATEGORY, category


def test_corpus_lines_use_only_known_codes() -> None:
    codes = {c.value for c in Category} | {PRAISE_TAG}
    for path in corpus_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            labels, _, text = line.partition("\t")
            assert text.strip(), f"{path.name}:{number} has no text"
            assert set(labels.split(",")) <= codes, f"{path.name}:{number}: {labels}"


def test_every_voice_has_its_file_and_several_categories() -> None:
    examples = load_corpus()
    voices = {path.stem for path in corpus_files()}
    assert {example.voice for example in examples} == voices
    assert len(voices) >= 10
    for voice in voices:
        assert len({e.primary for e in examples if e.voice == voice}) >= 8, voice
    assert sum(example.praise for example in examples) >= 50


def test_corpus_has_no_duplicate_texts_and_some_two_problem_lines() -> None:
    examples = load_corpus()
    texts = [example.text for example in examples]
    assert len(texts) == len(set(texts))
    assert sum(len(example.categories) > 1 for example in examples) >= 40


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("delay\t邮件积压", LabelledExample("邮件积压", (Category.DELAY,))),
        (
            "damage,delay\t晚了还摔坏了",
            LabelledExample("晚了还摔坏了", (Category.DAMAGE, Category.DELAY)),
        ),
        (" hotline \t11185打不通\r", LabelledExample("11185打不通", (Category.HOTLINE,))),
    ],
)
def test_parse_corpus_line(line: str, expected: LabelledExample) -> None:
    assert parse_corpus(["# comment", "", line]) == [expected]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("delay 邮件积压", "expected 'labels<TAB>text'"),
        ("delay\t", "expected 'labels<TAB>text'"),
        ("late\t邮件积压", "unknown complaint category 'late'"),
        ("delay,delay\t邮件积压", "repeats a category"),
    ],
)
def test_parse_corpus_rejects_bad_lines_naming_them(line: str, message: str) -> None:
    with pytest.raises(CorpusError, match=message) as error:
        parse_corpus(["# header", line], source="extra.tsv")
    assert str(error.value).startswith("extra.tsv:2:")


def test_load_corpus_from_another_path(tmp_path: Path) -> None:
    path = tmp_path / "corpus.tsv"
    path.write_text("finance\t代收款没到账\n", encoding="utf-8")
    assert load_corpus(path) == [
        LabelledExample("代收款没到账", (Category.FINANCE,), voice="corpus")
    ]


def test_every_category_has_a_chinese_label_in_table_order() -> None:
    assert list(CATEGORY_LABELS) == list(Category)
    assert Category.DELAY.label == "投递延误/积压"
    assert Category.HOTLINE.label == "11185热线/投诉渠道"
    assert all(label.strip() for label in CATEGORY_LABELS.values())


def test_parse_category() -> None:
    assert parse_category(" forced_sale ") is Category.FORCED_SALE
    with pytest.raises(ValueError, match="unknown complaint category"):
        parse_category("spam")


def test_shipped_rules_cover_every_category_but_other_with_strong_keywords() -> None:
    rules = KeywordRules.load()
    assert len(rules) > 20
    evidence = rules.evidence("包裹破损了", [])
    assert evidence.score(Category.DAMAGE) >= 2


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("delay\t2", "expected 'category<TAB>weight<TAB>regex'"),
        ("slow\t2\t慢", "unknown complaint category"),
        ("delay\tmuch\t慢", "could not convert"),
        ("delay\t2\t(慢", "missing \\)"),
        ("delay\t0\t慢", "weight must be positive"),
    ],
)
def test_parse_rules_rejects_bad_lines(line: str, message: str) -> None:
    with pytest.raises(RulesError, match=message):
        parse_rules([line], "rules.tsv")


def test_shipped_urgency_cues_load() -> None:
    cues = UrgencyCues.load()
    assert cues.find("用户多次投诉，还找了记者") == ("多次", "记者")


def test_praise_tag_marks_praise_of_category_other_unless_named() -> None:
    assert parse_corpus(["praise\t感谢投递员", "praise,delay\t谢谢，就是晚了点"]) == [
        LabelledExample("感谢投递员", (Category.OTHER,), praise=True),
        LabelledExample("谢谢，就是晚了点", (Category.DELAY,), praise=True),
    ]
