"""Structured log lines: update, user, staff and unit on every line logged while an update
is handled; key=value and JSON formats; nothing leaks to the next update."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from telegram import Update

from bot.logs import (
    ContextFilter,
    JsonFormatter,
    KeyValueFormatter,
    bind_staff,
    update_context,
)

UPDATE = {
    "update_id": 4242,
    "message": {
        "message_id": 1,
        "date": 1_700_000_000,
        "chat": {"id": 7001, "type": "private", "first_name": "陈明"},
        "from": {"id": 7001, "is_bot": False, "first_name": "陈明"},
        "text": "二百",
    },
}


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO, logging.Handler]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    logger = logging.getLogger("tests.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream, handler
    logger.removeHandler(handler)


def test_key_value_lines_carry_the_update_and_who(
    captured: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, stream, handler = captured
    handler.setFormatter(KeyValueFormatter())
    update = Update.de_json(UPDATE, None)
    with update_context(update):
        bind_staff("I003", 7)
        logger.info("answer refused: %s", "not a number")
    logger.info("tick")
    first, second = stream.getvalue().splitlines()
    assert "level=INFO logger=tests.logs update=4242 user=7001 staff=I003 unit=7" in first
    assert first.endswith('msg="answer refused: not a number"')
    assert "update=" not in second and second.endswith("msg=tick")


def test_json_lines_and_exceptions_stay_on_one_line(
    captured: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, stream, handler = captured
    handler.setFormatter(JsonFormatter())
    with update_context(Update.de_json(UPDATE, None)):
        try:
            raise ValueError("坏了\n第二行")
        except ValueError:
            logger.exception("failed")
    (line,) = stream.getvalue().splitlines()
    record = json.loads(line)
    assert record["update"] == 4242 and record["user"] == 7001 and "staff" not in record
    assert record["msg"] == "failed" and "ValueError: 坏了" in record["exc"]
