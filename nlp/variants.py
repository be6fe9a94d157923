"""Written variants of the same words: traditional characters (郵遞 → 邮递) and common
input-method misspellings (快第 → 快递), folded before the classifier reads a text so that
its words and keyword rules see one spelling. Data: `nlp/data/t2s.tsv`, `typos.tsv`."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
T2S_PATH = DATA_DIR / "t2s.tsv"
TYPOS_PATH = DATA_DIR / "typos.tsv"


def _pairs(path: Path) -> list[tuple[str, str]]:
    pairs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        written, sep, meant = line.partition("\t")
        if not sep or not written or not meant:
            raise ValueError(f"{path}:{number}: expected 'written<TAB>meant'")
        pairs.append((written, meant.strip()))
    return pairs


class Variants:
    """Folds traditional characters one for one, then known misspellings (longest first)."""

    def __init__(self, characters: list[tuple[str, str]], words: list[tuple[str, str]]) -> None:
        self._table = str.maketrans(dict(characters))
        self._words = dict(words)
        ordered = sorted(self._words, key=len, reverse=True)
        self._words_re = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    @classmethod
    def load(cls, t2s: Path = T2S_PATH, typos: Path = TYPOS_PATH) -> Variants:
        return cls(_pairs(t2s), _pairs(typos))

    def fold(self, text: str) -> str:
        simplified = text.translate(self._table)
        if self._words_re is None:
            return simplified
        return self._words_re.sub(lambda m: self._words[m.group()], simplified)


@cache
def shipped_variants() -> Variants:
    """The shipped tables, read once per process."""
    return Variants.load()
