"""Text helpers shared by the rules, the classifier and the extractor: normalisation,
number patterns and negated clauses. Positions always refer to the normalised text."""

from __future__ import annotations

import re
import unicodedata

from nlp.numbers import phone_matches, tracking_spans

# Letters and digits typed in full width (ＥＡ１２３…) are common on Chinese keyboards;
# NFKC folds them (and full-width punctuation) to ASCII so one set of patterns serves both.


def normalize(text: str) -> str:
    """NFKC-folded text with runs of whitespace collapsed to one space."""
    folded = unicodedata.normalize("NFKC", text)
    return re.sub(r"\s+", " ", folded).strip()


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
    spans = [(start, end, " trackno ") for start, end, _ in tracking_spans(text)]
    spans.extend((phone.start, phone.end, " phoneno ") for phone in phone_matches(text))
    for start, end, placeholder in sorted(spans, reverse=True):
        text = text[:start] + placeholder + text[end:]
    return text


# At least this many letters, digits or Chinese characters make a text say something.
MIN_WORD_CHARACTERS = 2


def word_characters(text: str) -> int:
    """Letters (Chinese characters among them) and digits: what is left of a text without
    its emoji, punctuation, symbols and spaces."""
    return sum(1 for ch in text if unicodedata.category(ch)[0] in "LN")


def has_words(text: str) -> bool:
    """Whether the text says something in words: "😀😀😀😀😀" and "👍👍👍！" do not."""
    return word_characters(text) >= MIN_WORD_CHARACTERS
