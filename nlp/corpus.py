"""The labelled complaints the classifier learns from, each in the voice it was written in.

The shipped corpus is `nlp/data/corpus.tsv` (counter staff's reports, the first voice) and
one file per further voice in `nlp/data/voices/` (customers' own words, terse notes,
dialect, traditional characters …; `nlp/data/README.md` says where each came from). The
voice is the file's name: the bench trains on some voices and scores the others.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from nlp.categories import Category, parse_category

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
CORPUS_PATH = DATA_DIR / "corpus.tsv"
VOICES_DIR = DATA_DIR / "voices"
# In the labels column: the text praises someone; it is not a complaint (category other
# unless a category is named too).
PRAISE_TAG = "praise"


@dataclass(frozen=True)
class LabelledExample:
    """A complaint text with its categories, the primary (routing) one first; `voice` names
    the file it came from, `praise` marks thanks and praise rather than a complaint."""

    text: str
    categories: tuple[Category, ...]
    voice: str = ""
    praise: bool = False

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


def parse_corpus(
    lines: list[str], *, source: str = "<corpus>", voice: str = ""
) -> list[LabelledExample]:
    """Examples from `labels<TAB>text` lines; # comments and blank lines are skipped.
    labels: category codes separated by commas, primary first, optionally `praise`."""
    examples: list[LabelledExample] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        labels, sep, text = line.partition("\t")
        if not sep or not text.strip():
            raise CorpusError(f"{source}:{number}: expected 'labels<TAB>text'")
        codes = [code.strip() for code in labels.split(",")]
        praise = PRAISE_TAG in codes
        codes = [code for code in codes if code != PRAISE_TAG]
        try:
            categories = tuple(parse_category(code) for code in codes) if codes else ()
            if praise and not categories:
                categories = (Category.OTHER,)
            examples.append(
                LabelledExample(
                    text=text.strip(), categories=categories, voice=voice, praise=praise
                )
            )
        except ValueError as exc:
            raise CorpusError(f"{source}:{number}: {exc}") from None
    return examples


def corpus_files() -> list[Path]:
    """The shipped corpus files, the first voice first."""
    return [CORPUS_PATH, *sorted(VOICES_DIR.glob("*.tsv"))]


def load_file(path: Path) -> list[LabelledExample]:
    """The examples of one corpus file, their voice the file's name."""
    return parse_corpus(
        path.read_text(encoding="utf-8").splitlines(), source=str(path), voice=path.stem
    )


def load_corpus(path: Path | None = None) -> list[LabelledExample]:
    """Every shipped voice, or only the file at `path`."""
    paths = [path] if path is not None else corpus_files()
    examples = [example for corpus_path in paths for example in load_file(corpus_path)]
    logger.debug("loaded %d labelled complaints from %d files", len(examples), len(paths))
    return examples
