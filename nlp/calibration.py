"""Calibrated confidence and when to ask: a logistic map from the classifier's raw signals
to the probability that its primary category is right, and a threshold per category below
which the bot asks the reporter to choose.

Both are fitted on by-voice held-out predictions (`nlp.evaluation`, run by
`python -m nlp.calibrate`) and shipped as numbers in `nlp/data/calibration.json`; nothing
is pickled and nothing is fitted at start-up.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nlp.categories import Category

CALIBRATION_PATH = Path(__file__).resolve().parent / "data" / "calibration.json"
# Without a fitted calibration the raw confidence is used as it is, with this threshold.
DEFAULT_THRESHOLD = 0.5
_LOGIT_CLIP = 8.0


def logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return max(-_LOGIT_CLIP, min(_LOGIT_CLIP, math.log(p / (1 - p))))


@dataclass(frozen=True)
class Signals:
    """What the classifier knows about one decision before calibration."""

    raw_confidence: float
    keyword_backed: bool
    # The statistical model alone ranks the primary category first (no rule needed).
    model_agrees: bool
    # log(confidence / the likeliest category not read): how clear the reading is.
    margin: float = _LOGIT_CLIP
    # The text states several problems: which one is primary is the less certain part.
    several: bool = False

    def vector(self) -> list[float]:
        """The calibration features; the first one is the raw confidence's log-odds."""
        return [
            logit(self.raw_confidence),
            float(self.keyword_backed),
            float(self.model_agrees),
            max(-_LOGIT_CLIP, min(_LOGIT_CLIP, self.margin)),
            float(self.several),
        ]


FEATURES = ("raw_logit", "keyword_backed", "model_agrees", "margin", "several")


