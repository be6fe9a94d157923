"""Text helpers shared by the rules, the classifier and the extractor: normalisation,
number patterns and negated clauses. Positions always refer to the normalised text."""

from __future__ import annotations

import re
import unicodedata

# Letters and digits typed in full width (ＥＡ１２３…) are common on Chinese keyboards;
# NFKC folds them (and full-width punctuation) to ASCII so one set of patterns serves both.


def normalize(text: str) -> str:
    """NFKC-folded text with runs of whitespace collapsed to one space."""
    folded = unicodedata.normalize("NFKC", text)
    return re.sub(r"\s+", " ", folded).strip()


# S10 (UPU) item identifiers: 2 letters, 8 digits + check digit, 2 letters. The check digit
# is deliberately not verified: the examples in our own documents do not satisfy it.
S10_RE = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{2}\d{9}[A-Za-z]{2})(?![A-Za-z0-9])")
# Domestic mail numbers are 13 digits; a leading + or 86 before a mobile number means an
# international phone number instead.
DOMESTIC_RE = re.compile(r"(?<![\d+])(?!861[3-9])(\d{13})(?!\d)")
MOBILE_RE = re.compile(r"(?<!\d)(?:\+?86[-\s]?)?(1[3-9]\d)[-\s]?(\d{4})[-\s]?(\d{4})(?!\d)")
# Area codes are 3 digits for 010 and 02x, 4 digits otherwise; local numbers 7 or 8 digits.
LANDLINE_RE = re.compile(r"(?<!\d)\(?(0\d{2,3})\)?[-\s]?(\d{7,8})(?!\d)")

CLAUSE_BREAK_RE = re.compile(r"[,.;:!?，。；：！？、\n]")

# Contrastive negation: "不是X，是Y" / "并非X" / "X而不是Y" deny X. "是不是X" is a question,
# not a denial, hence the look-behind.
_CONTRAST_RE = re.compile(r"(?<!是)(?:并不是|也不是|倒不是|而不是|不是|并非|不算|不属于)")
_CONTRAST_END_RE = re.compile(
    r"[,.;:!?，。；：！？、\n]|而是|就是|只是|主要是|其实是|但是|可是|而且|是"
)
# "不是第一次" means "again", the opposite of a denial of what follows.
_NOT_A_DENIAL_RE = re.compile(r"\s*(?:第一次|头一次|头一回|一次两次|一两次|一回两回|一天两天)")
_MAX_SCOPE = 16

# A negator right before a keyword ("没有破损", "未积压", "包装无破损") cancels that keyword.
_DIRECT_NEGATION_RE = re.compile(r"(?:没有|没|未|并未|无|无需|不|不用|不需要)(?:[都也还再])?$")


def negated_spans(text: str) -> list[tuple[int, int]]:
    """Character ranges of `text` that a contrastive negation denies."""
    spans: list[tuple[int, int]] = []
    for match in _CONTRAST_RE.finditer(text):
        start = match.end()
        if _NOT_A_DENIAL_RE.match(text, start):
            continue
        end_match = _CONTRAST_END_RE.search(text, start)
        end = end_match.start() if end_match else len(text)
        end = min(end, start + _MAX_SCOPE)
        if end > start:
            spans.append((start, end))
    return spans


def in_spans(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    """Whether [start, end) overlaps any of the spans."""
    return any(start < s_end and s_start < end for s_start, s_end in spans)


def directly_negated(text: str, start: int) -> bool:
    """Whether the word at `start` is preceded by a negator in the same clause."""
    return _DIRECT_NEGATION_RE.search(text[max(0, start - 4) : start]) is not None


def mask_numbers(text: str) -> str:
    """Tracking and phone numbers replaced by neutral placeholders, so that their digits
    neither look like words to the classifier nor match keywords such as 11185."""
    text = S10_RE.sub(" trackno ", text)
    text = DOMESTIC_RE.sub(" trackno ", text)
    text = MOBILE_RE.sub(" phoneno ", text)
    return LANDLINE_RE.sub(" phoneno ", text)
