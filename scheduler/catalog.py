"""The inspection catalog: what is checked, by whom, how often, on how big a sample, across
how many sites, and which questions the inspector answers.

The catalog is data (``scheduler/data/catalog.toml``, editable by the admin). It is validated
completely at load: every error names the item id and the field, so a typo in the file fails
at start with a message the admin can act on, never later in the middle of a conversation.

File format (one ``[[item]]`` table per check item)::

    version = 1

    [[item]]
    id = "delivery_express_signoff"        # stable slug: [a-z][a-z0-9_]*
    title = "特快、给据邮件投递清单签收质量检查"
    clause = "第十四条 1(1)"
    quote = "每日检查不少于10%的特快、给据邮件投递清单签收质量。"
    level = "site"                          # site | county | city | region: who does it
    staff = "投递部主任、检查员"              # optional, informational (site level)
    duty = "delivery_head"                  # who does it: a [[duty]] id (see Duty)
    doers = "one"                           # one | all: when several hold the duty at a unit
    site_kind = "delivery"                  # counter | delivery: which sites it concerns
    area = "any"                            # urban | rural | any
    fix_days = 5                            # working days to fix a finding (default 5)
    non_working_days = false                # true: also planned on weekends and holidays
    calendar_days = false                   # true: periods in calendar days, done on the
                                            # days the site opens (site items)
    per_city = false                        # true (region items): each city its own target,
                                            # the frequency and quotas met per city
    frequency = { kind = "daily" }          # see Frequency
    sample = { kind = "percent", percent = 10, volume = "lists_total",
               checked = "lists_checked" }  # optional, see SampleRule
    coverage = { urban_percent = 30, rural_percent = 15 }  # optional, see CoverageQuota

    [[item.questions]]
    id = "lists_total"
    text = "今日特快、给据邮件投递清单共多少份？"
    type = "integer"                        # yes_no | integer | choice | text | photo
    min = 0
    max = 100000
    optional = false
    when = { question = "problem_found", equals = "yes" }   # optional, earlier question
    finding = { equals = ["no"] }           # or { at_least = 1 } for integers

Duties (one ``[[duty]]`` table each) name who performs the checks; staff hold them (the
``duties`` column of the organisation file)::

    [[duty]]
    id = "delivery_head"
    name = "投递部主任"
    levels = ["site"]                       # the levels of the units its holders sit at
    site_kind = "delivery"                  # optional: only at sites of this kind

Answers are ``str`` for yes_no ("yes" / "no"), choice (the option text), text and photo (the
file id), and ``int`` for integer questions.
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, TypeVar

from scheduler.org import Area, Level, SiteKind

logger = logging.getLogger(__name__)

DEFAULT_CATALOG_PATH: Final = Path(__file__).resolve().parent / "data" / "catalog.toml"
CATALOG_VERSION: Final = 1
DEFAULT_FIX_DAYS: Final = 5

AnswerValue = str | int

_ID_PATTERN: Final = re.compile(r"^[a-z][a-z0-9_]*$")
_YES_NO: Final = ("yes", "no")
# Generous bounds: they catch typos (an extra zero) without constraining real data.
_MAX_TIMES: Final = 31
_MAX_EVERY_N_DAYS: Final = 366
_MAX_FIX_DAYS: Final = 60
_MAX_SAMPLE: Final = 100_000


class CatalogError(ValueError):
    """The catalog file is unreadable or an entry is invalid; the message names item and field."""


class Span(StrEnum):
    """A calendar period; quarters and half-years are the usual Jan-Mar …, Jan-Jun / Jul-Dec."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    HALF_YEAR = "half_year"
    YEAR = "year"


_SPAN_ORDER: Final = {span: rank for rank, span in enumerate(Span)}


def span_contains(outer: Span, inner: Span) -> bool:
    """True when every ``inner`` period lies inside one ``outer`` period (weeks fit nothing)."""
    if inner == outer:
        return True
    if inner == Span.DAY:
        return True
    if inner == Span.WEEK or outer == Span.WEEK:
        return False
    return _SPAN_ORDER[inner] < _SPAN_ORDER[outer]


