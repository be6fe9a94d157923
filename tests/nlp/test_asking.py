"""Calibrated asking, the offered choices, praise, and the by-voice evaluation the
calibration is fitted on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nlp.calibration import FEATURES, Calibration, Signals
from nlp.categories import Category
from nlp.corpus import corpus_files, load_corpus
from nlp.evaluation import (
    by_voice_assessments,
    corpus_digest,
    fit_on,
    nested_classifications,
    operating_point,
)
from nlp.reader import ComplaintReader

C = Category


@pytest.fixture(scope="module")
def reader() -> Iterator[ComplaintReader]:
    yield ComplaintReader.create()


def test_shipped_calibration_was_fitted_on_the_shipped_corpus() -> None:
    calibration = Calibration.load()
    assert calibration.fitted
    # After changing nlp/data (corpus, voices) run `python -m nlp.calibrate`.
    assert calibration.corpus_digest == corpus_digest(corpus_files())
    assert set(calibration.thresholds) == set(Category)
    assert all(0.0 <= t <= 1.0 for t in calibration.thresholds.values())


@pytest.mark.parametrize("keyword_backed", [True, False])
@pytest.mark.parametrize("several", [True, False])
def test_calibrated_confidence_grows_with_the_raw_confidence(
    keyword_backed: bool, several: bool
) -> None:
    calibration = Calibration.load()
    raw = [0.05, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 0.99, 0.999]
    calibrated = [
        calibration.probability(
            Signals(
                p, keyword_backed=keyword_backed, model_agrees=True, margin=2.0, several=several
            )
        )
        for p in raw
    ]
    assert calibrated == sorted(calibrated)
    assert all(0.0 < p < 1.0 for p in calibrated)


def test_calibration_round_trips_and_refuses_a_falling_curve() -> None:
    calibration = Calibration.load()
    assert Calibration.from_json(calibration.to_json()) == calibration
    with pytest.raises(ValueError, match="must be positive"):
        Calibration(weights=(-1.0,) + (0.0,) * (len(FEATURES) - 1))
    with pytest.raises(ValueError, match="bad calibration"):
        Calibration.from_json('{"features": ["raw_logit"]}')


@pytest.mark.parametrize(
    "text",
    [
        "寄出去半个月了，收件人说还没收到",
        "邮局的人让我买理财",
        "投递员说送了，可我没见着",
        "包裹晚了五天才到，而且外箱都压扁了",
        "今天天气不错",
    ],
)
def test_choices_are_the_primary_then_the_likeliest_two_or_three(
    reader: ComplaintReader, text: str
) -> None:
    result = reader.classifier.classify(text)
    ranked = [category for category, _ in result.ranking]
    assert 2 <= len(result.choices) <= 3
    assert result.choices[0] is result.category
    others = list(result.choices[1:])
    assert others == sorted(others, key=ranked.index)
    assert set(result.choices) <= set(ranked[:3]) | {result.category}


def test_asking_offers_the_plausible_readings(reader: ComplaintReader) -> None:
    # Lost, or delivered falsely? Nothing says whether it was delivered: the reporter is
    # asked, with both offered first.
    result = reader.classifier.classify("我的件哪去了")
    assert result.low_confidence
    assert {C.FALSE_DELIVERY, C.LOSS} <= set(result.choices[:2])


def test_unsure_texts_ask_and_still_offer_choices(reader: ComplaintReader) -> None:
    result = reader.classifier.classify("今天天气不错")
    assert result.low_confidence
    assert 2 <= len(result.choices) <= 3


PRAISE = [
    "特别感谢城关投递部的张师傅，大雪天把药送到了家",
    "我们全家给营业厅的小刘送了一面锦旗",
    "要表扬一下东2段的投递员，服务很周到",
    "为邮政的快递小哥点赞，每次都提前打电话",
    "非常感謝郵差先生，服務很好",
    "thanks to the postman, very helpful",
]
NOT_PRAISE = [
    "感谢你们把我的包裹弄丢了",
    "谢谢你们啊，箱子都摔烂了",
    "包裹三天没送，请尽快处理，谢谢",
    "麻烦帮忙查一下单号EA123456789CN，谢谢",
    "给你们点个赞，没送到就显示签收了，效率真高",
    "投递员态度恶劣，希望领导管一管，谢谢",
    "东2段信件报刊积压三天了",
    "我要投诉，不是表扬",
    "这可不是表扬，包裹又丢了",
]


@pytest.mark.parametrize("text", PRAISE)
def test_praise_is_recognised(reader: ComplaintReader, text: str) -> None:
    reading = reader.read(text)
    assert reading.praise
    assert reading.to_json_dict()["praise"] is True


@pytest.mark.parametrize("text", NOT_PRAISE)
def test_sarcasm_and_polite_complaints_are_not_praise(reader: ComplaintReader, text: str) -> None:
    assert not reader.read(text).praise


def test_test_texts_are_not_training_texts() -> None:
    corpus = {example.text for example in load_corpus()}
    assert not corpus & set(PRAISE + NOT_PRAISE)


def test_by_voice_evaluation_on_a_small_corpus(reader: ComplaintReader) -> None:
    # Three voices, a few texts each: every text is scored by a model that never saw its
    # voice, and the calibration of each voice is fitted without it. The bound is loose:
    # this checks the machinery; bench/classify.py measures the quality.
    examples = load_corpus()
    voices = ("clerk_terse", "customer_own_words", "traditional")
    small = [e for e in examples if e.voice in voices]
    small = [e for i, e in enumerate(small) if i % 2 == 0]
    held_out = by_voice_assessments(small, reader.segmenter)
    assert {h.example.voice for h in held_out} == set(voices)
    assert len(held_out) == len(small)
    results = nested_classifications(held_out)
    assert len(results) == len(small)
    point = operating_point(results)
    assert point.texts == len(small)
    assert point.precision_when_sure > 0.7
    assert fit_on(held_out).fitted
