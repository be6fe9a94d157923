"""HTML parse mode and command entities, as Telegram computes them."""

from __future__ import annotations

from typing import Any

import pytest

from bot.sandbox.formatting import EntityParseError, command_entities, format_text, parse_html


@pytest.mark.parametrize(
    ("source", "text", "entities"),
    [
        ("纯文本", "纯文本", []),
        ("<b>粗</b>体", "粗体", [{"type": "bold", "offset": 0, "length": 1}]),
        ("&lt;tag&gt; &amp; &quot;", '<tag> & "', []),
        ("a & b > c", "a & b > c", []),
        # Offsets count UTF-16 units: the emoji takes two.
        ("😀<i>x</i>", "😀x", [{"type": "italic", "offset": 2, "length": 1}]),
        (
            "<b>外<i>内</i></b>",
            "外内",
            [
                {"type": "bold", "offset": 0, "length": 2},
                {"type": "italic", "offset": 1, "length": 1},
            ],
        ),
        (
            '<a href="https://x.cn/?a=1&amp;b=2">链接</a>',
            "链接",
            [{"type": "text_link", "url": "https://x.cn/?a=1&b=2", "offset": 0, "length": 2}],
        ),
        (
            '<pre><code class="language-python">print(1)</code></pre>',
            "print(1)",
            [{"type": "pre", "language": "python", "offset": 0, "length": 8}],
        ),
        (
            '<span class="tg-spoiler">秘</span><tg-spoiler>密</tg-spoiler>',
            "秘密",
            [
                {"type": "spoiler", "offset": 0, "length": 1},
                {"type": "spoiler", "offset": 1, "length": 1},
            ],
        ),
        (
            "<blockquote expandable>引用</blockquote>",
            "引用",
            [{"type": "expandable_blockquote", "offset": 0, "length": 2}],
        ),
        ("<b></b>空", "空", []),
    ],
)
def test_html_to_text_and_entities(source: str, text: str, entities: list[dict[str, Any]]) -> None:
    parsed = parse_html(source)
    assert parsed.text == text
    assert parsed.entities == entities


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("x <y", 'Unsupported start tag "" at byte offset 2'),
        ("<br>", 'Unsupported start tag "br" at byte offset 0'),
        ("中<p>", 'Unsupported start tag "p" at byte offset 3'),  # byte, not character, offset
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ('<span class="red">x</span>', 'Tag "span" must have class "tg-spoiler"'),
    ],
)
def test_malformed_html_is_refused(source: str, error: str) -> None:
    with pytest.raises(EntityParseError) as raised:
        parse_html(source)
    assert str(raised.value).startswith(error)


def test_parse_modes() -> None:
    assert format_text("<b>x</b>", None).text == "<b>x</b>"
    assert format_text("<b>x</b>", "html").text == "x"
    assert format_text("*x*", "MarkdownV2").text == "*x*"  # passed through unchecked
    with pytest.raises(EntityParseError, match="Unsupported parse_mode"):
        format_text("x", "BBCode")


def test_command_entities() -> None:
    assert command_entities("/start") == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert command_entities("😀 /help x") == [{"type": "bot_command", "offset": 3, "length": 5}]
    assert command_entities("a/b /") == []