class FrequencyKind(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    EVERY_N_DAYS = "every_n_days"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    HALF_YEARLY = "half_yearly"
    YEARLY = "yearly"


FREQUENCY_SPAN: Final[Mapping[FrequencyKind, Span | None]] = {
    FrequencyKind.DAILY: Span.DAY,
    FrequencyKind.WEEKLY: Span.WEEK,
    FrequencyKind.EVERY_N_DAYS: None,
    FrequencyKind.MONTHLY: Span.MONTH,
    FrequencyKind.QUARTERLY: Span.QUARTER,
    FrequencyKind.HALF_YEARLY: Span.HALF_YEAR,
    FrequencyKind.YEARLY: Span.YEAR,
}


class Doers(StrEnum):
    """When several staff of a unit hold an item's duty: one of them in turn, or each."""

    ONE = "one"
    ALL = "all"


@dataclass(frozen=True)
class Duty:
    """A function in the organisation that performs checks (营业支局长, 县局检查员 …)."""

    id: str
    name: str
    levels: tuple[Level, ...]
    site_kind: SiteKind | None = None

    def fits(self, level: Level, site_kind: SiteKind | None) -> bool:
        """Whether someone at a unit of this level and kind may hold the duty."""
        if level not in self.levels:
            return False
        return self.site_kind is None or level != Level.SITE or site_kind == self.site_kind


class QuestionType(StrEnum):
    YES_NO = "yes_no"
    INTEGER = "integer"
    CHOICE = "choice"
    TEXT = "text"
    PHOTO = "photo"


class SampleKind(StrEnum):
    MIN_COUNT = "min_count"  # at least `min` checked
    PERCENT = "percent"  # at least ceil(percent% x the day's volume)
    MIN_COUNT_OR_ALL = "min_count_or_all"  # at least `min`, or all when fewer arrived
    SPLIT = "split"  # several parts, each with its own minimum (外埠 / 本埠)
    TRANSFER_POINTS = "transfer_points"  # at least `min` transfer points per check


@dataclass(frozen=True)
class Frequency:
    """How often one unit (or one site, for site-level items) does the item.

    ``times`` per period for weekly … yearly (1 for daily); ``days`` for every_n_days;
    ``by_day`` (monthly only) restricts the month's checks to its first ``by_day`` days,
    for reports due before the 10th.
    """

    kind: FrequencyKind
    times: int = 1
    days: int | None = None
    by_day: int | None = None

    @property
    def span(self) -> Span | None:
        """The calendar period, or None for every_n_days (blocks of working days)."""
        return FREQUENCY_SPAN[self.kind]


@dataclass(frozen=True)
class SamplePart:
    """One part of a split sample, e.g. ≥6 外埠 平常商函; ``label`` is shown to the user."""

    label: str
    min: int
    checked: str
    volume: str | None = None


@dataclass(frozen=True)
class SampleRule:
    """How big the day's sample must be; question ids name the answers it is computed from."""

    kind: SampleKind
    min: int = 0
    percent: int = 0
    volume: str | None = None
    checked: str | None = None
    parts: tuple[SamplePart, ...] = ()

    def question_ids(self) -> tuple[str, ...]:
        ids = [qid for qid in (self.volume, self.checked) if qid is not None]
        for part in self.parts:
            ids.append(part.checked)
            if part.volume is not None:
                ids.append(part.volume)
        return tuple(ids)


@dataclass(frozen=True)
class CoverageQuota:
    """Targets across sites within one period of the item's frequency (county/city/region),
    or transfer-point targets of a site's own checks (site level).

    Site selection: ``urban_percent``/``rural_percent`` of the unit's matching urban/rural
    sites (rounded up), ``min_sites`` distinct sites (only of ``min_sites_area`` when set),
    sites in ``counties_percent`` of the counties that have matching sites, and every
    matching site at least once per ``all_sites_every``.
    Transfer points: ``transfer_points_per_month`` distinct points of the site a month (all of
    them when it has fewer), and all of them each month with ``all_transfer_points_monthly``.
    """

    urban_percent: int | None = None
    rural_percent: int | None = None
    min_sites: int | None = None
    min_sites_area: Area | None = None
    counties_percent: int | None = None
    all_sites_every: Span | None = None
    transfer_points_per_month: int | None = None
    all_transfer_points_monthly: bool = False

    @property
    def selects_sites(self) -> bool:
        return any(
            value is not None
            for value in (
                self.urban_percent,
                self.rural_percent,
                self.min_sites,
                self.counties_percent,
                self.all_sites_every,
            )
        )


@dataclass(frozen=True)
class Condition:
    """Ask a question only when an earlier one was answered with ``equals``."""

    question: str
    equals: AnswerValue


@dataclass(frozen=True)
class FindingRule:
    """Which answer means a problem was found: one of ``equals`` or an integer ≥ ``at_least``."""

    equals: tuple[AnswerValue, ...] = ()
    at_least: int | None = None

    def matches(self, value: AnswerValue) -> bool:
        if value in self.equals:
            return True
        return (
            self.at_least is not None
            and isinstance(value, int)
            and not isinstance(value, bool)
            and value >= self.at_least
        )


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    type: QuestionType
    optional: bool = False
    when: Condition | None = None
    min: int | None = None
    max: int | None = None
    options: tuple[str, ...] = ()
    finding: FindingRule | None = None


@dataclass(frozen=True)
class CatalogItem:
    id: str
    title: str
    clause: str
    quote: str
    level: Level
    site_kind: SiteKind
    area: Area | None  # None: urban and rural sites alike
    frequency: Frequency
    questions: tuple[Question, ...]
    staff: str = ""
    sample: SampleRule | None = None
    coverage: CoverageQuota | None = None
    fix_days: int = DEFAULT_FIX_DAYS
    non_working_days: bool = False
    calendar_days: bool = False
    # None: done by inspectors who list no duties (the organisation files before duties).
    duty: str | None = None
    doers: Doers = Doers.ONE
    # Region items only: done for each city (盟市) with matching sites, the frequency and the
    # coverage quotas counted per city (第十一条 "所有盟市", "每个盟市不少于…").
    per_city: bool = False

    def question(self, question_id: str) -> Question:
        for question in self.questions:
            if question.id == question_id:
                return question
        raise KeyError(question_id)

    def is_asked(self, question: Question, answers: Mapping[str, AnswerValue]) -> bool:
        """Whether ``question`` applies given the answers so far (its ``when`` holds)."""
        if question.when is None:
            return True
        return answers.get(question.when.question) == question.when.equals

    def findings(self, answers: Mapping[str, AnswerValue]) -> tuple[str, ...]:
        """Ids of the answered questions whose answer means a problem was found."""
        found = []
        for question in self.questions:
            value = answers.get(question.id)
            if question.finding is None or value is None:
                continue
            if self.is_asked(question, answers) and question.finding.matches(value):
                found.append(question.id)
        return tuple(found)

    @property
    def counts_calendar_days(self) -> bool:
        """Whether its periods are made of calendar days rather than working days."""
        return self.non_working_days or self.calendar_days

    @property
    def selects_sites(self) -> bool:
        """Whether the planner picks target sites for this item (a site coverage quota)."""
        return self.coverage is not None and self.coverage.selects_sites

    @property
    def uses_transfer_points(self) -> bool:
        return self.sample is not None and self.sample.kind == SampleKind.TRANSFER_POINTS


@dataclass(frozen=True)
class Catalog:
    items: tuple[CatalogItem, ...]
    version: int = CATALOG_VERSION
    duties: tuple[Duty, ...] = ()

    def duty(self, duty_id: str) -> Duty:
        for duty in self.duties:
            if duty.id == duty_id:
                return duty
        raise KeyError(duty_id)

    def __iter__(self) -> Iterator[CatalogItem]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def get(self, item_id: str) -> CatalogItem:
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)


