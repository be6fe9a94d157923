"""Complaint text → categories with a calibrated confidence: a TF-IDF + linear model (logistic
loss, one weight row per category, fitted by SGD, class-balanced) over jieba words and
character n-grams, combined with keyword-rule
evidence; the confidence is calibrated on by-voice held-out data (`nlp.calibration`) and
the bot asks the reporter when it is below the category's threshold."""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

import numpy as np

from nlp.calibration import Calibration, Signals
from nlp.categories import Category
from nlp.corpus import LabelledExample
from nlp.praise import PraiseCues
from nlp.rules import Evidence, KeywordRules, describe
from nlp.segmenter import Segmenter
from nlp.text import directly_negated, mask_numbers, negated_spans, normalize
from nlp.variants import Variants, shipped_variants

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import SGDClassifier

logger = logging.getLogger(__name__)

DEFAULT_LOW_CONFIDENCE = 0.5
RANDOM_STATE = 0
# When asking, the reporter is offered the likeliest two categories, and a third when it
# is still a real possibility.
_MIN_CHOICES, _MAX_CHOICES = 2, 3
_THIRD_CHOICE_MIN_PROBABILITY = 0.05

# How much one unit of rule evidence moves a category's log-odds. Rules are precise but
# narrow; the model generalises but is easily swayed by topic words, so both count.
_RULE_WEIGHT = 0.9
# A second problem must be both plausible and backed by a keyword of its own.
_STATED_MIN_PROBABILITY = 0.005
_STATED_MIN_EVIDENCE = 1.5
_MAX_CATEGORIES = 3
# Without a keyword for its primary category, a text needs a clear vote of the model.
_UNBACKED_MIN_CONFIDENCE = 0.7
# Two-problem training lines teach the model their secondary category at a lower weight.
_SECONDARY_SAMPLE_WEIGHT = 0.4
_NEGATED_PREFIX = "NOT_"
_ALPHA = 1e-5
_EPOCHS = 12
_CHAR_NGRAMS = (1, 2, 3)
_PUNCTUATION_RE = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class Classification:
    """The categories of a complaint, primary (routing) first, and how sure we are.

    confidence is the combined model-and-rules probability of the primary category, or,
    when the text states several problems, of the stated ones together (each is backed
    by its own keywords; which is primary follows the order they are mentioned in).
    Calibrated: of the held-out texts given a confidence of 0.9, nine in ten were right.
    low_confidence means: ask the reporter to choose, offering `choices` first.
    """

    category: Category
    categories: tuple[Category, ...]
    confidence: float
    low_confidence: bool
    # Every category with its (uncalibrated) probability, best first.
    ranking: tuple[tuple[Category, float], ...]
    # The primary category, then the likeliest others (two or three in all): what to offer
    # when asking.
    choices: tuple[Category, ...] = ()
    # The text praises someone (表扬, 感谢, 锦旗 …) rather than complaining.
    praise: bool = False


@dataclass(frozen=True)
class Assessment:
    """A decision before calibration: what `classify` calibrates, and what the by-voice
    evaluation collects to fit the calibration."""

    categories: tuple[Category, ...]
    ranking: tuple[tuple[Category, float], ...]
    signals: Signals
    # No keyword and no clear vote of the model, or too few known words: always ask.
    unfamiliar: bool
    praise: bool


@dataclass(frozen=True)
class _Prepared:
    text: str
    negated: list[tuple[int, int]]
    features: list[str]
    known_words: int


def _features_as_is(doc: list[str]) -> list[str]:
    return doc


@dataclass(frozen=True, eq=False)
class LinearModel:
    """The fitted numbers, all that scoring needs (and what nlp.model_cache stores): the
    TF-IDF columns and their idf, one weight row and intercept per category."""

    features: tuple[str, ...]  # in column order
    idf: np.ndarray
    coef: np.ndarray  # categories × features
    intercept: np.ndarray
    classes: tuple[str, ...]  # category codes, in row order

    @classmethod
    def fitted(cls, vectorizer: TfidfVectorizer, model: SGDClassifier) -> LinearModel:
        vocabulary: dict[str, int] = vectorizer.vocabulary_
        features = sorted(vocabulary, key=vocabulary.__getitem__)
        return cls(
            features=tuple(features),
            idf=np.asarray(vectorizer.idf_, dtype=np.float64),
            coef=np.asarray(model.coef_, dtype=np.float64),
            intercept=np.asarray(model.intercept_, dtype=np.float64),
            classes=tuple(str(code) for code in model.classes_),
        )


