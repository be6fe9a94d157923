"""Structured logs: one line per event, with the update, the Telegram user, the staff member
and their unit whenever the event happens while an update is handled.

The context lives in a ContextVar set around each update (``LoggedApplication``) and filled
in by the access gate once it knows who wrote; tasks started meanwhile inherit it. Two line
formats: ``text`` (key=value, for people and grep) and ``json`` (one object per line, for
log collectors).
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from telegram import Update
from telegram.ext import Application

logger = logging.getLogger(__name__)

LogFormat = Literal["text", "json"]
FIELDS = ("update", "user", "staff", "unit")


@dataclass
class EventContext:
    update: int | None = None
    user: int | None = None
    staff: str | None = None
    unit: int | None = None


_current: ContextVar[EventContext | None] = ContextVar("log_event", default=None)


@contextmanager
def update_context(update: object) -> Iterator[EventContext]:
    """Everything logged inside (and in tasks started inside) carries this update."""
    context = EventContext()
    if isinstance(update, Update):
        context.update = update.update_id
        if update.effective_user is not None:
            context.user = update.effective_user.id
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def bind_staff(code: str, unit_id: int) -> None:
    """Called once the sender is known to be a registered staff member."""
    context = _current.get()
    if context is not None:
        context.staff, context.unit = code, unit_id


class LoggedApplication(Application):  # type: ignore[type-arg]
    """PTB's Application with each update's processing wrapped in its log context."""

    async def process_update(self, update: object) -> None:
        started = time.perf_counter()
        with update_context(update):
            await super().process_update(update)
            if isinstance(update, Update):
                logger.info(
                    "handled %s in %.0f ms", _kind(update), (time.perf_counter() - started) * 1000
                )


def _kind(update: Update) -> str:
    if update.callback_query is not None:
        return "button"
    message = update.effective_message
    if message is not None and message.text and message.text.startswith("/"):
        return "command " + message.text.split()[0].split("@")[0]
    if message is not None and message.photo:
        return "photo"
    return "message" if message is not None else "update"


class ContextFilter(logging.Filter):
    """Puts the current update's fields on every record (None outside an update)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _current.get()
        for name in FIELDS:
            setattr(record, name, getattr(context, name) if context else None)
        return True


# --- secrets never reach a log line -------------------------------------------------------

REDACTED = "<redacted>"
_secrets: set[str] = set()
_install_lock = threading.Lock()
_installed = False


def hide_secrets(*secrets: str | None) -> None:
    """From now on no log record of any logger, at any level, carries these strings: the
    bot token (and its secret part, which is what makes it a credential) and the webhook
    secret. PTB logs the token in URLs at DEBUG ("Set Bot API URL: …/bot<token>"), httpx in
    every request line, and error texts may quote a URL; so the redaction happens where
    every record is made (the record factory), before any handler or filter sees it."""
    global _installed
    for secret in secrets:
        if not secret:
            continue
        _secrets.add(secret)
        _, _, secret_part = secret.partition(":")
        if len(secret_part) >= 8:
            _secrets.add(secret_part)
    with _install_lock:
        if _installed:
            return
        make_record = logging.getLogRecordFactory()

        def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            return _redacted(make_record(*args, **kwargs))

        logging.setLogRecordFactory(redacting_factory)
        _installed = True


def redact(text: str) -> str:
    # The longest first: the whole token before the secret part inside it.
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def _redacted(record: logging.LogRecord) -> logging.LogRecord:
    if not _secrets:
        return record
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: the handler reports it as usual
        return record
    if (clean := redact(message)) != message:
        record.msg, record.args = clean, None
    if record.exc_info and record.exc_info[0] is not None:
        # Formatted here, once: formatters reuse exc_text instead of formatting the traceback
        # (whose messages may quote a URL with the token) again.
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


def _fields(record: logging.LogRecord, formatter: logging.Formatter) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname,
        "logger": record.name,
    }
    for name in FIELDS:
        value = getattr(record, name, None)
        if value is not None:
            fields[name] = value
    fields["msg"] = record.getMessage()
    if record.exc_info:
        fields["exc"] = record.exc_text or formatter.formatException(record.exc_info)
    return fields


def _quoted(value: Any) -> str:
    text = str(value)
    if text and not any(c in text for c in ' "=\n\r\t\\'):
        return text
    return json.dumps(text, ensure_ascii=False)


class KeyValueFormatter(logging.Formatter):
    """ts=… level=INFO logger=bot.logs update=12 user=7001 staff=I003 unit=7 msg="…" """

    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{k}={_quoted(v)}" for k, v in _fields(record, self).items())


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_fields(record, self), ensure_ascii=False, default=str)


def configure_logging(fmt: LogFormat = "text", level: str | int = logging.INFO) -> None:
    """Log to stderr, one line per event; quiet the libraries that log every long poll.
    Like logging.basicConfig, leaves a root logger that already has handlers alone (pytest)."""
    for noisy in ("httpx", "jieba", "alembic.runtime.migration", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else KeyValueFormatter())
    root.addHandler(handler)
    root.setLevel(level)