def load_catalog(path: Path | None = None) -> Catalog:
    """Read and validate the catalog (the shipped one by default); raise CatalogError."""
    source = DEFAULT_CATALOG_PATH if path is None else path
    try:
        raw = source.read_bytes()
    except OSError as error:
        raise CatalogError(f"catalog {source}: cannot read: {error}") from error
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise CatalogError(f"catalog {source}: not valid TOML: {error}") from error
    catalog = parse_catalog(data)
    logger.info("loaded %d catalog items from %s", len(catalog), source)
    return catalog


def parse_catalog(data: Mapping[str, Any]) -> Catalog:
    """Validate an already parsed TOML document (used by load_catalog and the tests)."""
    top = _Fields(data, "catalog", "")
    version = top.integer("version", minimum=CATALOG_VERSION, maximum=CATALOG_VERSION)
    raw_items = top.tables("item")
    duties = _parse_duties(top.tables("duty"))
    top.finish()
    if not raw_items:
        raise CatalogError("catalog: field 'item': at least one item is required")
    items: list[CatalogItem] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_items):
        item = _parse_item(raw, index)
        if item.id in seen:
            raise CatalogError(f"catalog item '{item.id}': field 'id': duplicate id")
        seen.add(item.id)
        _check_duty(item, duties)
        items.append(item)
    return Catalog(items=tuple(items), version=version, duties=tuple(duties.values()))


