"""Telegram's text formatting: HTML parse mode to plain text + entities, command entities.

Telegram rejects malformed HTML with "can't parse entities"; doing the same here catches user
text that was not passed through ``html.escape`` before it reaches real users.
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}
_OTHER_TAGS = {"a", "span", "blockquote", "tg-emoji"}
_TAG_RE = re.compile(r"<(/?)([^\s>/]*)([^>]*)>")
_ATTR_RE = re.compile(r"""([a-zA-Z_-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_ENTITY_RE = re.compile(r"&(lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")
_COMMAND_RE = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")


class EntityParseError(ValueError):
    """Malformed markup; str() is Telegram's wording after "can't parse entities: "."""


@dataclass(frozen=True)
class FormattedText:
    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def command_entities(text: str) -> list[dict[str, Any]]:
    """bot_command entities the way Telegram marks them in an incoming message."""
    return [
        {
            "type": "bot_command",
            "offset": utf16_len(text[: match.start()]),
            "length": utf16_len(match.group()),
        }
        for match in _COMMAND_RE.finditer(text)
    ]


def format_text(source: str, parse_mode: str | None) -> FormattedText:
    """Apply ``parse_mode`` like Telegram; Markdown modes are passed through unchecked."""
    if not parse_mode:
        return FormattedText(source)
    mode = parse_mode.lower()
    if mode == "html":
        return parse_html(source)
    if mode in ("markdown", "markdownv2"):
        return FormattedText(source)
    raise EntityParseError(f'Unsupported parse_mode "{parse_mode}"')


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode())


def _attributes(raw: str) -> dict[str, str]:
    return {
        match.group(1).lower(): html.unescape(
            next((g for g in match.group(2, 3, 4) if g is not None), "")
        )
        for match in _ATTR_RE.finditer(raw)
    }


def _entity_for(name: str, attrs: dict[str, str], at: int) -> dict[str, Any] | None:
    """The entity a start tag opens; None for tags that only decorate (e.g. <code> in <pre>)."""
    if name in _SIMPLE_TAGS:
        return {"type": _SIMPLE_TAGS[name]}
    if name == "a":
        url = attrs.get("href", "")
        # Telegram turns tg://user?id= links into text_mention with the full User, which the
        # formatter cannot know; a text_link keeps the entity parseable.
        return {"type": "text_link", "url": url} if url else None
    if name == "span":
        if attrs.get("class") != "tg-spoiler":
            raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
        return {"type": "spoiler"}
    if name == "blockquote":
        return {"type": "expandable_blockquote" if "expandable" in attrs else "blockquote"}
    if name == "tg-emoji":
        return {"type": "custom_emoji", "custom_emoji_id": attrs.get("emoji-id", "")}
    raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {at}')


def parse_html(source: str) -> FormattedText:
    """Strip Telegram-HTML tags, unescape entities and compute the message entities."""
    out: list[str] = []
    length = 0  # UTF-16 length of the text emitted so far
    # (tag name, entity or None, offset where it started)
    stack: list[tuple[str, dict[str, Any] | None, int]] = []
    entities: list[dict[str, Any]] = []

    def emit(start: int, end: int) -> None:
        nonlocal length
        raw = source[start:end]
        if "<" in raw:
            at = _byte_offset(source, start + raw.index("<"))
            raise EntityParseError(f'Unsupported start tag "" at byte offset {at}')
        text = _ENTITY_RE.sub(lambda m: html.unescape(m.group()), raw)
        out.append(text)
        length += utf16_len(text)

    pos = 0
    for match in _TAG_RE.finditer(source):
        emit(pos, match.start())
        pos = match.end()
        closing, name, rest = match.group(1), match.group(2).lower(), match.group(3)
        at = _byte_offset(source, match.start())
        if closing:
            if not stack or stack[-1][0] != name:
                expected = f'"</{stack[-1][0]}>"' if stack else "no end tag"
                raise EntityParseError(
                    f'Unmatched end tag at byte offset {at}, expected {expected}, found "</{name}>"'
                )
            _, entity, start = stack.pop()
            if entity is not None and length > start:
                entities.append({**entity, "offset": start, "length": length - start})
            continue
        if not name or (name not in _SIMPLE_TAGS and name not in _OTHER_TAGS):
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {at}')
        attrs = _attributes(rest)
        entity = _entity_for(name, attrs, at)
        if name == "code" and stack and stack[-1][0] == "pre":
            # <pre><code class="language-x"> is one pre entity with a language.
            language = attrs.get("class", "").removeprefix("language-")
            pre_entity = stack[-1][1]
            if language and pre_entity is not None:
                pre_entity["language"] = language
            entity = None
        stack.append((name, entity, length))
    emit(pos, len(source))
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return FormattedText("".join(out), entities)
