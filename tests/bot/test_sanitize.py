"""Incoming updates cleaned of control characters before any handler sees them."""

from __future__ import annotations

from typing import Any

import pytest
from telegram import Update

from bot.app.sanitize import clean_text, clean_update_data


def message_data(text: str, **extra: Any) -> dict[str, Any]:
    """An update as Telegram sends it (its JSON, parsed)."""
    message = {
        "message_id": 1,
        "date": 1_700_000_000,
        "chat": {"id": 7001, "type": "private", "first_name": "陈明"},
        "from": {"id": 7001, "is_bot": False, "first_name": "陈明"},
        "text": text,
        **extra,
    }
    return {"update_id": 42, "message": message}


def cleaned_update(data: dict[str, Any]) -> Update:
    """What a worker hands the handlers."""
    return Update.de_json(clean_update_data(data), None)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("东2段\x00积压", "东2段 积压"),
        ("\x07\x1b[31m红\x7f\x85", "  [31m红  "),
        ("行一\n行二\r\n\t缩进", "行一\n行二\r\n\t缩进"),  # line breaks and tabs stay
        ("\ud800孤", " 孤"),  # a lone surrogate cannot be encoded for the database
        # zero-width, right-to-left and emoji sequences are text
        ("a\u200bb\u202ec\u200f👨\u200d👩\u200d👧", "a\u200bb\u202ec\u200f👨\u200d👩\u200d👧"),
    ],
)
def test_control_characters_become_spaces(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


def test_a_clean_update_is_handed_on_as_it_is() -> None:
    data = message_data("东2段信件积压三天了 👍")
    assert clean_update_data(data) == data


def test_a_dirty_command_keeps_its_entity_and_arguments() -> None:
    data = message_data(
        "/stats\x002026-10\x00",
        entities=[{"type": "bot_command", "offset": 0, "length": 6}],
    )
    cleaned = cleaned_update(data)
    assert cleaned.message is not None
    assert cleaned.message.text == "/stats 2026-10 "
    assert cleaned.message.parse_entity(cleaned.message.entities[0]) == "/stats"
    assert cleaned.update_id == 42 and cleaned.message.from_user is not None


def test_callback_data_is_cleaned_too() -> None:
    cleaned = cleaned_update(
        {
            "update_id": 43,
            "callback_query": {
                "id": "9",
                "from": {"id": 7001, "is_bot": False, "first_name": "陈明"},
                "chat_instance": "1",
                "data": "cok:1\x00",
            },
        }
    )
    assert cleaned.callback_query is not None and cleaned.callback_query.data == "cok:1 "