def _parse_duties(raw_duties: list[Mapping[str, Any]]) -> dict[str, Duty]:
    duties: dict[str, Duty] = {}
    names: set[str] = set()
    for index, raw in enumerate(raw_duties):
        raw_id = raw.get("id")
        owner = f"catalog duty '{raw_id}'" if isinstance(raw_id, str) else f"duty #{index + 1}"
        fields = _Fields(raw, owner, "")
        duty_id = fields.text("id")
        if not _ID_PATTERN.match(duty_id):
            raise fields.error("id", "must match [a-z][a-z0-9_]* (a stable slug)")
        if duty_id in duties:
            raise fields.error("id", "duplicate id")
        name = fields.text("name")
        if name in names:
            raise fields.error("name", f"duplicate name '{name}'")
        raw_levels = fields.raw("levels")
        allowed = ", ".join(level.value for level in Level)
        if (
            not isinstance(raw_levels, list)
            or not raw_levels
            or not all(isinstance(value, str) and value in set(Level) for value in raw_levels)
        ):
            raise fields.error("levels", f"must be a non-empty array of {allowed}")
        site_kind = fields.choice("site_kind", SiteKind, required=False)
        fields.finish()
        duties[duty_id] = Duty(duty_id, name, tuple(Level(v) for v in raw_levels), site_kind)
        names.add(name)
    return duties


def _check_duty(item: CatalogItem, duties: Mapping[str, Duty]) -> None:
    if item.duty is None:
        return
    owner = f"catalog item '{item.id}': field 'duty'"
    duty = duties.get(item.duty)
    if duty is None:
        known = ", ".join(duties) or "none defined"
        raise CatalogError(f"{owner}: unknown duty '{item.duty}' (known: {known})")
    if not duty.fits(item.level, item.site_kind):
        raise CatalogError(
            f"{owner}: duty '{duty.id}' is not held at the {item.level.value} level"
            + (f" of {item.site_kind.value} sites" if item.level == Level.SITE else "")
        )


_T = TypeVar("_T", bound=StrEnum)
_MISSING: Final = object()


