"""Simulated people talking to the bot, and waiting for what it says back."""

from __future__ import annotations

import asyncio
import logging
import mimetypes
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from bot.sandbox.formatting import command_entities
from bot.sandbox.records import CallbackAnswer, Edit, SentMessage
from bot.sandbox.world import CallbackState, Chat, World

logger = logging.getLogger(__name__)

JSON = dict[str, Any]


class _Describable(Protocol):
    def describe(self) -> str: ...


_T = TypeVar("_T", bound=_Describable)


@dataclass(frozen=True)
class UserAction:
    """The update a simulated user's action produced, as queued for the bot."""

    update: JSON

    @property
    def update_id(self) -> int:
        return int(self.update["update_id"])

    @property
    def message_id(self) -> int | None:
        message = self.update.get("message") or self.update.get("callback_query", {}).get("message")
        return None if message is None else int(message["message_id"])

    @property
    def callback_query_id(self) -> str | None:
        query = self.update.get("callback_query")
        return None if query is None else str(query["id"])


class SandboxUser:
    """A Telegram user in a private chat with the bot.

    ``replies``/``edits``/``answers`` each keep their own cursor: every call returns only what
    arrived since the previous call of the same helper.
    """

    def __init__(self, world: World, chat: Chat) -> None:
        self._world = world
        self._chat = chat
        self._seen = {"replies": 0, "edits": 0, "answers": 0}

    def __repr__(self) -> str:
        return f"SandboxUser({self.id}, {self.first_name!r})"

    @property
    def id(self) -> int:
        return self._chat.id

    @property
    def chat_id(self) -> int:
        return self._chat.id

    @property
    def first_name(self) -> str:
        return str(self._chat.info["first_name"])

    @property
    def as_json(self) -> JSON:
        """The Telegram User object of this person."""
        return dict(self._world.users[self.id])

    @property
    def messages(self) -> list[SentMessage]:
        """Every message the bot sent to this chat, oldest first (deleted ones included)."""
        return list(self._chat.sent)

    @property
    def last_message(self) -> SentMessage | None:
        return self._chat.sent[-1] if self._chat.sent else None

    @property
    def chat_actions(self) -> list[str]:
        return list(self._chat.actions)

    @property
    def keyboard(self) -> list[list[str]] | None:
        """The reply keyboard the user currently sees, if any."""
        for message in reversed(self._chat.sent):
            if message.removes_keyboard:
                return None
            if message.keyboard is not None:
                return message.keyboard
        return None

    @property
    def blocked(self) -> bool:
        return self._chat.blocked

    async def block(self, *, announce: bool = True) -> UserAction | None:
        """From now on the bot's sends fail with 403 "bot was blocked by the user"; like
        Telegram, the bot gets a my_chat_member update (its status: kicked) unless
        ``announce`` is False (an update the bot missed)."""
        self._chat.blocked = True
        return await self._membership_changed("member", "kicked") if announce else None

    async def unblock(self) -> UserAction:
        """The person restarts the bot: sends work again, a my_chat_member update (member)."""
        self._chat.blocked = False
        return await self._membership_changed("kicked", "member")

    async def _membership_changed(self, old: str, new: str) -> UserAction:
        def member(status: str) -> JSON:
            # A kicked member always carries until_date (0: for ever).
            extra = {"until_date": 0} if status == "kicked" else {}
            return {"status": status, "user": self._world.bot_user, **extra}

        change: JSON = {
            "chat": self._chat.info,
            "from": self.as_json,
            "date": self._world.now(),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }
        return UserAction(await self._world.updates.put("my_chat_member", change))

    # -- acting ----------------------------------------------------------------------------

    async def _post_message(self, content: JSON) -> UserAction:
        message = self._world.new_message(self._chat, self.as_json, content)
        update = await self._world.updates.put("message", message)
        logger.debug("user %s -> bot: %s", self.id, content)
        return UserAction(update)

    async def send(self, text: str) -> UserAction:
        """A text message; "/command" words get bot_command entities like on Telegram."""
        if not text:
            raise ValueError("Telegram clients cannot send an empty message")
        content: JSON = {"text": text}
        entities = command_entities(text)
        if entities:
            content["entities"] = entities
        return await self._post_message(content)

    async def send_photo(
        self, data: bytes, caption: str | None = None, *, media_group_id: str | None = None
    ) -> UserAction:
        """A photo; the update carries a PhotoSize list whose file_ids download ``data``."""
        content: JSON = {"photo": self._world.store_photo(data)}
        if media_group_id:
            content["media_group_id"] = media_group_id
        return await self._post_message(_with_caption(content, caption))

    async def send_album(
        self, photos: list[bytes], caption: str, *, caption_on: int = 0
    ) -> list[UserAction]:
        """An album as Telegram delivers it: one message per photo sharing a media_group_id,
        the caption on one of them (``caption_on``; clients usually put it on the first)."""
        group = str(self._world.next_id())
        return [
            await self.send_photo(data, caption if n == caption_on else None, media_group_id=group)
            for n, data in enumerate(photos)
        ]

    async def send_document(
        self,
        data: bytes,
        file_name: str,
        caption: str | None = None,
        mime_type: str | None = None,
    ) -> UserAction:
        stored = self._world.store_document(
            data, file_name, mime_type or mimetypes.guess_type(file_name)[0]
        )
        document: JSON = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": file_name,
            "file_size": len(data),
        }
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        return await self._post_message(_with_caption({"document": document}, caption))

    async def send_sticker(self, emoji: str = "👍") -> UserAction:
        """A static sticker (the bot can only see its emoji and file id)."""
        sticker: JSON = {
            "file_id": f"CAACAgIAAxkBAA{self._world.next_id():06d}",
            "file_unique_id": f"AgAD{self._world.next_id():06d}",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return await self._post_message({"sticker": sticker})

    async def send_voice(self, seconds: int = 3) -> UserAction:
        """A voice note (no audio bytes behind it)."""
        voice: JSON = {
            "file_id": f"AwACAgIAAxkBAA{self._world.next_id():06d}",
            "file_unique_id": f"AgAD{self._world.next_id():06d}",
            "duration": seconds,
            "mime_type": "audio/ogg",
        }
        return await self._post_message({"voice": voice})

    async def send_location(self, latitude: float, longitude: float) -> UserAction:
        return await self._post_message(
            {"location": {"latitude": latitude, "longitude": longitude}}
        )

    async def send_contact(self, phone_number: str, first_name: str) -> UserAction:
        return await self._post_message(
            {"contact": {"phone_number": phone_number, "first_name": first_name}}
        )

    async def edit(self, sent: UserAction, text: str) -> UserAction:
        """Edit one of this user's text messages: the bot gets an ``edited_message``."""
        message_id = sent.message_id
        original = self._chat.messages.get(message_id) if message_id is not None else None
        if original is None or original.get("from", {}).get("id") != self.id:
            raise AssertionError(f"{self!r} has no own message #{message_id} to edit")
        edited: JSON = {
            key: value for key, value in original.items() if key not in ("text", "entities")
        }
        edited["text"] = text
        entities = command_entities(text)
        if entities:
            edited["entities"] = entities
        edited["edit_date"] = self._world.now()
        self._chat.messages[edited["message_id"]] = edited
        update = await self._world.updates.put("edited_message", edited)
        return UserAction(update)

    async def press(self, button: str, message: SentMessage | int | None = None) -> UserAction:
        """Press the inline button labelled ``button`` (or with that callback_data).

        Looks on ``message`` if given, else on the newest live bot message that has such a
        button; raises AssertionError listing the buttons on offer if there is none.
        """
        if message is None:
            candidates = [m for m in reversed(self._chat.sent) if not m.deleted]
        else:
            message_id = message if isinstance(message, int) else message.message_id
            found = self._chat.sent_message(message_id)
            if found is None or found.deleted:
                raise AssertionError(f"{self!r} has no live bot message #{message_id}")
            candidates = [found]
        for candidate in candidates:
            data = _find_button(candidate, button)
            if data is not None:
                return await self.press_data(candidate.message_id, data)
        on_offer = [m.describe() for m in candidates if m.buttons] or ["no inline buttons"]
        raise AssertionError(
            f"{self!r} cannot press {button!r}; on offer:\n  " + "\n  ".join(on_offer)
        )

    async def press_data(self, message_id: int, data: str) -> UserAction:
        """A callback query with arbitrary data, as a tampering client could send."""
        message = self._chat.messages.get(message_id)
        if message is None:
            raise AssertionError(f"{self!r} has no message #{message_id} to press a button on")
        query_id = str(self._world.next_id() * 1_000_003 + self.id)
        self._world.callback_queries[query_id] = CallbackState(
            chat_id=self.id, message_id=message_id, data=data
        )
        query: JSON = {
            "id": query_id,
            "from": self.as_json,
            "message": message,
            "chat_instance": self._chat.chat_instance,
            "data": data,
        }
        update = await self._world.updates.put("callback_query", query)
        logger.debug("user %s presses %r on #%s", self.id, data, message_id)
        return UserAction(update)

    # -- waiting for the bot ---------------------------------------------------------------

    async def _take(
        self, what: str, stream: Callable[[], Sequence[_T]], n: int, timeout: float
    ) -> list[_T]:
        start = self._seen[what]
        condition = self._world.changed
        async with condition:
            try:
                async with asyncio.timeout(timeout):
                    await condition.wait_for(lambda: len(stream()) - start >= n)
            except TimeoutError:
                arrived = [item.describe() for item in stream()[start:]]
                listing = "\n  ".join(arrived) if arrived else "nothing"
                raise AssertionError(
                    f"{self!r}: expected {n} new {what} within {timeout}s, "
                    f"got {len(arrived)}:\n  {listing}"
                ) from None
        self._seen[what] = start + n
        return list(stream()[start : start + n])

    async def replies(self, n: int = 1, timeout: float = 5.0) -> list[SentMessage]:
        """The next ``n`` messages the bot sends to this chat, waiting up to ``timeout`` s."""
        return await self._take("replies", lambda: self._chat.sent, n, timeout)

    async def reply(self, timeout: float = 5.0) -> SentMessage:
        (message,) = await self.replies(1, timeout)
        return message

    async def edits(self, n: int = 1, timeout: float = 5.0) -> list[Edit]:
        """The next ``n`` edits of bot messages in this chat."""
        return await self._take("edits", lambda: self._chat.edits, n, timeout)

    async def answers(self, n: int = 1, timeout: float = 5.0) -> list[CallbackAnswer]:
        """The next ``n`` answerCallbackQuery calls for this user's presses."""
        return await self._take("answers", lambda: self._chat.answers, n, timeout)

    async def no_reply(self, within: float = 0.3) -> None:
        """Assert the bot sends no new message to this chat within ``within`` s."""
        start = self._seen["replies"]
        condition = self._world.changed
        async with condition:
            try:
                async with asyncio.timeout(within):
                    await condition.wait_for(lambda: len(self._chat.sent) > start)
            except TimeoutError:
                return
        extra = "\n  ".join(m.describe() for m in self._chat.sent[start:])
        raise AssertionError(f"{self!r}: expected no reply, got:\n  {extra}")


def _find_button(message: SentMessage, wanted: str) -> str | None:
    """callback_data of the button labelled ``wanted``, else of the one whose data it is."""
    buttons = [button for row in message.buttons for button in row]
    for text, data in buttons:
        if text == wanted and data is not None:
            return data
    for _, data in buttons:
        if data == wanted:
            return data
    return None


def _with_caption(content: JSON, caption: str | None) -> JSON:
    """A media message's caption; Telegram marks the commands in it as in a text."""
    if caption:
        content["caption"] = caption
        entities = command_entities(caption)
        if entities:
            content["caption_entities"] = entities
    return content
