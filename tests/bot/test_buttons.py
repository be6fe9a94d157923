"""Callback data is parsed strictly: anything malformed, forged or out of range is None."""

from __future__ import annotations

import pytest

from bot.views.buttons import MAX_RECORD_ID, Action, CallbackData, decode, encode, question_index


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "cok",
        "cok:",
        "zzz:1",
        "cok:-1",
        "cok:1.5",
        "cok:²",  # a digit to str.isdigit, not to int()
        "cok:١٢",  # Arabic-Indic digits
        f"cok:{MAX_RECORD_ID + 1}",  # beyond a PostgreSQL integer
        "cok:" + "9" * 5000,
        "COK:1",
        " cok:1",
    ],
)
def test_malformed_data_is_refused(data: str | None) -> None:
    assert decode(data) is None


def test_round_trip() -> None:
    assert decode(encode(Action.SET_CATEGORY, 12, "delay")) == CallbackData(
        Action.SET_CATEGORY, 12, "delay"
    )
    assert decode(f"cok:{MAX_RECORD_ID}") == CallbackData(Action.CONFIRM, MAX_RECORD_ID)


@pytest.mark.parametrize(
    ("value", "index"),
    [("0-yes", 0), ("3-2", 3), ("-yes", None), ("²-yes", None), ("99999-no", None), ("x", None)],
)
def test_question_index(value: str, index: int | None) -> None:
    assert question_index(value) == index
