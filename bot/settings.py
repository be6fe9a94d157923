"""One validated settings object built from config.toml and the environment (STYLE 5)."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.views import texts
from nlp.cache_dir import default_cache_dir
from nlp.categories import Category
from scheduler.monthly_report import Element
from scheduler.org import Department, OperatingDays, SiteKind, parse_open_days

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent.parent / "config.toml"
TOKEN_ENV = "TELEGRAM_BOT_TOKEN"
WEBHOOK_SECRET_ENV = "TELEGRAM_WEBHOOK_SECRET"
DATABASE_URL_ENV = "DATABASE_URL"
# What Telegram accepts as a webhook secret_token (1-256 of these characters), and at least
# 32 of them: short enough to guess is no secret (`python -m bot secret` prints one).
MIN_SECRET_LENGTH = 32
_SECRET_TOKEN = re.compile(rf"[A-Za-z0-9_-]{{{MIN_SECRET_LENGTH},256}}")
# The URLs PostgreSQL tools and hosts give, and SQLAlchemy's own, mapped to the async drivers.
_ASYNC_DRIVERS = {
    "postgresql://": "postgresql+psycopg://",
    "postgres://": "postgresql+psycopg://",
    "postgresql+psycopg2://": "postgresql+psycopg://",
    "sqlite://": "sqlite+aiosqlite://",
}


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key, in Chinese and English."""


def _parse_clock_time(value: object) -> time:
    if isinstance(value, time):
        return value
    hours, _, minutes = str(value).partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError("expected HH:MM, e.g. 08:30")
    if int(hours) > 23 or int(minutes) > 59:
        raise ValueError("not a time of day")
    return time(int(hours), int(minutes))


