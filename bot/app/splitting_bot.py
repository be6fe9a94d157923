"""The Bot the application talks through: whatever it sends fits Telegram's limits.

Replies composed in handlers (``/overdue``, ``/progress``, ``/today`` …) go straight to
Telegram, not through the outbox; this Bot splits them with the same splitter the outbox
uses (bot/views/splitting.py). A text too long becomes several messages, the keyboard on the
last; a caption too long keeps what fits and continues in messages after the file.
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram.constants import ParseMode
from telegram.ext import ExtBot

from bot.views.splitting import MAX_CAPTION, split_message, split_text

# Only the first message of a split one answers the message it replies to.
_FIRST_PART_ONLY = ("reply_parameters", "reply_to_message_id")


class SplittingBot(ExtBot[Any]):
    def _is_html(self, parse_mode: Any) -> bool:
        if isinstance(parse_mode, str):
            return parse_mode.upper() == ParseMode.HTML.upper()
        if parse_mode is None:
            return False
        # The default (DEFAULT_NONE): the application's Defaults.
        return self.defaults is not None and self.defaults.parse_mode == ParseMode.HTML

    async def send_message(  # type: ignore[override]
        self, chat_id: int | str, text: str, **kwargs: Any
    ) -> Message:
        if kwargs.get("entities"):
            return await super().send_message(chat_id, text, **kwargs)
        markup = kwargs.get("reply_markup")
        rows = markup.inline_keyboard if isinstance(markup, InlineKeyboardMarkup) else ()
        html = self._is_html(kwargs.get("parse_mode", DEFAULT_NONE))
        parts = split_message(text, rows, markup=html)
        if len(parts) == 1:
            return await super().send_message(chat_id, text, **kwargs)
        last_text = max(n for n, part in enumerate(parts) if not part.more_buttons)
        sent_parts: list[Message] = []
        for number, part in enumerate(parts):
            options = dict(kwargs)
            if number:
                for name in _FIRST_PART_ONLY:
                    options.pop(name, None)
            if isinstance(markup, InlineKeyboardMarkup):
                options["reply_markup"] = _keyboard(part.buttons)
            elif number != last_text:
                options["reply_markup"] = None  # a reply keyboard comes with the last text
            sent_parts.append(await super().send_message(chat_id, part.text, **options))
        # The caller may edit what it sent: the message with the text's end and the keyboard.
        return sent_parts[last_text]

    async def send_document(  # type: ignore[override]
        self, chat_id: int | str, document: Any, caption: str | None = None, **kwargs: Any
    ) -> Message:
        head, rest = self._caption(caption, kwargs.get("parse_mode", DEFAULT_NONE))
        sent = await super().send_document(chat_id, document, caption=head, **kwargs)
        await self._send_rest(chat_id, rest, kwargs.get("parse_mode", DEFAULT_NONE))
        return sent

    async def send_photo(  # type: ignore[override]
        self, chat_id: int | str, photo: Any, caption: str | None = None, **kwargs: Any
    ) -> Message:
        head, rest = self._caption(caption, kwargs.get("parse_mode", DEFAULT_NONE))
        sent = await super().send_photo(chat_id, photo, caption=head, **kwargs)
        await self._send_rest(chat_id, rest, kwargs.get("parse_mode", DEFAULT_NONE))
        return sent

    def _caption(self, caption: str | None, parse_mode: Any) -> tuple[str | None, list[str]]:
        if caption is None:
            return None, []
        parts = split_text(caption, first_limit=MAX_CAPTION, markup=self._is_html(parse_mode))
        return parts[0], parts[1:]

    async def _send_rest(self, chat_id: int | str, rest: list[str], parse_mode: Any) -> None:
        for text in rest:
            await self.send_message(chat_id, text, parse_mode=parse_mode)


def _keyboard(rows: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup | None:
    return InlineKeyboardMarkup(rows) if rows else None
