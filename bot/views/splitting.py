"""Every composed message fits Telegram: long texts become several messages, big keyboards
several keyboards.

Telegram counts a text's length in UTF-16 code units after the HTML markup is parsed
(4,096 for a message, 1,024 for a caption) and refuses an inline keyboard of more than 100
buttons. A text is cut on line boundaries (inside a line only when the line alone is too
long), and markup open at a cut is closed at the end of one part and opened again at the
start of the next, so every part is valid HTML on its own.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from bot.views import texts

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_BUTTONS = 100

T = TypeVar("T")

# A tag, an entity, or a run of plain text (split further only when a line is too long).
_TOKEN = re.compile(r"<[^>]*>|&[#0-9A-Za-z]+;|[^<&]+|[<&]")
_TAG_NAME = re.compile(r"<\s*(/?)\s*([A-Za-z][A-Za-z0-9-]*)")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def visible_length(source: str, *, markup: bool = True) -> int:
    """The length Telegram measures: UTF-16 code units of the text without its markup."""
    if not markup:
        return utf16_len(source)
    return sum(_token_length(token) for token in _TOKEN.findall(source))


def _token_length(token: str) -> int:
    if token.startswith("<") and len(token) > 1:
        return 0
    if token.startswith("&") and token.endswith(";"):
        return utf16_len(html.unescape(token))
    return utf16_len(token)


@dataclass
class _Parts:
    """Parts being built: the current one's tokens and length, and the tags open in it."""

    limits: Sequence[int]
    markup: bool
    done: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    length: int = 0
    open_tags: list[tuple[str, str]] = field(default_factory=list)  # (name, opening tag)

    @property
    def limit(self) -> int:
        return self.limits[min(len(self.done), len(self.limits) - 1)]

    def room(self) -> int:
        return self.limit - self.length

    def add(self, token: str, length: int) -> None:
        self.tokens.append(token)
        self.length += length
        if not (self.markup and token.startswith("<")):
            return
        match = _TAG_NAME.match(token)
        if match is None:
            return
        closing, name = match.group(1), match.group(2).lower()
        if not closing:
            self.open_tags.append((name, token))
            return
        for index in range(len(self.open_tags) - 1, -1, -1):
            if self.open_tags[index][0] == name:
                del self.open_tags[index]
                break

    def cut(self) -> None:
        body = "".join(self.tokens).rstrip("\n")
        closing = "".join(f"</{name}>" for name, _ in reversed(self.open_tags))
        if _visible_text(body, self.markup).strip():
            self.done.append(body + closing)
        self.tokens = [opening for _, opening in self.open_tags]
        self.length = 0

    def add_long(self, token: str, length: int) -> None:
        """A token in a line longer than a part: plain text is cut between characters."""
        if length <= self.room() or _is_markup(token, self.markup):
            if length > self.room():
                self.cut()
            self.add(token, length)
            return
        if token.startswith("&") and token.endswith(";"):
            self.cut()
            self.add(token, length)
            return
        start, width = 0, 0
        for index, char in enumerate(token):
            char_width = utf16_len(char)
            if width + char_width > self.room():
                self.add(token[start:index], width)
                self.cut()
                start, width = index, 0
            width += char_width
        self.add(token[start:], width)


def _is_markup(token: str, markup: bool) -> bool:
    return markup and token.startswith("<") and len(token) > 1


def _visible_text(body: str, markup: bool) -> str:
    return html.unescape(re.sub(r"<[^>]*>", "", body)) if markup else body


def split_text(
    source: str, *, limit: int = MAX_TEXT, first_limit: int | None = None, markup: bool = True
) -> list[str]:
    """``source`` in parts that each fit; the first part may have a smaller limit (a caption).
    A text that fits is returned as it is."""
    limits = [first_limit or limit, limit]
    if visible_length(source, markup=markup) <= limits[0]:
        return [source]
    parts = _Parts(limits, markup)
    for line in source.splitlines(keepends=True):
        tokens = _TOKEN.findall(line) if markup else [line]
        lengths = [_token_length(t) if markup else utf16_len(t) for t in tokens]
        line_length = sum(lengths)
        if line_length > parts.room() and parts.length:
            parts.cut()
        if line_length <= parts.room():
            for token, length in zip(tokens, lengths, strict=True):
                parts.add(token, length)
            continue
        for token, length in zip(tokens, lengths, strict=True):
            parts.add_long(token, length)
    parts.cut()
    return parts.done or [source[:0]]


@dataclass(frozen=True)
class Part(Generic[T]):
    text: str
    buttons: list[list[T]]
    # A message that only continues a keyboard too big for the text's last part.
    more_buttons: bool = False


def _button_chunks(rows: Sequence[Sequence[T]]) -> list[list[list[T]]]:
    """Rows of buttons grouped into keyboards of at most MAX_BUTTONS (rows kept whole)."""
    chunks: list[list[list[T]]] = []
    current: list[list[T]] = []
    count = 0
    for row in rows:
        if current and count + len(row) > MAX_BUTTONS:
            chunks.append(current)
            current, count = [], 0
        current.append(list(row))
        count += len(row)
    if current:
        chunks.append(current)
    return chunks


def split_message(
    source: str,
    buttons: Sequence[Sequence[T]] = (),
    *,
    first_limit: int | None = None,
    markup: bool = True,
) -> list[Part[T]]:
    """The messages to send for one composed message: the text in parts, the keyboard on
    the last part, and a keyboard too big for one message continued on further messages."""
    text_parts = split_text(source, first_limit=first_limit, markup=markup)
    chunks = _button_chunks(buttons)
    parts = [Part[T](text, []) for text in text_parts]
    if chunks:
        parts[-1] = Part(parts[-1].text, chunks[0])
        total = len(chunks)
        parts.extend(
            Part(texts.more_buttons(number, total), chunk, more_buttons=True)
            for number, chunk in enumerate(chunks[1:], start=2)
        )
    return parts