ClockTime = Annotated[time, BeforeValidator(_parse_clock_time)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BotSection(_Section):
    username: str = Field(min_length=5, pattern=r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
    api_base_url: str = ""
    token: SecretStr | None = None
    # polling: the bot asks Telegram for updates; webhook: Telegram posts them to webhook_url
    # (behind a reverse proxy that forwards to webhook_listen:webhook_port); worker: receives
    # nothing, handles what another instance (polling) stores (PostgreSQL).
    mode: Literal["polling", "webhook", "worker"] = "polling"
    webhook_url: str = Field(default="", validate_default=True)
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    # Only from the environment (WEBHOOK_SECRET_ENV), validated with mode.
    webhook_secret: SecretStr | None = Field(default=None, validate_default=True)

    @field_validator("api_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("mode") == "webhook" and not value:
            raise ValueError('required when mode = "webhook"')
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (or http:// behind a test proxy)")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if info.data.get("mode") == "webhook" and value is None:
            raise ValueError(f'required when mode = "webhook": set {WEBHOOK_SECRET_ENV}')
        if value is not None and not _SECRET_TOKEN.fullmatch(value.get_secret_value()):
            raise ValueError(
                f"{WEBHOOK_SECRET_ENV}: {MIN_SECRET_LENGTH}-256 characters A-Z, a-z, 0-9, _ "
                "and - (python -m bot secret prints a fresh one)"
            )
        return value

    @property
    def secret(self) -> str | None:
        return self.webhook_secret.get_secret_value() if self.webhook_secret else None

    @property
    def api_file_url(self) -> str:
        """Telegram serves files under /file/bot<token> next to /bot<token>."""
        base, _, _ = self.api_base_url.rpartition("/bot")
        return f"{base}/file/bot" if self.api_base_url else ""


class DatabaseSection(_Section):
    url: str = Field(min_length=1)

    @field_validator("url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        value = with_async_driver(value)
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+psycopg://")):
            raise ValueError(
                "must start with postgresql://, postgres://, sqlite:/// "
                "(or sqlite+aiosqlite://, postgresql+psycopg://)"
            )
        return value


class TimeSection(_Section):
    timezone: str
    morning_push: ClockTime
    afternoon_reminder: ClockTime
    end_of_day: ClockTime

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("unknown time zone") from exc
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.morning_push < self.afternoon_reminder < self.end_of_day:
            raise ValueError("morning_push < afternoon_reminder < end_of_day is required")
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class RegistrationSection(_Section):
    invite_valid_days: int = Field(ge=1, le=365)


class CalendarSection(_Section):
    work_start: ClockTime
    work_end: ClockTime
    admin_dir: Path
    extra_holidays: tuple[date, ...] = ()
    extra_workdays: tuple[date, ...] = ()

    @property
    def day_hours(self) -> float:
        """Length of a working day in hours (9.0 for 08:30–17:30)."""
        start = self.work_start.hour * 60 + self.work_start.minute
        return (self.work_end.hour * 60 + self.work_end.minute - start) / 60

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.work_start < self.work_end:
            raise ValueError("work_start < work_end is required")
        if set(self.extra_holidays) & set(self.extra_workdays):
            raise ValueError("a date cannot be both an extra holiday and an extra workday")
        return self


class ComplaintsSection(_Section):
    answer_within_working_days: int = Field(ge=1, le=30)
    answer_within_by_category: dict[Category, Annotated[int, Field(ge=1, le=30)]] = {}

    def answer_within(self, category: Category) -> int:
        return self.answer_within_by_category.get(category, self.answer_within_working_days)


class LogSection(_Section):
    # text: key=value lines; json: one JSON object per line (for a log collector).
    format: Literal["text", "json"] = "text"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class RateLimitsSection(_Section):
    """How the bot paces what it sends (bot/ratelimit.py). Telegram publishes no exact
    figures: about one message a second in a chat (short bursts tolerated) and about 30 a
    second overall; each burst here stays one below what Telegram is taken to tolerate. The
    overall figures are the bot's: several instances on PostgreSQL share them (bot/budget.py)."""

    overall_per_second: float = Field(default=29.0, gt=0, le=1000)
    overall_burst: int = Field(default=10, ge=1, le=1000)
    chat_per_second: float = Field(default=1.0, gt=0, le=1000)
    chat_burst: int = Field(default=2, ge=1, le=1000)


class RetentionSection(_Section):
    # Complaint texts, customers' phones, labelled examples and message texts are
    # anonymised once this old (postal rules keep complaint files three years).
    personal_data_years: int = Field(default=3, ge=1, le=30)


class ChecksSection(_Section):
    # None: the catalog shipped with the bot (scheduler/data/catalog.toml).
    catalog: Path | None = None
    # The day the bot took over the checks: nothing is required before it.
    go_live: date | None = None
    # Sites' operating days unless the organisation file says otherwise (open_days,
    # open_on_holidays): weekdays as "1-6", "1-5,7", "每天" …; daily checks follow them.
    counter_open_days: str = "1-5"
    counter_open_on_holidays: bool = False
    delivery_open_days: str = "1-5"
    delivery_open_on_holidays: bool = False

    @field_validator("counter_open_days", "delivery_open_days")
    @classmethod
    def _readable_days(cls, value: str) -> str:
        if parse_open_days(value) is None:
            raise ValueError(f"not a set of weekdays (e.g. 1-6): {value!r}")
        return value

    def opening(self) -> dict[SiteKind, OperatingDays]:
        """The default operating days of counters and delivery stations."""
        days = {
            SiteKind.COUNTER: (self.counter_open_days, self.counter_open_on_holidays),
            SiteKind.DELIVERY: (self.delivery_open_days, self.delivery_open_on_holidays),
        }
        opening: dict[SiteKind, OperatingDays] = {}
        for kind, (text, holidays) in days.items():
            weekdays = parse_open_days(text)
            assert weekdays is not None  # validated above
            opening[kind] = OperatingDays(weekdays, holidays)
        return opening


class BulletinSection(_Section):
    """Weights of the eight elements (第五篇) in the monthly 通报's score: 100 minus each
    element's issues times its weight, plus the highlights times theirs."""

    attitude: float = Field(default=3, ge=0, le=100)
    skill: float = Field(default=2, ge=0, le=100)
    responsibility: float = Field(default=3, ge=0, le=100)
    hardware: float = Field(default=1, ge=0, le=100)
    management: float = Field(default=2, ge=0, le=100)
    highlight: float = Field(default=2, ge=0, le=100)
    complaint: float = Field(default=1, ge=0, le=100)
    error: float = Field(default=3, ge=0, le=100)

    def weights(self) -> dict[Element, float]:
        return {element: float(getattr(self, element.value)) for element in Element}


class UpdatesSection(_Section):
    # Chats whose updates are handled at the same time (one chat's always one by one, in
    # order); PostgreSQL only, SQLite handles one update at a time.
    concurrent_chats: int = Field(default=8, ge=1, le=64)
    # How long handled updates stay in the inbox (a redelivered one is recognised meanwhile).
    retention_days: int = Field(default=3, ge=1, le=6)


class NlpSection(_Section):
    # jieba's parsed dictionary and the trained model, kept between start-ups (nlp/
    # cache_dir.py); not the temp dir, which a host with PrivateTmp empties at each start.
    cache_dir: Path = Field(default_factory=default_cache_dir)


class Settings(_Section):
    bot: BotSection
    database: DatabaseSection
    time: TimeSection
    registration: RegistrationSection
    calendar: CalendarSection
    checks: ChecksSection = ChecksSection()
    bulletin: BulletinSection = BulletinSection()
    log: LogSection = LogSection()
    rate_limits: RateLimitsSection = RateLimitsSection()
    retention: RetentionSection = RetentionSection()
    updates: UpdatesSection = UpdatesSection()
    nlp: NlpSection = NlpSection()
    complaints: ComplaintsSection
    routing: dict[Category, Department]

    @field_validator("routing")
    @classmethod
    def _every_category_routed(
        cls, value: dict[Category, Department]
    ) -> dict[Category, Department]:
        missing = [c.value for c in Category if c not in value]
        if missing:
            raise ValueError(f"no department for categories: {', '.join(missing)}")
        return value

    @property
    def token(self) -> str | None:
        return self.bot.token.get_secret_value() if self.bot.token else None


def with_async_driver(url: str) -> str:
    """postgresql://… and sqlite:///… as the bot's async drivers spell them."""
    for plain, driver in _ASYNC_DRIVERS.items():
        if url.startswith(plain):
            return driver + url.removeprefix(plain)
    return url


def _resolve_sqlite_path(url: str, base_dir: Path) -> str:
    """A relative SQLite path means relative to the config file, not to the current directory."""
    prefix = "sqlite+aiosqlite:///"
    if not url.startswith(prefix) or url.startswith(prefix + "/") or ":memory:" in url:
        return url
    return prefix + str(base_dir / url.removeprefix(prefix))


def load_settings(
    path: Path = DEFAULT_CONFIG_PATH, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read and validate the configuration; raise ConfigError naming the first bad key."""
    env = os.environ if environ is None else environ
    try:
        raw: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(texts.config_file_missing(str(path))) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(texts.config_file_unreadable(str(path), str(exc))) from exc
    bot_section = dict(raw.get("bot", {}))
    if "token" in bot_section:
        raise ConfigError(texts.config_token_in_file(TOKEN_ENV))
    if "webhook_secret" in bot_section:
        raise ConfigError(texts.config_secret_in_file("bot.webhook_secret", WEBHOOK_SECRET_ENV))
    if env.get(TOKEN_ENV):
        bot_section["token"] = env[TOKEN_ENV]
    if env.get(WEBHOOK_SECRET_ENV):
        bot_section["webhook_secret"] = env[WEBHOOK_SECRET_ENV]
    database = dict(raw.get("database", {}))
    if env.get(DATABASE_URL_ENV):
        database["url"] = env[DATABASE_URL_ENV]
    if isinstance(database.get("url"), str):
        database["url"] = _resolve_sqlite_path(with_async_driver(database["url"]), path.parent)
    calendar = dict(raw.get("calendar", {}))
    if isinstance(calendar.get("admin_dir"), str):
        calendar["admin_dir"] = path.parent / calendar["admin_dir"]
    checks = dict(raw.get("checks", {}))
    if isinstance(checks.get("catalog"), str):
        checks["catalog"] = path.parent / checks["catalog"]
    nlp = dict(raw.get("nlp", {}))
    if isinstance(nlp.get("cache_dir"), str):
        nlp["cache_dir"] = path.parent / Path(nlp["cache_dir"]).expanduser()
    try:
        return Settings.model_validate(
            {
                **raw,
                "bot": bot_section,
                "database": database,
                "calendar": calendar,
                "checks": checks,
                "nlp": nlp,
            }
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"]) or "(root)"
        from_env = _FROM_ENVIRONMENT.get(key)
        if from_env is not None and env.get(from_env):
            raise ConfigError(texts.environment_bad_value(from_env, error["msg"])) from exc
        raise ConfigError(texts.config_bad_value(str(path), key, error["msg"])) from exc


# Keys whose value may come from the environment: an error there names the variable.
_FROM_ENVIRONMENT = {
    "database.url": DATABASE_URL_ENV,
    "bot.token": TOKEN_ENV,
    "bot.webhook_secret": WEBHOOK_SECRET_ENV,
}
