"""Understanding free-text complaints: categories, places, numbers and urgency.

Plain functions and frozen dataclasses; no Telegram and no database. The bot builds one
`ComplaintReader` at start-up (`ComplaintReader.create`, off the event loop) and calls
`read` for each complaint.
"""

from nlp.calibration import Calibration
from nlp.categories import CATEGORY_LABELS, Category, parse_category
from nlp.classifier import DEFAULT_LOW_CONFIDENCE, Classification, ComplaintClassifier
from nlp.corpus import CorpusError, LabelledExample, load_corpus
from nlp.entities import (
    Extraction,
    OrgNames,
    Place,
    UrgencyCues,
    extract,
    mask_phone,
    mask_phones_in_text,
)
from nlp.reader import ComplaintReader, ComplaintReading
from nlp.rules import KeywordRules
from nlp.segmenter import Segmenter

__all__ = [
    "CATEGORY_LABELS",
    "DEFAULT_LOW_CONFIDENCE",
    "Calibration",
    "Category",
    "Classification",
    "ComplaintClassifier",
    "ComplaintReader",
    "ComplaintReading",
    "CorpusError",
    "Extraction",
    "KeywordRules",
    "LabelledExample",
    "OrgNames",
    "Place",
    "Segmenter",
    "UrgencyCues",
    "extract",
    "load_corpus",
    "mask_phone",
    "mask_phones_in_text",
    "parse_category",
]
