"""Entities in a complaint: tracking and phone numbers, the organisation's sites, delivery
segments and transfer points, and urgency cues."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from nlp.numbers import mask_normalised, mask_phones, phone_matches, tracking_spans
from nlp.text import mask_numbers, normalize

logger = logging.getLogger(__name__)

URGENCY_CUES_PATH = Path(__file__).resolve().parent / "data" / "urgency.txt"

# Suffixes that people drop when naming a site: "城关投递部" is "城关" in speech.
SITE_SUFFIXES = ("营业支局", "投递支局", "投递部", "营业所", "邮政所", "邮政支局", "支局")
_MIN_SHORT_NAME = 2
# Short forms that are everyday words would match far too much ("转运中心").
_GENERIC_SHORT_NAMES = frozenset(
    {"中心", "城区", "市区", "县城", "本部", "总部", "邮政", "营业", "投递"}
)


@dataclass(frozen=True)
class Place:
    """A named place of the organisation.

    site_id: for a site None (or its own id); for a delivery segment the delivery site it
    belongs to; for a transfer point the site that serves it.
    """

    id: int
    name: str
    site_id: int | None = None


@dataclass(frozen=True)
class OrgNames:
    """The names the extractor looks for; rebuilt by the bot on every organisation import."""

    sites: tuple[Place, ...] = ()
    segments: tuple[Place, ...] = ()
    transfer_points: tuple[Place, ...] = ()

    def words(self) -> set[str]:
        """Every name form worth adding to the segmenter's dictionary."""
        return set(self._index.forms)

    @cached_property
    def _index(self) -> _NameIndex:
        # Built once per snapshot: extraction runs per message, imports are rare.
        return _NameIndex.build(self)


@dataclass(frozen=True)
class Extraction:
    tracking_numbers: tuple[str, ...]
    phones: tuple[str, ...]
    site: Place | None
    segment: Place | None
    transfer_point: Place | None
    urgent: bool
    urgency_cues: tuple[str, ...]


_SITE, _SEGMENT, _TRANSFER_POINT = "site", "segment", "transfer_point"


@dataclass
class _NameIndex:
    # name form -> [(kind, place)], several when a segment name recurs across sites
    forms: dict[str, list[tuple[str, Place]]] = field(default_factory=dict)
    # first character -> forms starting with it, longest first
    by_first: dict[str, list[str]] = field(default_factory=dict)
    sites_by_id: dict[int, Place] = field(default_factory=dict)

    @classmethod
    def build(cls, names: OrgNames) -> _NameIndex:
        index = cls()
        for site in names.sites:
            index.sites_by_id[site.id] = site
            index._add(site.name, _SITE, site)
        for segment in names.segments:
            index._add(segment.name, _SEGMENT, segment)
        for point in names.transfer_points:
            index._add(point.name, _TRANSFER_POINT, point)
        short_owners: dict[str, list[Place]] = {}
        for site in names.sites:
            short = _short_site_name(site.name)
            if short is not None:
                short_owners.setdefault(short, []).append(site)
        for short, owners in short_owners.items():
            # "城关" could be 城关投递部 or 城关营业所: an ambiguous short form names nothing.
            if len(owners) == 1 and _match_key(short) not in index.forms:
                index._add(short, _SITE, owners[0])
        for form in index.forms:
            index.by_first.setdefault(form[0], []).append(form)
        for forms in index.by_first.values():
            forms.sort(key=len, reverse=True)
        return index

    def _add(self, name: str, kind: str, place: Place) -> None:
        key = _match_key(name)
        if len(key) >= _MIN_SHORT_NAME:
            self.forms.setdefault(key, []).append((kind, place))

    def find(self, text: str) -> list[list[tuple[str, Place]]]:
        """Candidates of each name mention in text order, longest match first."""
        found: list[list[tuple[str, Place]]] = []
        position = 0
        while position < len(text):
            for form in self.by_first.get(text[position], ()):
                if text.startswith(form, position):
                    found.append(self.forms[form])
                    position += len(form)
                    break
            else:
                position += 1
        return found