class _Fields:
    """Typed access to one TOML table that remembers which keys were used, so that
    ``finish`` can reject unknown ones (a misspelt optional key would otherwise be ignored)."""

    def __init__(self, data: Mapping[str, Any], owner: str, path: str) -> None:
        self._data = data
        self._owner = owner
        self._path = path
        self._used: set[str] = set()

    @property
    def path(self) -> str:
        return self._path

    def error(self, key: str, message: str) -> CatalogError:
        field = f"{self._path}.{key}" if self._path else key
        return CatalogError(f"{self._owner}: field '{field}': {message}")

    def _get(self, key: str, required: bool) -> Any:
        self._used.add(key)
        if key not in self._data:
            if required:
                raise self.error(key, "missing")
            return _MISSING
        return self._data[key]

    def text(self, key: str, *, required: bool = True, default: str = "") -> str:
        value = self._get(key, required)
        if value is _MISSING:
            return default
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, not {_type_name(value)}")
        if not value.strip():
            raise self.error(key, "must not be empty")
        return value.strip()

    def optional_text(self, key: str) -> str | None:
        value = self.text(key, required=False)
        return value or None

    def integer(
        self,
        key: str,
        *,
        required: bool = True,
        default: int | None = None,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int:
        value = self.optional_integer(key, minimum=minimum, maximum=maximum)
        if value is None:
            if required or default is None:
                raise self.error(key, "missing")
            return default
        return value

    def optional_integer(
        self, key: str, *, minimum: int | None = None, maximum: int | None = None
    ) -> int | None:
        value = self._get(key, False)
        if value is _MISSING:
            return None
        # bool is an int in Python; `true` where a number belongs is a typo, not 1.
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.error(key, f"must be an integer, not {_type_name(value)}")
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be >= {minimum}")
        if maximum is not None and value > maximum:
            raise self.error(key, f"must be <= {maximum}")
        return value

    def boolean(self, key: str, *, default: bool) -> bool:
        value = self._get(key, False)
        if value is _MISSING:
            return default
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, not {_type_name(value)}")
        return value

    def choice(self, key: str, enum: type[_T], *, required: bool = True) -> _T | None:
        value = self._get(key, required)
        if value is _MISSING:
            return None
        allowed = ", ".join(member.value for member in enum)
        if not isinstance(value, str):
            raise self.error(key, f"must be one of {allowed}, not {_type_name(value)}")
        try:
            return enum(value)
        except ValueError:
            raise self.error(key, f"must be one of {allowed}, not '{value}'") from None

    def table(self, key: str, *, required: bool = False) -> _Fields | None:
        value = self._get(key, required)
        if value is _MISSING:
            return None
        if not isinstance(value, Mapping):
            raise self.error(key, f"must be a table, not {_type_name(value)}")
        path = f"{self._path}.{key}" if self._path else key
        return _Fields(value, self._owner, path)

    def tables(self, key: str) -> list[Mapping[str, Any]]:
        value = self._get(key, False)
        if value is _MISSING:
            return []
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise self.error(key, "must be an array of tables")
        return list(value)

    def raw(self, key: str) -> Any:
        value = self._get(key, False)
        return None if value is _MISSING else value

    def finish(self) -> None:
        unknown = sorted(set(self._data) - self._used)
        if unknown:
            raise self.error(unknown[0], "unknown key")

    def nested(self, value: Mapping[str, Any], path: str) -> _Fields:
        return _Fields(value, self._owner, path)


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "a table"
    return type(value).__name__


def _parse_item(raw: Mapping[str, Any], index: int) -> CatalogItem:
    raw_id = raw.get("id")
    owner = (
        f"catalog item '{raw_id}'"
        if isinstance(raw_id, str) and raw_id
        else f"catalog item #{index + 1}"
    )
    fields = _Fields(raw, owner, "")
    item_id = fields.text("id")
    if not _ID_PATTERN.match(item_id):
        raise fields.error("id", "must match [a-z][a-z0-9_]* (a stable slug)")
    title = fields.text("title")
    clause = fields.text("clause")
    quote = fields.text("quote")
    staff = fields.text("staff", required=False)
    level = fields.choice("level", Level)
    site_kind = fields.choice("site_kind", SiteKind)
    assert level is not None and site_kind is not None  # required=True above
    area_text = fields.text("area", required=False, default="any")
    if area_text not in ("urban", "rural", "any"):
        raise fields.error("area", f"must be one of urban, rural, any, not '{area_text}'")
    area = None if area_text == "any" else Area(area_text)
    fix_days = fields.integer(
        "fix_days", required=False, default=DEFAULT_FIX_DAYS, minimum=1, maximum=_MAX_FIX_DAYS
    )
    non_working_days = fields.boolean("non_working_days", default=False)
    calendar_days = fields.boolean("calendar_days", default=False)
    if calendar_days and (level is not Level.SITE or non_working_days):
        raise fields.error("calendar_days", "only for site items without non_working_days")
    duty = fields.optional_text("duty")
    doers = fields.choice("doers", Doers, required=False) or Doers.ONE
    per_city = fields.boolean("per_city", default=False)
    if per_city and level is not Level.REGION:
        raise fields.error("per_city", "only for region items")

    frequency_fields = fields.table("frequency", required=True)
    assert frequency_fields is not None
    frequency = _parse_frequency(frequency_fields)
    if per_city and frequency.span in (None, Span.DAY):
        raise fields.error("per_city", "needs a weekly or longer calendar frequency")

    raw_questions = fields.tables("questions")
    if not raw_questions:
        raise fields.error("questions", "at least one question is required")
    questions = _parse_questions(fields, raw_questions)

    sample_fields = fields.table("sample")
    sample = None if sample_fields is None else _parse_sample(sample_fields, questions)
    coverage_fields = fields.table("coverage")
    coverage = None if coverage_fields is None else _parse_coverage(coverage_fields)
    fields.finish()

    _check_item_consistency(fields, level, site_kind, frequency, sample, coverage)
    return CatalogItem(
        id=item_id,
        title=title,
        clause=clause,
        quote=quote,
        level=level,
        site_kind=site_kind,
        area=area,
        frequency=frequency,
        questions=questions,
        staff=staff,
        sample=sample,
        coverage=coverage,
        fix_days=fix_days,
        non_working_days=non_working_days,
        calendar_days=calendar_days,
        duty=duty,
        doers=doers,
        per_city=per_city,
    )


def _parse_frequency(fields: _Fields) -> Frequency:
    kind = fields.choice("kind", FrequencyKind)
    assert kind is not None
    times = fields.optional_integer("times", minimum=1, maximum=_MAX_TIMES)
    days = fields.optional_integer("days", minimum=1, maximum=_MAX_EVERY_N_DAYS)
    by_day = fields.optional_integer("by_day", minimum=1, maximum=28)
    fields.finish()
    if kind == FrequencyKind.EVERY_N_DAYS:
        if days is None:
            raise fields.error("days", "missing (required for every_n_days)")
        if times is not None:
            raise fields.error("times", "not allowed for every_n_days (once per block)")
    elif days is not None:
        raise fields.error("days", "only allowed for every_n_days")
    if kind == FrequencyKind.DAILY and times not in (None, 1):
        raise fields.error("times", "must be 1 for daily")
    if by_day is not None and kind != FrequencyKind.MONTHLY:
        raise fields.error("by_day", "only allowed for monthly")
    return Frequency(kind=kind, times=times or 1, days=days, by_day=by_day)


def _parse_questions(
    item_fields: _Fields, raw_questions: list[Mapping[str, Any]]
) -> tuple[Question, ...]:
    questions: list[Question] = []
    by_id: dict[str, Question] = {}
    for index, raw in enumerate(raw_questions):
        fields = item_fields.nested(raw, f"questions[{index}]")
        question_id = fields.text("id")
        if not _ID_PATTERN.match(question_id):
            raise fields.error("id", "must match [a-z][a-z0-9_]*")
        if question_id in by_id:
            raise fields.error("id", f"duplicate question id '{question_id}'")
        text = fields.text("text")
        qtype = fields.choice("type", QuestionType)
        assert qtype is not None
        optional = fields.boolean("optional", default=False)
        minimum = fields.optional_integer("min")
        maximum = fields.optional_integer("max")
        raw_options = fields.raw("options")
        when_fields = fields.table("when")
        finding_fields = fields.table("finding")
        fields.finish()

        if qtype == QuestionType.INTEGER:
            if minimum is None or maximum is None:
                raise fields.error("min" if minimum is None else "max", "missing for integer")
            if minimum > maximum:
                raise fields.error("max", f"must be >= min ({minimum})")
        elif minimum is not None or maximum is not None:
            raise fields.error("min" if minimum is not None else "max", "only for integer")
        options: tuple[str, ...] = ()
        if qtype == QuestionType.CHOICE:
            if (
                not isinstance(raw_options, list)
                or not raw_options
                or not all(isinstance(o, str) and o.strip() for o in raw_options)
            ):
                raise fields.error("options", "must be a non-empty array of non-empty strings")
            options = tuple(o.strip() for o in raw_options)
            if len(set(options)) != len(options):
                raise fields.error("options", "duplicate option")
        elif raw_options is not None:
            raise fields.error("options", "only for choice")

        draft = Question(
            id=question_id,
            text=text,
            type=qtype,
            optional=optional,
            min=minimum,
            max=maximum,
            options=options,
        )
        when = None
        if when_fields is not None:
            when = _parse_condition(when_fields, by_id, question_id)
        finding = None
        if finding_fields is not None:
            finding = _parse_finding(finding_fields, draft)
        question = Question(
            id=question_id,
            text=text,
            type=qtype,
            optional=optional,
            when=when,
            min=minimum,
            max=maximum,
            options=options,
            finding=finding,
        )
        questions.append(question)
        by_id[question_id] = question
    return tuple(questions)


def _check_answer_value(fields: _Fields, key: str, question: Question, value: Any) -> None:
    """A value a `when` or `finding` compares with must be an answer the question can get."""
    if question.type == QuestionType.YES_NO:
        if value not in _YES_NO:
            raise fields.error(key, f"must be 'yes' or 'no' for yes_no question '{question.id}'")
    elif question.type == QuestionType.CHOICE:
        if value not in question.options:
            raise fields.error(key, f"'{value}' is not an option of question '{question.id}'")
    elif question.type == QuestionType.INTEGER:
        if not isinstance(value, int) or isinstance(value, bool):
            raise fields.error(key, f"must be an integer for question '{question.id}'")
    else:
        raise fields.error(key, f"cannot compare with {question.type} question '{question.id}'")


def _parse_condition(fields: _Fields, earlier: Mapping[str, Question], own_id: str) -> Condition:
    target = fields.text("question")
    value = fields.raw("equals")
    fields.finish()
    if target == own_id:
        raise fields.error("question", "a question cannot depend on itself")
    if target not in earlier:
        raise fields.error("question", f"'{target}' is not an earlier question of this item")
    if value is None:
        raise fields.error("equals", "missing")
    _check_answer_value(fields, "equals", earlier[target], value)
    return Condition(question=target, equals=value)


def _parse_finding(fields: _Fields, question: Question) -> FindingRule:
    raw_equals = fields.raw("equals")
    at_least = fields.optional_integer("at_least")
    fields.finish()
    if raw_equals is None and at_least is None:
        raise fields.error("equals", "missing (give equals or at_least)")
    equals: tuple[AnswerValue, ...] = ()
    if raw_equals is not None:
        if not isinstance(raw_equals, list) or not raw_equals:
            raise fields.error("equals", "must be a non-empty array")
        for value in raw_equals:
            _check_answer_value(fields, "equals", question, value)
        equals = tuple(raw_equals)
    if at_least is not None and question.type != QuestionType.INTEGER:
        raise fields.error("at_least", "only for integer questions")
    return FindingRule(equals=equals, at_least=at_least)


def _count_question(fields: _Fields, key: str, questions: tuple[Question, ...]) -> str:
    """A sample rule's count must come from a plain integer question that is always asked."""
    question_id = fields.text(key)
    for question in questions:
        if question.id == question_id:
            if question.type != QuestionType.INTEGER:
                raise fields.error(key, f"question '{question_id}' must be an integer question")
            if question.optional or question.when is not None:
                raise fields.error(
                    key, f"question '{question_id}' must be always asked (not optional, no when)"
                )
            return question_id
    raise fields.error(key, f"unknown question '{question_id}'")


def _parse_sample(fields: _Fields, questions: tuple[Question, ...]) -> SampleRule:
    kind = fields.choice("kind", SampleKind)
    assert kind is not None
    if kind == SampleKind.SPLIT:
        raw_parts = fields.tables("parts")
        if not raw_parts:
            raise fields.error("parts", "at least one part is required for split")
        parts = []
        for index, raw in enumerate(raw_parts):
            part_fields = fields.nested(raw, f"{fields.path}.parts[{index}]")
            label = part_fields.text("label")
            minimum = part_fields.integer("min", minimum=1, maximum=_MAX_SAMPLE)
            checked = _count_question(part_fields, "checked", questions)
            volume = None
            if part_fields.raw("volume") is not None:
                volume = _count_question(part_fields, "volume", questions)
            part_fields.finish()
            parts.append(SamplePart(label=label, min=minimum, checked=checked, volume=volume))
        fields.finish()
        return SampleRule(kind=kind, parts=tuple(parts))

    minimum = 0
    percent = 0
    volume = None
    if kind == SampleKind.PERCENT:
        percent = fields.integer("percent", minimum=1, maximum=100)
        volume = _count_question(fields, "volume", questions)
    else:
        minimum = fields.integer("min", minimum=1, maximum=_MAX_SAMPLE)
        if kind == SampleKind.MIN_COUNT_OR_ALL or fields.raw("volume") is not None:
            volume = _count_question(fields, "volume", questions)
    checked = _count_question(fields, "checked", questions)
    if checked == volume:
        raise fields.error("checked", "must differ from volume")
    fields.finish()
    return SampleRule(kind=kind, min=minimum, percent=percent, volume=volume, checked=checked)


def _parse_coverage(fields: _Fields) -> CoverageQuota:
    urban = fields.optional_integer("urban_percent", minimum=1, maximum=100)
    rural = fields.optional_integer("rural_percent", minimum=1, maximum=100)
    min_sites = fields.optional_integer("min_sites", minimum=1, maximum=_MAX_SAMPLE)
    min_area = fields.choice("min_sites_area", Area, required=False)
    counties = fields.optional_integer("counties_percent", minimum=1, maximum=100)
    all_sites_every = fields.choice("all_sites_every", Span, required=False)
    per_month = fields.optional_integer("transfer_points_per_month", minimum=1, maximum=_MAX_SAMPLE)
    all_points = fields.boolean("all_transfer_points_monthly", default=False)
    fields.finish()
    if min_area is not None and min_sites is None:
        raise fields.error("min_sites_area", "needs min_sites")
    if all_sites_every in (Span.DAY, Span.WEEK):
        raise fields.error("all_sites_every", "must be month, quarter, half_year or year")
    coverage = CoverageQuota(
        urban_percent=urban,
        rural_percent=rural,
        min_sites=min_sites,
        min_sites_area=min_area,
        counties_percent=counties,
        all_sites_every=all_sites_every,
        transfer_points_per_month=per_month,
        all_transfer_points_monthly=all_points,
    )
    if not coverage.selects_sites and per_month is None and not all_points:
        raise fields.error("urban_percent", "coverage sets no quota")
    return coverage


def _check_item_consistency(
    fields: _Fields,
    level: Level,
    site_kind: SiteKind,
    frequency: Frequency,
    sample: SampleRule | None,
    coverage: CoverageQuota | None,
) -> None:
    """Rules that tie fields together; each names the field the admin has to change."""
    if sample is not None and sample.kind == SampleKind.TRANSFER_POINTS:
        if site_kind != SiteKind.DELIVERY:
            raise fields.error("sample.kind", "transfer_points needs site_kind = delivery")
        if level != Level.SITE and (coverage is None or not coverage.selects_sites):
            raise fields.error(
                "sample.kind", "transfer_points above site level needs a site coverage quota"
            )
    if coverage is None:
        return
    points_quota = coverage.transfer_points_per_month is not None
    if (points_quota or coverage.all_transfer_points_monthly) and (
        sample is None or sample.kind != SampleKind.TRANSFER_POINTS
    ):
        raise fields.error("coverage.transfer_points_per_month", "needs a transfer_points sample")
    if points_quota or coverage.all_transfer_points_monthly:
        span = frequency.span
        if level != Level.SITE:
            raise fields.error("coverage.transfer_points_per_month", "only for site-level items")
        if span is not None and not span_contains(Span.MONTH, span) and span != Span.WEEK:
            raise fields.error(
                "frequency.kind", "a monthly transfer-point quota needs checks at least monthly"
            )
    if coverage.selects_sites:
        if level == Level.SITE:
            raise fields.error("coverage", "site quotas are for county, city or region items")
        span = frequency.span
        if span is None or span in (Span.DAY, Span.WEEK):
            raise fields.error(
                "frequency.kind", "a site coverage quota needs a monthly or longer frequency"
            )
        if frequency.times != 1:
            raise fields.error(
                "frequency.times", "must be 1 with a coverage quota (the quota sets the count)"
            )
        if coverage.all_sites_every is not None and not span_contains(
            coverage.all_sites_every, span
        ):
            raise fields.error(
                "coverage.all_sites_every", f"must be at least the frequency's period ({span})"
            )
        if coverage.counties_percent is not None and level not in (Level.CITY, Level.REGION):
            raise fields.error("coverage.counties_percent", "only for city or region items")
