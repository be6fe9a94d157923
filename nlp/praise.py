"""Praise is not a complaint: "感谢投递员冒雨送件", "给营业员送锦旗" are recognised so that the
bot can record them as a 亮点 instead of routing them, while sarcasm ("感谢你们把我的包裹弄丢
了") and a polite 谢谢 closing a complaint are not praise. Cues: `nlp/data/praise.tsv`."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from nlp.categories import Category

PRAISE_PATH = Path(__file__).resolve().parent / "data" / "praise.tsv"

# Praise needs more than a bare 谢谢 (weight 1): a cue aimed at someone or a word of praise.
_PRAISE_THRESHOLD = 2.0
# Each unit of complaint evidence (a keyword of a category but "other") counts against.
_COMPLAINT_FACTOR = 0.4
_KINDS = ("praise", "against")


@dataclass(frozen=True)
class _Cue:
    kind: str
    weight: float
    pattern: re.Pattern[str]


class PraiseCues:
    """Praise cues and cues against (sarcasm, "it used to be good but"); each line counts
    once."""

    def __init__(self, cues: Sequence[_Cue]) -> None:
        self._cues = tuple(cues)

    @classmethod
    def load(cls, path: Path | None = None) -> PraiseCues:
        source = path or PRAISE_PATH
        cues = []
        for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split("\t")
            try:
                kind, weight, pattern = parts
                if kind not in _KINDS:
                    raise ValueError(f"kind must be one of {_KINDS}, not {kind!r}")
                cues.append(_Cue(kind, float(weight), re.compile(pattern)))
            except (ValueError, re.error) as exc:
                raise ValueError(f"{source}:{number}: {exc}") from None
        return cls(cues)

    def score(self, text: str, complaint_evidence: Mapping[Category, float]) -> float:
        """Praise minus cues against minus complaint keywords, for folded `text`."""
        praise = sum(c.weight for c in self._cues if c.kind == "praise" and c.pattern.search(text))
        against = sum(
            c.weight for c in self._cues if c.kind == "against" and c.pattern.search(text)
        )
        complaint = sum(
            value
            for category, value in complaint_evidence.items()
            if category is not Category.OTHER and value > 0
        )
        return praise - against - _COMPLAINT_FACTOR * complaint

    def praises(self, text: str, complaint_evidence: Mapping[Category, float]) -> bool:
        return self.score(text, complaint_evidence) >= _PRAISE_THRESHOLD