def _short_site_name(name: str) -> str | None:
    for suffix in SITE_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= _MIN_SHORT_NAME:
            short = name[: -len(suffix)]
            return None if short in _GENERIC_SHORT_NAMES else short
    return None


_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4}
_CN_DIGITS |= {"五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_NUMBER_RE = re.compile(r"[零〇一二两三四五六七八九十]+(?=段)")


def _cn_number(numeral: str) -> int | None:
    """Value of a Chinese numeral below 100 (十二 → 12, 二十 → 20); None otherwise."""
    if "十" not in numeral:
        if len(numeral) != 1:
            return None
        return _CN_DIGITS.get(numeral)
    tens_text, _, units_text = numeral.partition("十")
    tens = _CN_DIGITS.get(tens_text) if tens_text else 1
    units = _CN_DIGITS.get(units_text) if units_text else 0
    if tens is None or units is None:
        return None
    return tens * 10 + units


def _match_key(text: str) -> str:
    """Text as names are compared: folded, lower-case, '东二段' written '东2段'."""

    def arabic(match: re.Match[str]) -> str:
        value = _cn_number(match.group())
        return match.group() if value is None else str(value)

    return _CN_NUMBER_RE.sub(arabic, normalize(text).lower())


class UrgencyCues:
    """Words that make a complaint urgent, from `nlp/data/urgency.txt`, plus durations of
    three days or more."""

    def __init__(self, cues: Iterable[str], *, min_days: float = 3.0) -> None:
        patterns = []
        for cue in sorted({c.strip() for c in cues if c.strip()}, key=len, reverse=True):
            pattern = re.escape(normalize(cue))
            # 12345 inside 13812345678 is a phone number, not the city hotline.
            if cue[0].isdigit():
                pattern = r"(?<!\d)" + pattern
            if cue[-1].isdigit():
                pattern += r"(?!\d)"
            patterns.append(pattern)
        self._cue_re = re.compile("|".join(patterns)) if patterns else None
        self._min_days = min_days

    @classmethod
    def load(cls, path: Path | None = None) -> UrgencyCues:
        lines = (path or URGENCY_CUES_PATH).read_text(encoding="utf-8").splitlines()
        return cls(line for line in lines if line.strip() and not line.startswith("#"))

    def find(self, text: str) -> tuple[str, ...]:
        """The cues in `text` (already normalised), in text order, each once."""
        found: list[tuple[int, str]] = []
        if self._cue_re is not None:
            found.extend((m.start(), m.group()) for m in self._cue_re.finditer(text))
        for match in _DURATION_RE.finditer(text):
            days = _duration_days(match)
            if days is not None and days >= self._min_days:
                found.append((match.start(), match.group()))
        found.sort()
        cues: list[str] = []
        covered_until = -1
        for start, cue in found:
            # "好几天" is both a cue and a duration-looking phrase; report it once.
            if start < covered_until or cue in cues:
                continue
            cues.append(cue)
            covered_until = start + len(cue)
        return tuple(cues)


# A number then a unit: 3天, 三天, 五六天 (read as the smaller), 一个多月, 半个月, 72小时,
# 三个工作日. 一月 is January, so months need 个; "12日" is a date, so 日 needs a Chinese
# numeral (三日) and must not follow 月.
_DURATION_RE = re.compile(
    r"(?<![\d月.])(\d{1,3}|[零一二两三四五六七八九十半]{1,3})(个)?(多)?(?:工作)?"
    r"(天|日|周|星期|礼拜|个月|月|小时)"
)
_UNIT_DAYS = {"天": 1.0, "日": 1.0, "周": 7.0, "星期": 7.0, "礼拜": 7.0, "月": 30.0}


def _duration_days(match: re.Match[str]) -> float | None:
    number, classifier, _, unit = match.groups()
    if unit == "月" and classifier is None:
        return None
    if unit == "日" and number.isdigit():
        return None
    if unit == "个月":
        unit = "月"
    if number.isdigit():
        value: float = int(number)
    elif number == "半":
        value = 0.5
    elif len(number) == 2 and "十" not in number:
        # 两三天 / 五六天: a range; only its lower bound is certain.
        values = [_CN_DIGITS.get(ch) for ch in number]
        if any(v is None for v in values):
            return None
        value = min(v for v in values if v is not None)
    else:
        parsed = _cn_number(number)
        if parsed is None:
            return None
        value = parsed
    if unit == "小时":
        return value / 24
    return value * _UNIT_DAYS[unit]


def find_tracking_numbers(text: str) -> tuple[str, ...]:
    """S10 (EA123456789CN) and 13-digit domestic numbers, upper-case, each once."""
    return _unique(number for _, _, number in tracking_spans(text))


def find_phones(text: str) -> tuple[str, ...]:
    """Mobile (13812345678), landline (0471-1234567, with 转 and the extension) and 400/800
    numbers (400-820-8820), normalised, each once, in every written form (spaces, dashes,
    brackets, full-width digits, +86 / 0086). Service numbers (11185, 12345) and tracking
    numbers are not phones."""
    return _unique(phone.normalised for phone in phone_matches(text))


def mask_phone(phone: str) -> str:
    """A phone number safe to show or log: 13812345678 → 138****5678,
    0471-1234567 → 0471-***4567. Anything else keeps only its last two digits."""
    found = phone_matches(phone)
    if len(found) == 1:
        return mask_normalised(found[0])
    digits = re.sub(r"\D", "", phone)
    if len(digits) <= 2:
        return "*" * len(phone)
    return "*" * (len(digits) - 2) + digits[-2:]


def mask_phones_in_text(text: str) -> str:
    """The complaint text with every phone number masked where it stands, as written
    (138-1234-5678 → 138-****-5678); tracking numbers are left as they are."""
    return mask_phones(text)


_DEFAULT_CUES: UrgencyCues | None = None


def default_urgency_cues() -> UrgencyCues:
    """The shipped cue list, read once."""
    global _DEFAULT_CUES
    if _DEFAULT_CUES is None:
        _DEFAULT_CUES = UrgencyCues.load()
    return _DEFAULT_CUES


def extract(
    text: str,
    names: OrgNames,
    *,
    reporter_site_id: int | None = None,
    urgency: UrgencyCues | None = None,
) -> Extraction:
    """Everything the bot proposes from a complaint besides its category.

    A segment name is unique only within its delivery site, so a recurring one is resolved
    by a site named in the text, else the reporter's site, else the first in `names`.
    With no site named, the site is the one the found segment or transfer point belongs to.
    """
    normalised = normalize(text)
    index = names._index
    mentions = index.find(_match_key(text))
    sites = [place for cands in mentions for kind, place in cands if kind == _SITE]
    site = sites[0] if sites else None
    named_site_ids = {place.id for place in sites}

    def resolve(kind: str) -> Place | None:
        for candidates in mentions:
            places = [place for k, place in candidates if k == kind]
            if places:
                return _disambiguate(places, named_site_ids, reporter_site_id)
        return None

    segment = resolve(_SEGMENT)
    transfer_point = resolve(_TRANSFER_POINT)
    if site is None:
        for place in (segment, transfer_point):
            if place is not None and place.site_id is not None:
                site = index.sites_by_id.get(place.site_id)
                if site is not None:
                    break
    # Masked so that digits of tracking and phone numbers cannot read as 12345 or "3天".
    cues = (urgency or default_urgency_cues()).find(mask_numbers(normalised))
    return Extraction(
        tracking_numbers=find_tracking_numbers(text),
        phones=find_phones(text),
        site=site,
        segment=segment,
        transfer_point=transfer_point,
        urgent=bool(cues),
        urgency_cues=cues,
    )


def _disambiguate(
    places: list[Place], named_site_ids: set[int], reporter_site_id: int | None
) -> Place:
    for place in places:
        if place.site_id in named_site_ids:
            return place
    for place in places:
        if reporter_site_id is not None and place.site_id == reporter_site_id:
            return place
    return places[0]


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
