"""Honest measurement: every voice of the corpus is classified by a model trained on the
other voices only (leave one voice out), never by one that saw paraphrases of it. The
held-out assessments fit the calibration (`python -m nlp.calibrate`) and feed the bench."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sklearn.metrics import f1_score

from nlp.calibration import Calibration, fit_calibration
from nlp.categories import Category
from nlp.classifier import Assessment, Classification, ComplaintClassifier, calibrated
from nlp.corpus import LabelledExample
from nlp.rules import KeywordRules
from nlp.segmenter import Segmenter

logger = logging.getLogger(__name__)

# The goal: when it does not ask, right ≥ 95 % of the time; asks on ≤ 15 % of texts. The
# fit aims a little higher than the goal so that unseen voices still meet it.
PRECISION_TARGET = 0.965
MAX_ASK_RATE = 0.14


@dataclass(frozen=True)
class HeldOut:
    """One text as classified by a model that never saw its voice."""

    example: LabelledExample
    assessment: Assessment

    @property
    def correct(self) -> bool:
        return self.assessment.categories[0] is self.example.primary


def corpus_digest(paths: Iterable[Path]) -> str:
    """Which corpus a calibration was fitted on: a hash of the files' contents."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def by_voice_assessments(
    examples: Sequence[LabelledExample],
    segmenter: Segmenter,
    *,
    rules: KeywordRules | None = None,
    voices: Sequence[str] | None = None,
) -> list[HeldOut]:
    """Each text of each voice in `voices` (default: all) assessed by a model trained on
    every other voice, uncalibrated."""
    rules = rules or KeywordRules.load()
    held_out: list[HeldOut] = []
    for voice in voices or sorted({example.voice for example in examples}):
        train = [example for example in examples if example.voice != voice]
        test = [example for example in examples if example.voice == voice]
        classifier = ComplaintClassifier.train(
            train, segmenter=segmenter, rules=rules, calibration=Calibration()
        )
        held_out.extend(HeldOut(example, classifier.assess(example.text)) for example in test)
        logger.debug("voice %s: %d texts held out, trained on %d", voice, len(test), len(train))
    return held_out


def fit_on(held_out: Sequence[HeldOut], digest: str = "") -> Calibration:
    """The calibration and thresholds fitted on held-out assessments."""
    return fit_calibration(
        [h.assessment.signals for h in held_out],
        [h.correct for h in held_out],
        [h.assessment.categories[0] for h in held_out],
        [h.assessment.unfamiliar for h in held_out],
        precision_target=PRECISION_TARGET,
        max_ask_rate=MAX_ASK_RATE,
        corpus_digest=digest,
    )


def nested_classifications(
    held_out: Sequence[HeldOut],
) -> list[tuple[HeldOut, Classification]]:
    """Each held-out text calibrated by a calibration fitted without its voice: the
    operating point as an unseen voice meets it."""
    results: list[tuple[HeldOut, Classification]] = []
    for voice in sorted({h.example.voice for h in held_out}):
        calibration = fit_on([h for h in held_out if h.example.voice != voice])
        results.extend(
            (h, calibrated(h.assessment, calibration, calibration.default_threshold))
            for h in held_out
            if h.example.voice == voice
        )
    return results


@dataclass(frozen=True)
class OperatingPoint:
    texts: int
    asked: int
    right_when_sure: int

    @property
    def sure(self) -> int:
        return self.texts - self.asked

    @property
    def ask_rate(self) -> float:
        return self.asked / self.texts if self.texts else 0.0

    @property
    def precision_when_sure(self) -> float:
        return self.right_when_sure / self.sure if self.sure else 1.0


def operating_point(
    results: Iterable[tuple[HeldOut, Classification]],
    asks: Callable[[HeldOut, Classification], bool] | None = None,
) -> OperatingPoint:
    """How often the bot asks and how often it is right when it does not."""
    texts = asked = right = 0
    for held, classification in results:
        texts += 1
        ask = asks(held, classification) if asks else classification.low_confidence
        if ask:
            asked += 1
        elif classification.category is held.example.primary:
            right += 1
    return OperatingPoint(texts, asked, right)


def curve(
    results: Sequence[tuple[HeldOut, Classification]], thresholds: Sequence[float]
) -> list[tuple[float, OperatingPoint]]:
    """Ask rate against precision when sure for one global threshold on the calibrated
    confidence (texts without keyword or vote are asked at every threshold)."""

    def below(threshold: float) -> Callable[[HeldOut, Classification], bool]:
        return lambda held, c: held.assessment.unfamiliar or c.confidence < threshold

    return [(t, operating_point(results, below(t))) for t in thresholds]


def macro_f1(results: Sequence[tuple[HeldOut, Classification]]) -> float:
    gold = [h.example.primary.value for h, _ in results]
    predicted = [c.category.value for _, c in results]
    return float(f1_score(gold, predicted, average="macro", labels=[c.value for c in Category]))


@dataclass(frozen=True)
class CategoryFigures:
    category: Category
    texts: int
    precision: float
    recall: float
    f1: float
    point: OperatingPoint


def per_category(results: Sequence[tuple[HeldOut, Classification]]) -> list[CategoryFigures]:
    figures = []
    for category in Category:
        gold = [h.example.primary is category for h, _ in results]
        predicted = [c.category is category for _, c in results]
        both = sum(g and p for g, p in zip(gold, predicted, strict=True))
        precision = both / sum(predicted) if any(predicted) else 0.0
        recall = both / sum(gold) if any(gold) else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        point = operating_point((h, c) for h, c in results if h.example.primary is category)
        figures.append(CategoryFigures(category, sum(gold), precision, recall, f1, point))
    return figures


def praise_figures(results: Sequence[tuple[HeldOut, Classification]]) -> tuple[int, int, int]:
    """(praise texts, of them recognised, complaints wrongly taken for praise)."""
    praise = sum(h.example.praise for h, _ in results)
    found = sum(h.example.praise and c.praise for h, c in results)
    false = sum(not h.example.praise and c.praise for h, c in results)
    return praise, found, false
