"""Tracking and phone numbers in a complaint, found in the text as it was written.

Positions refer to the text given (not to a normalised copy), so that a phone number can be
masked where it stands, in the form the person wrote it: 138-1234-5678 → 138-****-5678,
（0471）6961234 → （0471）***1234, full-width digits, +86 / 0086 prefixes, extensions.

How a 13-digit number is told apart from a phone number: China's domestic mail numbers
are 13 digits; no Chinese phone number is (mobiles 11, landlines 10–12 with the area
code, 400/800 numbers 10). The one 13-digit phone form is a mobile with the country code
written without + or 00 (8613812345678): it is read as a phone unless a tracking word
(单号, 运单, 邮件号 …) stands right before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

# Full-width letters, digits and signs (Chinese keyboards) as ASCII, one character for one,
# so positions in the folded text are positions in the original.
_FOLD = str.maketrans(
    {
        **{chr(code): chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)},
        "—": "-",
        "–": "-",
        "‐": "-",
        "\u3000": " ",
    }
)

# S10 (UPU) item identifiers: 2 letters, 8 digits + check digit, 2 letters. The check digit
# is deliberately not verified: the examples in our own documents do not satisfy it.
S10_RE = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{2}\d{9}[A-Za-z]{2})(?![A-Za-z0-9])")
# Domestic mail numbers are 13 digits; a leading + or 86 before a mobile number means an
# international phone number instead (see _is_tracking_context for the 86 case).
DOMESTIC_RE = re.compile(r"(?<![\d+])(\d{13})(?!\d)")
_TRACKING_CONTEXT_RE = re.compile(
    r"(单号|运单|邮件号|件号|快递单|快件号|邮单|订单号?|编号|条码|tracking|no\.?)\s*[:：是为]?\s*$",
    re.IGNORECASE,
)

_SEP = r"[ \-.]"
_MOBILE = rf"1[3-9]\d(?:{_SEP}?\d{{4}}{_SEP}?\d{{4}}|\d{_SEP}?\d{{3}}{_SEP}?\d{{4}})"
_COUNTRY = rf"(?:\(?(?:\+|00)?86\)?{_SEP}?)"
MOBILE_RE = re.compile(rf"(?<![\d+])(?P<country>{_COUNTRY})?(?P<number>{_MOBILE})(?!\d)")
# Area codes: 010 and 02x have three digits, the others four; local numbers 7 or 8 digits,
# perhaps split 3+4 or 4+4; an extension after 转 / ext / 分机 / a dash.
LANDLINE_RE = re.compile(
    rf"(?<![\d+])(?P<open>\()?(?P<area>0(?:10|2\d)|0[3-9]\d{{2}})(?(open)\))\s?-?\s?"
    rf"(?P<local>\d{{7,8}}|\d{{3,4}}{_SEP}\d{{4}})(?!\d)"
    r"(?P<ext>\s?(?:转分机|转|分机|-分机|ext\.?|x|-)\s?\d{1,5}(?!\d))?",
    re.IGNORECASE,
)
SERVICE_RE = re.compile(rf"(?<![\d+])(?P<number>[48]00{_SEP}?\d{{3}}{_SEP}?\d{{4}})(?!\d)")


class PhoneKind(Enum):
    MOBILE = "mobile"
    LANDLINE = "landline"
    SERVICE = "service"  # 400 / 800 numbers


@dataclass(frozen=True)
class PhoneMatch:
    """A phone number where it stands in the text, and its normalised form."""

    start: int
    end: int
    kind: PhoneKind
    normalised: str
    # Positions (in the text) of the digits a masked copy hides.
    hidden: tuple[int, ...]


def fold_digits(text: str) -> str:
    """Full-width letters, digits and signs as ASCII, position for position."""
    return text.translate(_FOLD)


def _is_tracking_context(folded: str, start: int) -> bool:
    return _TRACKING_CONTEXT_RE.search(folded[max(0, start - 8) : start]) is not None


# Reading one complaint asks for its numbers several times (extraction, masking for the
# classifier and for urgency cues); the answers are immutable, so they are kept a while.
@lru_cache(maxsize=256)
def tracking_spans(text: str) -> tuple[tuple[int, int, str], ...]:
    """(start, end, number) of each S10 and 13-digit domestic number, in text order."""
    folded = fold_digits(text)
    spans = [(m.start(1), m.end(1), m.group(1).upper()) for m in S10_RE.finditer(folded)]
    for match in DOMESTIC_RE.finditer(folded):
        digits = match.group(1)
        start = match.start(1)
        international = (
            digits.startswith("86") and digits[2] == "1" and digits[3] in "3456789"
        ) or folded[max(0, start - 2) : start] == "00"
        if international and not _is_tracking_context(folded, start):
            continue
        spans.append((start, match.end(1), digits))
    return tuple(sorted(spans))


def _digit_positions(folded: str, start: int, end: int) -> list[int]:
    return [i for i in range(start, end) if folded[i].isdigit()]


@lru_cache(maxsize=256)
def phone_matches(text: str) -> tuple[PhoneMatch, ...]:
    """Every phone number in `text`, in text order; tracking numbers and short service
    numbers (11185, 12345, 95598) are not phones."""
    folded = fold_digits(text)
    taken = [(start, end) for start, end, _ in tracking_spans(text)]
    found: list[PhoneMatch] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or e <= start for s, e in taken)

    for match in MOBILE_RE.finditer(folded):
        start, end = match.span()
        if not free(start, end):
            continue
        digits = _digit_positions(folded, *match.span("number"))
        found.append(
            PhoneMatch(
                start,
                end,
                PhoneKind.MOBILE,
                "".join(folded[i] for i in digits),
                tuple(digits[3:7]),
            )
        )
        taken.append((start, end))
    for match in LANDLINE_RE.finditer(folded):
        start, end = match.span()
        if not free(start, end):
            continue
        local = _digit_positions(folded, *match.span("local"))
        number = f"{match.group('area')}-{''.join(folded[i] for i in local)}"
        if match.group("ext"):
            number += "转" + "".join(ch for ch in match.group("ext") if ch.isdigit())
        found.append(PhoneMatch(start, end, PhoneKind.LANDLINE, number, tuple(local[:-4])))
        taken.append((start, end))
    for match in SERVICE_RE.finditer(folded):
        start, end = match.span()
        if not free(start, end):
            continue
        digits = _digit_positions(folded, start, end)
        plain = "".join(folded[i] for i in digits)
        found.append(
            PhoneMatch(
                start,
                end,
                PhoneKind.SERVICE,
                f"{plain[:3]}-{plain[3:6]}-{plain[6:]}",
                tuple(digits[3:6]),
            )
        )
        taken.append((start, end))
    return tuple(sorted(found, key=lambda phone: phone.start))


def mask_phones(text: str) -> str:
    """`text` with every phone number masked where it stands, in the form it was written:
    13812345678 → 138****5678, +86 138-1234-5678 → +86 138-****-5678,
    (0471)6961234转8021 → (0471)***1234转8021. Tracking numbers stay as they are."""
    hidden = {i for phone in phone_matches(text) for i in phone.hidden}
    if not hidden:
        return text
    return "".join("*" if i in hidden else ch for i, ch in enumerate(text))


def mask_normalised(phone: PhoneMatch) -> str:
    """The normalised form of `phone` masked: 138****5678, 0471-***1234, 400-***-8820."""
    hidden = {i for i in phone.hidden}
    if phone.kind is PhoneKind.LANDLINE:
        area, _, rest = phone.normalised.partition("-")
        local, _, extension = rest.partition("转")
        shown = area + "-" + "*" * (len(local) - 4) + local[-4:]
        return shown + ("转" + extension if extension else "")
    digits = [ch for ch in phone.normalised if ch.isdigit()]
    if phone.kind is PhoneKind.MOBILE:
        return "".join(digits[:3]) + "*" * len(hidden) + "".join(digits[7:])
    return f"{''.join(digits[:3])}-***-{''.join(digits[6:])}"
