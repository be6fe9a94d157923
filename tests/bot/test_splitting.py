"""Every composed message fits: the splitter's parts are each within Telegram's limits, valid
HTML on their own, in order, and together say everything the message said."""

from __future__ import annotations

import ast
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.sandbox.formatting import parse_html
from bot.views.splitting import (
    MAX_BUTTONS,
    MAX_CAPTION,
    MAX_TEXT,
    split_message,
    split_text,
    visible_length,
)
from tests.test_architecture import MODULES


def visible(source: str) -> str:
    return parse_html(source).text


def test_a_message_that_fits_is_left_alone() -> None:
    text = "<b>漏检汇总</b>\n" + "• 陈明：察素齐投递部\n" * 100
    assert split_text(text) == [text]


def test_lengths_count_utf16_after_markup() -> None:
    assert visible_length("<b>a&amp;b</b>") == 3
    assert visible_length("😀") == 2  # outside the BMP: two UTF-16 code units
    assert split_text("😀" * 2048) == ["😀" * 2048]
    assert [visible_length(p) for p in split_text("😀" * 2049)] == [4096, 2]


def test_cuts_fall_on_line_boundaries_and_markup_is_reopened() -> None:
    lines = [f"• 检查员{i}：<i>网点{i}</i> · 营业场所环境" for i in range(600)]
    source = "<b>漏检汇总</b>：共 600 项\n" + "\n".join(lines)
    parts = split_text(source)
    assert len(parts) > 1
    for part in parts:
        assert visible_length(part) <= MAX_TEXT
        parse_html(part)  # raises on markup Telegram would refuse
    assert [line for part in parts for line in visible(part).split("\n")] == [
        visible(line) for line in source.split("\n")
    ]


def test_a_line_too_long_for_one_message_is_cut_inside_with_its_markup() -> None:
    parts = split_text("<b>" + "长" * 9000 + "</b>")
    assert [visible_length(p) for p in parts] == [4096, 4096, 808]
    assert all(p.startswith("<b>") and p.endswith("</b>") for p in parts)


def test_a_caption_keeps_what_fits_and_continues_in_messages() -> None:
    parts = split_text("图" * 6000, first_limit=MAX_CAPTION)
    assert [visible_length(p) for p in parts] == [1024, 4096, 880]


def test_plain_text_is_not_read_as_markup() -> None:
    parts = split_text("1 < 2 " * 1000, markup=False)
    assert "".join(parts) == "1 < 2 " * 1000
    assert all(len(p) <= MAX_TEXT for p in parts)


def test_a_keyboard_too_big_continues_on_further_messages() -> None:
    rows = [[(f"检查 {i}", f"kopen:{i}")] for i in range(250)]
    parts = split_message("您有 250 项检查任务", rows)
    assert [len(p.buttons) for p in parts] == [100, 100, 50]
    assert [p.more_buttons for p in parts] == [False, True, True]
    assert [b for p in parts for b in p.buttons] == rows


_piece = st.one_of(
    st.text(alphabet=st.sampled_from("检查员网点ab 1😀&<>"), max_size=30).map(
        lambda t: t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    ),
    st.text(alphabet=st.sampled_from("投递部x"), min_size=1, max_size=8).map(
        lambda t: f"<b>{t}</b>"
    ),
    st.just("\n"),
    st.just("长" * 700),
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    pieces=st.lists(_piece, max_size=60),
    wrap=st.sampled_from(["", "i", "code"]),
    limit=st.sampled_from([MAX_TEXT, 300, 50]),
)
def test_any_text_splits_into_valid_parts_that_say_everything(
    pieces: list[str], wrap: str, limit: int
) -> None:
    source = "".join(pieces)
    if wrap:
        source = f"<{wrap}>{source}</{wrap}>"
    parts = split_text(source, limit=limit)
    for part in parts:
        assert visible_length(part) <= limit
        parse_html(part)
    # Only the line breaks at cuts and blank parts are dropped: every character arrives, in order.
    squeeze = re.compile(r"\s")
    assert squeeze.sub("", "".join(visible(p) for p in parts)) == squeeze.sub("", visible(source))


@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.lists(st.integers(min_value=1, max_value=8), max_size=60))
def test_no_keyboard_part_has_more_than_100_buttons(row_sizes: list[int]) -> None:
    rows = [[(str(i), str(i))] * size for i, size in enumerate(row_sizes)]
    parts = split_message("x", rows)
    assert all(sum(map(len, p.buttons)) <= MAX_BUTTONS for p in parts)
    assert [row for p in parts for row in p.buttons] == rows


def test_the_product_queues_messages_only_through_the_splitter() -> None:
    """db.outbox.enqueue_message and enqueue_texts write rows as they are; everything else
    goes through bot.usecases.messages, which splits them first."""
    bypassing = []
    for module, path in MODULES.items():
        if module in ("db.outbox", "bot.usecases.messages"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module == "db.outbox"
                and any(alias.name in ("enqueue_message", "enqueue_texts") for alias in node.names)
            ):
                bypassing.append(f"{module}:{node.lineno}")
    assert not bypassing, bypassing
