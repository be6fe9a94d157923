"""The sandbox's state: users, their private chats with the bot, messages and files.

Both sides mutate it: the Bot API methods (the bot) and ``SandboxUser`` (the simulated people).
Every change that a test may wait for is followed by ``notify()``.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import mimetypes
import secrets
import struct
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from bot.sandbox.records import CallbackAnswer, Edit, SentMessage, StoredFile
from bot.sandbox.updates import UpdateQueue

logger = logging.getLogger(__name__)

JSON = dict[str, Any]
_THUMB_SIDE = 90


class Clock(Protocol):
    """Anything with ``now()``; ``bot.clock.ManualClock`` lets a test move message dates."""

    def now(self) -> datetime: ...


@dataclass
class Chat:
    """A private chat between the bot and one user (chat id == user id, like Telegram)."""

    id: int
    info: JSON
    chat_instance: str
    next_message_id: int = 1
    # Current Message object of every live message, from either side.
    messages: dict[int, JSON] = field(default_factory=dict)
    sent: list[SentMessage] = field(default_factory=list)
    edits: list[Edit] = field(default_factory=list)
    answers: list[CallbackAnswer] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    blocked: bool = False

    def take_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id

    def sent_message(self, message_id: int) -> SentMessage | None:
        return next((m for m in self.sent if m.message_id == message_id), None)


@dataclass
class CallbackState:
    chat_id: int
    message_id: int | None
    data: str | None
    answered: bool = False


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, GIF or JPEG, read from its header; None if unrecognised."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        index = 2
        while index + 9 <= len(data) and data[index] == 0xFF:
            marker = data[index + 1]
            (segment_length,) = struct.unpack(">H", data[index + 2 : index + 4])
            # SOFn markers carry the frame size; C4/C8/CC share the range but are not frames.
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[index + 5 : index + 9])
                return int(width), int(height)
            index += 2 + int(segment_length)
    return None


class World:
    def __init__(self, bot_user: JSON, clock: Clock | None) -> None:
        self.bot_user = bot_user
        self._clock = clock
        self.updates = UpdateQueue()
        self.users: dict[int, JSON] = {}
        self.chats: dict[int, Chat] = {}
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.callback_queries: dict[str, CallbackState] = {}
        # (canonical scope JSON, language_code) -> BotCommand list
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.webhook: JSON = {}
        self.changed = asyncio.Condition()
        self._ids = itertools.count(1)

    def now(self) -> int:
        """Unix time in whole seconds, as Telegram's ``date`` fields."""
        return int(self._clock.now().timestamp() if self._clock else time.time())

    def next_id(self) -> int:
        return next(self._ids)

    async def notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    @property
    def bot_sender(self) -> JSON:
        """The bot as the ``from`` of its messages (getMe minus the capability flags)."""
        keys = ("id", "is_bot", "first_name", "username")
        return {key: self.bot_user[key] for key in keys if key in self.bot_user}

    def add_user(
        self,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None,
        username: str | None,
        language_code: str | None,
    ) -> Chat:
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        info: JSON = {"id": user_id, "type": "private", "first_name": first_name}
        for key, value in (("last_name", last_name), ("username", username)):
            if value is not None:
                user[key] = value
                info[key] = value
        if language_code is not None:
            user["language_code"] = language_code
        self.users[user_id] = user
        # Telegram's chat_instance is an opaque signed 64-bit number, fixed per chat.
        instance = int.from_bytes(secrets.token_bytes(8), "big", signed=True)
        chat = Chat(id=user_id, info=info, chat_instance=str(instance))
        self.chats[user_id] = chat
        return chat

    def new_message(self, chat: Chat, sender: JSON, content: JSON) -> JSON:
        message: JSON = {
            "message_id": chat.take_message_id(),
            "from": sender,
            "chat": chat.info,
            "date": self.now(),
            **content,
        }
        chat.messages[message["message_id"]] = message
        return message

    def _new_file_id(self, prefix: str) -> str:
        return f"{prefix}{self.next_id():06d}{secrets.token_urlsafe(24)}"

    def _register(self, stored: StoredFile) -> StoredFile:
        self.files[stored.file_id] = stored
        self.files_by_path[stored.file_path] = stored
        return stored

    def store_document(
        self, data: bytes, file_name: str | None, mime_type: str | None
    ) -> StoredFile:
        if mime_type is None and file_name:
            mime_type = mimetypes.guess_type(file_name)[0]
        suffix = ""
        if file_name and "." in file_name:
            suffix = "." + file_name.rsplit(".", 1)[1]
        unique = "AgAD" + hashlib.sha256(data).hexdigest()[:16]
        file_id = self._new_file_id("BQACAgIAAxkBAA")
        return self._register(
            StoredFile(
                file_id=file_id,
                file_unique_id=unique,
                kind="document",
                data=data,
                file_path=f"documents/file_{self.next_id()}{suffix}",
                file_name=file_name,
                mime_type=mime_type or "application/octet-stream",
            )
        )

    def store_photo(self, data: bytes) -> list[JSON]:
        """Store an uploaded photo; returns its PhotoSize list, smallest first like Telegram.

        The thumbnail shares the original bytes: the sandbox does not resize images, it only
        gives handlers the shape of a real photo message (several sizes, the largest last).
        """
        width, height = image_size(data) or (800, 600)
        shapes: list[tuple[int, int, str]] = []
        longest = max(width, height)
        if longest > _THUMB_SIDE:
            scale = _THUMB_SIDE / longest
            shapes.append((max(1, round(width * scale)), max(1, round(height * scale)), "t"))
        shapes.append((width, height, ""))
        digest = hashlib.sha256(data).hexdigest()[:16]
        sizes: list[JSON] = []
        kind: Literal["photo"] = "photo"
        for w, h, tag in shapes:
            stored = self._register(
                StoredFile(
                    file_id=self._new_file_id("AgACAgIAAxkBAA"),
                    file_unique_id=f"AQAD{digest}{tag}",
                    kind=kind,
                    data=data,
                    file_path=f"photos/file_{self.next_id()}.jpg",
                    mime_type="image/jpeg",
                )
            )
            sizes.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_size": len(data),
                    "width": w,
                    "height": h,
                }
            )
            stored.photo_sizes = sizes
        return sizes
