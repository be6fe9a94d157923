"""What the bot holds: segmenter, classifier and organisation names behind one call."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from nlp.cache_dir import default_cache_dir
from nlp.categories import Category
from nlp.classifier import DEFAULT_LOW_CONFIDENCE, Classification, ComplaintClassifier
from nlp.corpus import LabelledExample, load_corpus
from nlp.entities import Extraction, OrgNames, Place, UrgencyCues, extract, mask_phone
from nlp.model_cache import load_model, save_model, training_key
from nlp.rules import KeywordRules
from nlp.segmenter import Segmenter

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ComplaintReading:
    """A complaint as understood: what it is about and what it names."""

    classification: Classification
    extraction: Extraction

    @property
    def category(self) -> Category:
        return self.classification.category

    @property
    def choices(self) -> tuple[Category, ...]:
        """The primary category, then the likeliest others: offered first when asking."""
        return self.classification.choices

    @property
    def praise(self) -> bool:
        """The text praises someone (a 亮点 to record) rather than complaining."""
        return self.classification.praise

    def to_json_dict(self) -> dict[str, object]:
        """A JSON-ready summary to store with the complaint. Phone numbers are masked:
        the full numbers stay in the complaint text, which has its own access rules."""
        c, e = self.classification, self.extraction
        return {
            "category": c.category.value,
            "categories": [category.value for category in c.categories],
            "confidence": c.confidence,
            "low_confidence": c.low_confidence,
            "choices": [category.value for category in c.choices],
            "praise": c.praise,
            "site": _place_json(e.site),
            "segment": _place_json(e.segment),
            "transfer_point": _place_json(e.transfer_point),
            "tracking_numbers": list(e.tracking_numbers),
            "phones": [mask_phone(phone) for phone in e.phones],
            "urgent": e.urgent,
            "urgency_cues": list(e.urgency_cues),
        }


def _place_json(place: Place | None) -> dict[str, object] | None:
    if place is None:
        return None
    return {"id": place.id, "name": place.name}


class ComplaintReader:
    """Reads free-text complaints. Build it once at start-up with `create` (it loads jieba
    and trains the classifier: about a second, so off the event loop), then call `read`
    per message and `update_names` after each organisation import."""

    def __init__(
        self,
        *,
        segmenter: Segmenter,
        classifier: ComplaintClassifier,
        names: OrgNames,
        urgency: UrgencyCues | None = None,
        corpus_path: Path | None = None,
        model_dir: Path | None = None,
    ) -> None:
        self._segmenter = segmenter
        self._classifier = classifier
        self._names = names
        self._urgency = urgency or UrgencyCues.load()
        self._corpus_path = corpus_path
        self._model_dir = model_dir

    @classmethod
    def create(
        cls,
        names: OrgNames | None = None,
        *,
        extra_examples: Iterable[LabelledExample] = (),
        corpus_path: Path | None = None,
        cache_dir: Path | None = None,
        low_confidence: float = DEFAULT_LOW_CONFIDENCE,
        model_cache: bool = True,
    ) -> ComplaintReader:
        """Load the dictionary, add the organisation's names and train on the shipped
        corpus plus `extra_examples` (reporters' confirmed categories), or load the model
        trained on exactly these from `cache_dir` (default: `default_cache_dir()`, which
        also keeps jieba's parsed dictionary; `model_cache` False always trains)."""
        started = time.perf_counter()
        org = names or OrgNames()
        directory = cache_dir if cache_dir is not None else default_cache_dir()
        segmenter = Segmenter(cache_dir=directory)
        segmenter.set_names(org.words())
        segmenter.initialize()
        examples = [*load_corpus(corpus_path), *extra_examples]
        model_dir = directory if model_cache else None
        classifier = _classifier(examples, segmenter, low_confidence, model_dir)
        logger.info(
            "complaint reader ready in %.2f s (%d examples, %d names)",
            time.perf_counter() - started,
            len(examples),
            len(segmenter.names),
        )
        return cls(
            segmenter=segmenter,
            classifier=classifier,
            names=org,
            corpus_path=corpus_path,
            model_dir=model_dir,
        )

    @property
    def names(self) -> OrgNames:
        return self._names

    @property
    def classifier(self) -> ComplaintClassifier:
        return self._classifier

    @property
    def segmenter(self) -> Segmenter:
        return self._segmenter

    def read(self, text: str, *, reporter_site_id: int | None = None) -> ComplaintReading:
        """Category, places, numbers and urgency of one complaint."""
        return ComplaintReading(
            classification=self._classifier.classify(text),
            extraction=extract(
                text, self._names, reporter_site_id=reporter_site_id, urgency=self._urgency
            ),
        )

    def update_names(self, names: OrgNames) -> None:
        """Switch to a newly imported organisation (removed names stop matching).

        Rebuilding the dictionary takes ~0.15 s for 7,500 names: call it off the event
        loop (asyncio.to_thread); readers keep using the old dictionary until the swap."""
        self._segmenter.set_names(names.words())
        self._names = names
        logger.info(
            "complaint reader names updated: %d sites, %d segments, %d transfer points",
            len(names.sites),
            len(names.segments),
            len(names.transfer_points),
        )

    def retrain(self, extra_examples: Iterable[LabelledExample]) -> None:
        """Retrain on the corpus plus `extra_examples` (e.g. nightly, as reporters confirm
        categories); the old classifier serves until the new one is ready."""
        examples = [*load_corpus(self._corpus_path), *extra_examples]
        self._classifier = _classifier(
            examples, self._segmenter, self._classifier.low_confidence, self._model_dir
        )


def _classifier(
    examples: list[LabelledExample],
    segmenter: Segmenter,
    low_confidence: float,
    model_dir: Path | None,
) -> ComplaintClassifier:
    """The classifier for `examples`: loaded from `model_dir` when trained on exactly these
    before (with these names, code and libraries), else trained and stored there."""
    rules = KeywordRules.load()
    if model_dir is None:
        return ComplaintClassifier.train(
            examples, segmenter=segmenter, rules=rules, low_confidence=low_confidence
        )
    key = training_key(examples, segmenter.names)
    cached = load_model(model_dir, key)
    if cached is not None:
        logger.info("complaint model loaded from the cache in %s", model_dir)
        return ComplaintClassifier(
            segmenter=segmenter, rules=rules, model=cached, low_confidence=low_confidence
        )
    classifier = ComplaintClassifier.train(
        examples, segmenter=segmenter, rules=rules, low_confidence=low_confidence
    )
    save_model(model_dir, key, classifier.model)
    return classifier