@dataclass(frozen=True)
class Calibration:
    """probability = sigmoid(intercept + weights · signals); ask below thresholds[category]."""

    weights: tuple[float, ...] = ()
    intercept: float = 0.0
    thresholds: Mapping[Category, float] = field(default_factory=dict)
    default_threshold: float = DEFAULT_THRESHOLD
    # Which corpus the numbers were fitted on (nlp.evaluation.corpus_digest).
    corpus_digest: str = ""

    def __post_init__(self) -> None:
        if self.weights and len(self.weights) != len(FEATURES):
            raise ValueError(f"calibration needs {len(FEATURES)} weights, got {self.weights}")
        if self.weights and self.weights[0] <= 0:
            # Confidence must grow with the raw confidence, or asking would be arbitrary.
            raise ValueError("calibration weight of the raw confidence must be positive")

    @property
    def fitted(self) -> bool:
        return bool(self.weights)

    def probability(self, signals: Signals) -> float:
        if not self.fitted:
            return signals.raw_confidence
        score = self.intercept + sum(
            w * x for w, x in zip(self.weights, signals.vector(), strict=True)
        )
        return 1.0 / (1.0 + math.exp(-score))

    def threshold(self, category: Category) -> float:
        return self.thresholds.get(category, self.default_threshold)

    def to_json(self) -> str:
        return json.dumps(
            {
                "about": "fitted by python -m nlp.calibrate on by-voice held-out predictions",
                "corpus_digest": self.corpus_digest,
                "features": list(FEATURES),
                "weights": [round(w, 6) for w in self.weights],
                "intercept": round(self.intercept, 6),
                "default_threshold": round(self.default_threshold, 6),
                "thresholds": {c.value: round(t, 6) for c, t in self.thresholds.items()},
            },
            ensure_ascii=False,
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str, *, source: str = "<calibration>") -> Calibration:
        try:
            data = json.loads(text)
            if list(data["features"]) != list(FEATURES):
                raise ValueError(f"features {data['features']} are not {list(FEATURES)}")
            return cls(
                weights=tuple(float(w) for w in data["weights"]),
                intercept=float(data["intercept"]),
                thresholds={Category(c): float(t) for c, t in data["thresholds"].items()},
                default_threshold=float(data["default_threshold"]),
                corpus_digest=str(data.get("corpus_digest", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{source}: bad calibration: {exc}") from None

    @classmethod
    def load(cls, path: Path | None = None) -> Calibration:
        """The shipped calibration, or none (raw confidence) when the file is absent."""
        calibration_path = path or CALIBRATION_PATH
        if not calibration_path.exists():
            return cls()
        return cls.from_json(
            calibration_path.read_text(encoding="utf-8"), source=str(calibration_path)
        )


def fit_calibration(
    signals: Sequence[Signals],
    correct: Sequence[bool],
    predicted: Sequence[Category],
    asked_anyway: Sequence[bool],
    *,
    precision_target: float,
    max_ask_rate: float,
    corpus_digest: str = "",
) -> Calibration:
    """Fit the logistic map on held-out outcomes, then per-category thresholds.

    Each category's threshold is the lowest calibrated confidence above which its held-out
    predictions are right at least `precision_target` of the time (smoothed towards the
    curve of all categories, as a category has few texts); if that asks on more than
    `max_ask_rate` of the texts the target is lowered step by step towards the global one.
    Texts in `asked_anyway` (no keyword and no clear vote) are asked whatever the threshold.
    """
    from sklearn.linear_model import LogisticRegression

    features = [s.vector() for s in signals]
    model = LogisticRegression(C=1.0, max_iter=1000)
    model.fit(features, [int(c) for c in correct])
    weights = tuple(float(w) for w in model.coef_[0])
    intercept = float(model.intercept_[0])
    if weights[0] <= 0:
        # On little data the signals can stand in for each other and leave the raw
        # confidence a falling weight: fall back to Platt scaling of it alone.
        model.fit([row[:1] for row in features], [int(c) for c in correct])
        weights = (float(model.coef_[0][0]),) + (0.0,) * (len(FEATURES) - 1)
        intercept = float(model.intercept_[0])
    base = Calibration(weights=weights, intercept=intercept)
    probabilities = [base.probability(s) for s in signals]
    target = precision_target
    while True:
        thresholds = choose_thresholds(
            probabilities, correct, predicted, asked_anyway, precision_target=target
        )
        default = _lowest_meeting(
            [(p, c) for p, c, a in zip(probabilities, correct, asked_anyway, strict=True) if not a],
            target,
        )
        asked = sum(
            a or p < thresholds.get(c, default)
            for p, c, a in zip(probabilities, predicted, asked_anyway, strict=True)
        )
        if asked <= max_ask_rate * len(probabilities) or target <= 0.5:
            break
        target -= 0.005
    return Calibration(
        weights=weights,
        intercept=base.intercept,
        thresholds=thresholds,
        default_threshold=default,
        corpus_digest=corpus_digest,
    )


# How many held-out texts of the global curve a category's own figures are blended with.
_PRIOR_STRENGTH = 20.0


def choose_thresholds(
    probabilities: Sequence[float],
    correct: Sequence[bool],
    predicted: Sequence[Category],
    asked_anyway: Sequence[bool],
    *,
    precision_target: float,
) -> dict[Category, float]:
    """Per category: the lowest threshold whose smoothed precision meets the target."""
    rows = [
        (p, c, k)
        for p, c, k, a in zip(probabilities, correct, predicted, asked_anyway, strict=True)
        if not a
    ]
    thresholds: dict[Category, float] = {}
    for category in Category:
        own = sorted(((p, c) for p, c, k in rows if k is category), reverse=True)
        if not own:
            continue
        best = 1.0
        hits = 0
        for count, (p, c) in enumerate(own, start=1):
            hits += c
            # The calibrated confidence itself is the prior's precision at this depth.
            prior = sum(q for q, _ in own[:count]) / count
            smoothed = (hits + _PRIOR_STRENGTH * prior) / (count + _PRIOR_STRENGTH)
            if smoothed >= precision_target:
                best = p
        thresholds[category] = best
    return thresholds


def _lowest_meeting(rows: Sequence[tuple[float, bool]], target: float) -> float:
    ordered = sorted(rows, reverse=True)
    best, hits = 1.0, 0
    for count, (p, c) in enumerate(ordered, start=1):
        hits += c
        if hits / count >= target:
            best = p
    return best
