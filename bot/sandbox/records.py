"""What the sandbox remembers and hands to tests: bot messages, edits, answers, calls."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

logger = logging.getLogger(__name__)

JSON = dict[str, Any]
MessageKind = Literal["text", "photo", "document"]
# (text, callback_data); callback_data is None for url/web-app buttons.
Button = tuple[str, str | None]


def inline_buttons(reply_markup: Mapping[str, Any] | None) -> list[list[Button]]:
    """Rows of (text, callback_data) of an inline keyboard; [] for anything else."""
    if not reply_markup or "inline_keyboard" not in reply_markup:
        return []
    return [
        [(str(button["text"]), button.get("callback_data")) for button in row]
        for row in reply_markup["inline_keyboard"]
    ]


def keyboard_rows(reply_markup: Mapping[str, Any] | None) -> list[list[str]] | None:
    """Rows of button texts of a reply keyboard, or None if the markup is not one."""
    if not reply_markup or "keyboard" not in reply_markup:
        return None
    return [
        [button if isinstance(button, str) else str(button["text"]) for button in row]
        for row in reply_markup["keyboard"]
    ]


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes = field(repr=False)

    def __repr__(self) -> str:
        return f"Upload({self.name!r}, {self.filename!r}, {len(self.data)} bytes)"


@dataclass
class StoredFile:
    """A file the sandbox can hand out by file_id and serve for download."""

    file_id: str
    file_unique_id: str
    kind: Literal["photo", "document"]
    data: bytes = field(repr=False)
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    # Every PhotoSize of one upload; each size has its own file_id pointing at the same bytes.
    photo_sizes: list[JSON] | None = None

    def file_json(self) -> JSON:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }


@dataclass
class SentMessage:
    """A message the bot sent; edits are applied to it in place, so it shows the latest state."""

    message_id: int
    chat_id: int
    kind: MessageKind
    date: int
    # Plain text as the user sees it (HTML tags stripped, entities unescaped).
    text: str | None = None
    caption: str | None = None
    # text/caption exactly as the bot sent it, markup included.
    source: str | None = None
    parse_mode: str | None = None
    reply_markup: JSON | None = None
    reply_to_message_id: int | None = None
    file_id: str | None = None
    file_name: str | None = None
    file_bytes: bytes | None = field(default=None, repr=False)
    mime_type: str | None = None
    edit_date: int | None = None
    deleted: bool = False
    # The Message object as last returned to the bot.
    raw: JSON = field(default_factory=dict, repr=False)

    @property
    def content(self) -> str:
        """Text of a text message, caption of a media message, "" if neither."""
        return self.text if self.text is not None else (self.caption or "")

    @property
    def buttons(self) -> list[list[Button]]:
        """The inline keyboard as rows of (text, callback_data)."""
        return inline_buttons(self.reply_markup)

    @property
    def button_texts(self) -> list[str]:
        return [text for row in self.buttons for text, _ in row]

    @property
    def keyboard(self) -> list[list[str]] | None:
        """The reply keyboard sent with this message as rows of texts, if any."""
        return keyboard_rows(self.reply_markup)

    @property
    def removes_keyboard(self) -> bool:
        return bool(self.reply_markup and self.reply_markup.get("remove_keyboard"))

    def callback_data(self, text: str) -> str:
        """The callback_data of the inline button labelled ``text``."""
        for row in self.buttons:
            for label, data in row:
                if label == text and data is not None:
                    return data
        raise AssertionError(f"no callback button {text!r} on {self.describe()}")

    def describe(self) -> str:
        """One line for assertion messages."""
        parts = [f"#{self.message_id} {self.kind} {self.content!r}"]
        if self.buttons:
            parts.append(f"buttons={self.buttons}")
        if self.keyboard:
            parts.append(f"keyboard={self.keyboard}")
        if self.file_name:
            parts.append(f"file={self.file_name!r}")
        if self.edit_date is not None:
            parts.append("(edited)")
        if self.deleted:
            parts.append("(deleted)")
        return " ".join(parts)


@dataclass(frozen=True)
class Edit:
    """One successful edit of a bot message, with the state right after it."""

    message: SentMessage
    method: str
    text: str | None
    caption: str | None
    reply_markup: JSON | None

    @property
    def content(self) -> str:
        return self.text if self.text is not None else (self.caption or "")

    @property
    def buttons(self) -> list[list[Button]]:
        return inline_buttons(self.reply_markup)

    @property
    def button_texts(self) -> list[str]:
        return [text for row in self.buttons for text, _ in row]

    def describe(self) -> str:
        return f"{self.method} #{self.message.message_id} -> {self.content!r} {self.buttons}"


@dataclass(frozen=True)
class CallbackAnswer:
    """The bot's answerCallbackQuery for a press made through the sandbox."""

    callback_query_id: str
    data: str | None
    message_id: int | None
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int

    def describe(self) -> str:
        alert = " (alert)" if self.show_alert else ""
        return f"answer to {self.data!r}: {self.text!r}{alert}"


@dataclass(frozen=True)
class ApiCall:
    """A Bot API request as the policy sees it, before it is carried out."""

    seq: int
    method: str
    params: Mapping[str, Any]
    at: float


@dataclass(frozen=True)
class CallRecord:
    """A Bot API request and how the sandbox answered it."""

    seq: int
    method: str
    params: Mapping[str, Any]
    at: float
    status: int
    description: str | None = None
    # True when the answer came from the policy instead of the method itself.
    by_policy: bool = False

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class ApiReply:
    """An HTTP answer in Bot API shape; a policy returns one to short-circuit a call."""

    status: int
    payload: JSON
    # The server closes the connection without answering: the client sees a network error
    # and the method is not carried out (like a request lost on the way to Telegram).
    dropped: bool = False

    @classmethod
    def success(cls, result: Any) -> ApiReply:
        return cls(200, {"ok": True, "result": result})

    @classmethod
    def error(
        cls, status: int, description: str, parameters: Mapping[str, Any] | None = None
    ) -> ApiReply:
        payload: JSON = {"ok": False, "error_code": status, "description": description}
        if parameters:
            payload["parameters"] = dict(parameters)
        return cls(status, payload)

    @classmethod
    def too_many_requests(cls, retry_after: int) -> ApiReply:
        return cls.error(
            429,
            f"Too Many Requests: retry after {retry_after}",
            {"retry_after": retry_after},
        )

    @classmethod
    def connection_dropped(cls) -> ApiReply:
        return cls(0, {"description": "connection dropped"}, dropped=True)

    @property
    def description(self) -> str | None:
        value = self.payload.get("description")
        return None if value is None else str(value)

    def body(self) -> bytes:
        return json.dumps(self.payload, ensure_ascii=False).encode()


# Consulted before each call; returning an ApiReply answers with it instead of the method.
Policy = Callable[[ApiCall], Awaitable[ApiReply | None]]