@dataclass(frozen=True)
class _Fitted:
    """scikit-learn's own objects, kept after training to check the direct scoring."""

    vectorizer: TfidfVectorizer
    model: SGDClassifier


class ComplaintClassifier:
    """Trained once at start-up (a few tenths of a second on ~700 examples); `classify`
    has no side effects and may run in several threads."""

    def __init__(
        self,
        *,
        segmenter: Segmenter,
        rules: KeywordRules,
        model: LinearModel,
        low_confidence: float = DEFAULT_LOW_CONFIDENCE,
        calibration: Calibration | None = None,
        praise: PraiseCues | None = None,
        variants: Variants | None = None,
        fitted: _Fitted | None = None,
    ) -> None:
        self._segmenter = segmenter
        self._rules = rules
        self._calibration = calibration if calibration is not None else Calibration.load()
        self._praise = praise if praise is not None else PraiseCues.load()
        self._variants = variants if variants is not None else shipped_variants()
        self._model = model
        self._fitted = fitted
        self._classes = tuple(Category(code) for code in model.classes)
        self._vocabulary = {feature: column for column, feature in enumerate(model.features)}
        # scikit-learn validates its input on every call, which costs more than the maths
        # for one short text; scoring reads the fitted weights directly instead (the same
        # formula, checked against predict_proba in the tests).
        self._idf = model.idf
        self._coef = model.coef
        self._intercept = model.intercept
        # Only used when no calibration is fitted (the calibration has its own thresholds).
        self.low_confidence = low_confidence

    @property
    def model(self) -> LinearModel:
        return self._model

    @property
    def calibration(self) -> Calibration:
        return self._calibration

    @property
    def categories(self) -> tuple[Category, ...]:
        """The categories the model has seen (all of them with the shipped corpus)."""
        return self._classes

    @classmethod
    def train(
        cls,
        examples: Iterable[LabelledExample],
        *,
        segmenter: Segmenter,
        rules: KeywordRules | None = None,
        low_confidence: float = DEFAULT_LOW_CONFIDENCE,
        calibration: Calibration | None = None,
    ) -> ComplaintClassifier:
        """Fit on `examples` (the corpus plus reporters' confirmed choices)."""
        # scikit-learn takes a few tenths of a second to import: only training needs it,
        # not a start-up that loads the model from its cache.
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import SGDClassifier

        started = time.perf_counter()
        variants = shipped_variants()
        docs: list[list[str]] = []
        targets: list[str] = []
        weights: list[float] = []
        for example in examples:
            features = _prepare(example.text, segmenter, variants, None).features
            for rank, category in enumerate(example.categories):
                docs.append(features)
                targets.append(category.value)
                weights.append(1.0 if rank == 0 else _SECONDARY_SAMPLE_WEIGHT)
        if len(set(targets)) < 3:
            # With two classes scikit-learn fits one weight row, not one per category.
            raise ValueError("training needs examples of at least three categories")
        vectorizer = TfidfVectorizer(
            analyzer=_features_as_is, sublinear_tf=True, min_df=1, dtype=np.float64
        )
        matrix = vectorizer.fit_transform(docs)
        # Stochastic gradient descent fits in a fraction of the time of an exact solver
        # (start-up matters) and scored as well on held-out voices; a fixed number of
        # epochs and seed keep training deterministic.
        model = SGDClassifier(
            loss="log_loss",
            alpha=_ALPHA,
            max_iter=_EPOCHS,
            tol=None,
            class_weight="balanced",
            random_state=RANDOM_STATE,
        )
        model.fit(matrix, targets, sample_weight=np.asarray(weights))
        logger.info(
            "complaint classifier trained on %d rows, %d features in %.2f s",
            len(docs),
            len(vectorizer.vocabulary_),
            time.perf_counter() - started,
        )
        return cls(
            segmenter=segmenter,
            rules=rules if rules is not None else KeywordRules.load(),
            model=LinearModel.fitted(vectorizer, model),
            low_confidence=low_confidence,
            calibration=calibration,
            variants=variants,
            fitted=_Fitted(vectorizer, model),
        )

    def assess(self, text: str) -> Assessment:
        """The decision and its raw signals, before calibration."""
        prepared = _prepare(text, self._segmenter, self._variants, self._vocabulary)
        return self._assess(prepared, self._model_probabilities(prepared.features))

    def classify(self, text: str) -> Classification:
        return self.calibrated(self.assess(text))

    def calibrated(self, assessment: Assessment) -> Classification:
        """The classification with its calibrated confidence and whether to ask."""
        return calibrated(assessment, self._calibration, self.low_confidence)

    def classify_many(self, texts: Sequence[str]) -> list[Classification]:
        return [self.classify(text) for text in texts]

    def _model_probabilities(self, features: list[str]) -> np.ndarray:
        """TfidfVectorizer (sublinear tf, l2 norm), then the linear scores, softmax-ed."""
        counts: dict[int, int] = {}
        for feature in features:
            column = self._vocabulary.get(feature)
            if column is not None:
                counts[column] = counts.get(column, 0) + 1
        scores = self._intercept.copy()
        if counts:
            columns = np.fromiter(counts, dtype=np.intp, count=len(counts))
            values = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64))
            values *= self._idf[columns]
            values /= np.sqrt(values @ values)
            scores += self._coef[:, columns] @ values
        scores -= scores.max()
        exp = np.exp(scores)
        probabilities: np.ndarray = exp / exp.sum()
        return probabilities

    def model_probabilities(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The model's probabilities for `texts` (columns in `categories` order) from
        scikit-learn's scores and as computed by `classify`; they must agree. Only for a
        classifier trained in this process (a cached one has no scikit-learn objects)."""
        if self._fitted is None:
            raise RuntimeError("model_probabilities needs a classifier trained in this process")
        docs = [_prepare(text, self._segmenter, self._variants, None).features for text in texts]
        vectorizer, model = self._fitted.vectorizer, self._fitted.model
        scores = np.asarray(model.decision_function(vectorizer.transform(docs)))
        exp = np.exp(scores - scores.max(axis=1, keepdims=True))
        by_sklearn = exp / exp.sum(axis=1, keepdims=True)
        direct = np.array([self._model_probabilities(doc) for doc in docs])
        return by_sklearn, direct

    def _assess(self, prepared: _Prepared, probabilities: np.ndarray) -> Assessment:
        evidence = self._rules.evidence(prepared.text, prepared.negated)
        logits = [
            math.log(max(float(p), 1e-9)) + _RULE_WEIGHT * evidence.score(category)
            for category, p in zip(self._classes, probabilities, strict=True)
        ]
        top = max(logits)
        exp = [math.exp(value - top) for value in logits]
        total = sum(exp)
        probability = {
            category: value / total for category, value in zip(self._classes, exp, strict=True)
        }
        ranking = sorted(probability.items(), key=lambda pair: (-pair[1], pair[0].value))
        categories, confidence = _stated_categories(ranking, probability, evidence)
        # Real complaints nearly always name their problem with a keyword; without one
        # ("今天天气不错") only a clear vote of the model counts.
        keyword_backed = evidence.score(categories[0]) > 0
        unfamiliar = not keyword_backed and (
            confidence < _UNBACKED_MIN_CONFIDENCE or prepared.known_words < 2
        )
        model_best = self._classes[int(np.argmax(probabilities))]
        primary = categories[0]
        # The likeliest category the text is not read as: how clear the reading is.
        rival = max(p for category, p in ranking if category not in categories)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "classified %r as %s (%.2f); rules: %s",
                prepared.text,
                "+".join(c.value for c in categories),
                confidence,
                describe(evidence.scores),
            )
        return Assessment(
            categories=categories,
            ranking=tuple((category, round(p, 4)) for category, p in ranking),
            signals=Signals(
                raw_confidence=min(confidence, 1.0),
                keyword_backed=keyword_backed,
                model_agrees=model_best is primary,
                margin=math.log(max(confidence, 1e-9) / max(rival, 1e-9)),
                several=len(categories) > 1,
            ),
            unfamiliar=unfamiliar,
            praise=self._praise.praises(prepared.text, evidence.scores),
        )


def calibrated(
    assessment: Assessment, calibration: Calibration, low_confidence: float
) -> Classification:
    """`assessment` with its confidence calibrated; asks below the category's threshold
    (or below `low_confidence` when nothing is fitted) and on unfamiliar texts."""
    category = assessment.categories[0]
    confidence = calibration.probability(assessment.signals)
    threshold = calibration.threshold(category) if calibration.fitted else low_confidence
    return Classification(
        category=category,
        categories=assessment.categories,
        confidence=round(min(confidence, 1.0), 4),
        low_confidence=assessment.unfamiliar or confidence < threshold,
        ranking=assessment.ranking,
        choices=_choices(assessment),
        praise=assessment.praise,
    )


def _stated_categories(
    ranking: list[tuple[Category, float]],
    probability: dict[Category, float],
    evidence: Evidence,
) -> tuple[tuple[Category, ...], float]:
    """The categories of a text, primary first, and their combined probability."""
    best = ranking[0][0]
    # The problems a text states outright: plausible and named by a keyword of their own.
    stated = [
        category
        for category, p in ranking
        if category in evidence.first_clause
        and evidence.score(category) >= _STATED_MIN_EVIDENCE
        and (category == best or p >= _STATED_MIN_PROBABILITY)
    ][:_MAX_CATEGORIES]
    if len(stated) >= 2 and best in stated:
        # Bag-of-words cannot tell which problem is the main one; complainants name it
        # first and add the others in later clauses (而且/还/另外), unless the labelling
        # convention's precedence says which wins. Within one clause the model's ranking
        # stands (stated is already in ranking order).
        by_clause = sorted(stated, key=lambda category: evidence.first_clause[category])
        ordered = evidence.main_first(by_clause)
        return ordered, sum(probability[category] for category in ordered)
    return (best,), probability[best]


def _choices(assessment: Assessment) -> tuple[Category, ...]:
    """The primary category, then the likeliest others: two or three in all."""
    ranked = [category for category, _ in assessment.ranking]
    choices = ranked[:_MIN_CHOICES]
    if (
        len(assessment.ranking) > _MIN_CHOICES
        and assessment.ranking[_MIN_CHOICES][1] >= _THIRD_CHOICE_MIN_PROBABILITY
    ):
        choices.append(ranked[_MIN_CHOICES])
    # The primary may rank second when the clauses or the convention's precedence chose
    # it over the model's best (nlp/rules.py): the reporter is offered the reading first.
    primary = assessment.categories[0]
    others = [category for category in choices if category is not primary]
    return (primary, *others[: len(choices) - 1 if primary in choices else _MAX_CHOICES - 1])


def _prepare(
    text: str, segmenter: Segmenter, variants: Variants, vocabulary: dict[str, int] | None
) -> _Prepared:
    masked = mask_numbers(variants.fold(normalize(text).lower()))
    negated = negated_spans(masked)
    words: list[str] = []
    # Words a negator stands right before ("没有破损"): their characters must not vote.
    blanked = list(negated)
    for word, start, end in segmenter.tokenize(masked):
        if _PUNCTUATION_RE.fullmatch(word):
            continue
        denied = any(start < n_end and n_start < end for n_start, n_end in negated)
        if not denied and len(word) >= 2 and directly_negated(masked, start):
            denied = True
            blanked.append((start, end))
        words.append(_NEGATED_PREFIX + word if denied else word)
    features = list(words)
    features.extend(f"{a} {b}" for a, b in pairwise(words))
    # Characters of a denied clause would otherwise vote for the denied category.
    chars = list(masked)
    for n_start, n_end in blanked:
        chars[n_start:n_end] = [" "] * (n_end - n_start)
    # Character n-grams within runs of word characters (punctuation and spaces split them).
    for run in _PUNCTUATION_RE.split("".join(chars)):
        for size in _CHAR_NGRAMS:
            features.extend("c:" + run[i : i + size] for i in range(len(run) - size + 1))
    known = 0
    if vocabulary is not None:
        known = sum(1 for word in set(words) if len(word) >= 2 and word in vocabulary)
    return _Prepared(text=masked, negated=negated, features=features, known_words=known)


__all__ = [
    "DEFAULT_LOW_CONFIDENCE",
    "Assessment",
    "Classification",
    "ComplaintClassifier",
    "LinearModel",
]
