"""The labelled complaints the classifier learns from."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from nlp.categories import Category, parse_category

logger = logging.getLogger(__name__)

CORPUS_PATH = Path(__file__).resolve().parent / "data" / "corpus.tsv"


@dataclass(frozen=True)
class LabelledExample:
    """A complaint text with its categories, the primary (routing) one first."""

    text: str
    categories: tuple[Category, ...]

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise ValueError("a labelled example needs text")
        if not self.categories:
            raise ValueError(f"labelled example {self.text!r} has no category")
        if len(set(self.categories)) != len(self.categories):
            raise ValueError(f"labelled example {self.text!r} repeats a category")

    @property
    def primary(self) -> Category:
        return self.categories[0]


class CorpusError(ValueError):
    """A corpus line that cannot be read; the message names the file and line."""


def parse_corpus(lines: list[str], *, source: str = "<corpus>") -> list[LabelledExample]:
    """Examples from `labels<TAB>text` lines; # comments and blank lines are skipped."""
    examples: list[LabelledExample] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        labels, sep, text = line.partition("\t")
        if not sep or not text.strip():
            raise CorpusError(f"{source}:{number}: expected 'labels<TAB>text'")
        try:
            categories = tuple(parse_category(code) for code in labels.split(","))
            examples.append(LabelledExample(text=text.strip(), categories=categories))
        except ValueError as exc:
            raise CorpusError(f"{source}:{number}: {exc}") from None
    return examples


def load_corpus(path: Path | None = None) -> list[LabelledExample]:
    """The shipped corpus (`nlp/data/corpus.tsv`) or the one at `path`."""
    corpus_path = path or CORPUS_PATH
    examples = parse_corpus(
        corpus_path.read_text(encoding="utf-8").splitlines(), source=str(corpus_path)
    )
    logger.debug("loaded %d labelled complaints from %s", len(examples), corpus_path)
    return examples
