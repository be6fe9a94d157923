"""The Bot API methods the sandbox implements, answering like Telegram does.

Parameters arrive either as JSON values (application/json) or as strings (query string, form
fields, multipart fields — python-telegram-bot JSON-encodes every non-string value there), so
each method reads them through ``Params``, which accepts both.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from bot.sandbox.formatting import EntityParseError, FormattedText, format_text, utf16_len
from bot.sandbox.records import CallbackAnswer, Edit, SentMessage, StoredFile, Upload
from bot.sandbox.updates import PollSuperseded
from bot.sandbox.world import Chat, World

logger = logging.getLogger(__name__)

JSON = dict[str, Any]

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_INLINE_BUTTONS = 100
MAX_DOWNLOAD = 20 * 1024 * 1024
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
_BAD_QUERY = "query is too old and response timeout expired or query ID is invalid"


class ApiError(Exception):
    """A Bot API error answer; ``description`` is Telegram's full text."""

    def __init__(
        self, status: int, description: str, parameters: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


def forbidden(detail: str) -> ApiError:
    return ApiError(403, f"Forbidden: {detail}")


class Params:
    """Request parameters, whether they came JSON-typed or as strings."""

    def __init__(self, values: Mapping[str, Any], uploads: Mapping[str, Upload]) -> None:
        self.values = dict(values)
        self.uploads = dict(uploads)

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "") or name in self.uploads

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None:
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def integer(self, name: str) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise bad_request(f"invalid {name} specified")
        if isinstance(value, int):
            return value
        try:
            return int(str(value))
        except ValueError:
            raise bad_request(f"invalid {name} specified") from None

    def number(self, name: str) -> float | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        return bool(value)

    def structured(self, name: str, what: str = "parameter") -> Any:
        value = self.values.get(name)
        if isinstance(value, str):
            if not value:
                return None
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(f"can't parse {what} JSON object") from None
        return value

    def file(self, name: str) -> Upload | str | None:
        """An uploaded part, or a file_id/URL string; resolves ``attach://<part>`` references."""
        if name in self.uploads:
            return self.uploads[name]
        value = self.text(name)
        if value and value.startswith("attach://"):
            part = value.removeprefix("attach://")
            if part not in self.uploads:
                raise bad_request(f"file {part} not found in the request")
            return self.uploads[part]
        return value or None


def _check_reply_markup(markup: Any) -> JSON | None:
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request('can\'t parse inline keyboard button: field "inline_keyboard"')
        if sum(len(row) for row in rows) > MAX_INLINE_BUTTONS:
            raise bad_request("reply markup is too long")
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not button.get("text"):
                    raise bad_request("can't parse inline keyboard button: Text must be non-empty")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
                    raise bad_request("BUTTON_DATA_INVALID")
                if len(button) == 1:
                    raise bad_request("text buttons are unallowed in the inline keyboard")
    elif "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request("can't parse reply keyboard markup JSON object")
    elif not ({"remove_keyboard", "force_reply"} & markup.keys()):
        raise bad_request("can't parse reply keyboard markup JSON object")
    return markup


class BotApi:
    """Method implementations; each takes Params and returns the ``result`` to send back."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.methods: dict[str, Callable[[Params], Awaitable[Any]]] = {
            "getMe": self.get_me,
            "logOut": self.log_out,
            "close": self.log_out,
            "getUpdates": self.get_updates,
            "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "sendMessage": self.send_message,
            "sendPhoto": self.send_photo,
            "sendDocument": self.send_document,
            "sendMediaGroup": self.send_media_group,
            "editMessageText": self.edit_message_text,
            "editMessageCaption": self.edit_message_caption,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "answerCallbackQuery": self.answer_callback_query,
            "getFile": self.get_file,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "sendChatAction": self.send_chat_action,
            "deleteMessage": self.delete_message,
            "deleteMessages": self.delete_messages,
        }
        # Telegram matches method names case-insensitively.
        self._by_lower = {name.lower(): name for name in self.methods}

    def canonical(self, method: str) -> str | None:
        return self._by_lower.get(method.lower())

    # -- lookups ---------------------------------------------------------------------------

    def _chat(self, params: Params, *, sending: bool = False) -> Chat:
        if not params.has("chat_id"):
            raise bad_request("chat_id is empty")
        try:
            chat_id = params.integer("chat_id")
        except ApiError:
            # "@username" only names public groups and channels, which the sandbox has none of.
            raise bad_request("chat not found") from None
        chat = self.world.chats.get(chat_id) if chat_id is not None else None
        if chat is None:
            raise bad_request("chat not found")
        if sending and chat.blocked:
            raise forbidden("bot was blocked by the user")
        return chat

    def _message_id(self, params: Params) -> int:
        message_id = params.integer("message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        return message_id

    def _editable(self, params: Params) -> tuple[Chat, SentMessage]:
        if params.has("inline_message_id"):
            raise bad_request("inline messages are not supported by the sandbox")
        chat = self._chat(params)
        message_id = self._message_id(params)
        if message_id not in chat.messages:
            raise bad_request("message to edit not found")
        sent = chat.sent_message(message_id)
        if sent is None:
            raise bad_request("message can't be edited")
        return chat, sent

    def _formatted(self, params: Params, field: str, limit: int, *, kind: str) -> FormattedText:
        source = params.text(field) or ""
        parse_mode = params.text("parse_mode")
        entities_field = "entities" if field == "text" else "caption_entities"
        explicit = params.structured(entities_field)
        try:
            formatted = (
                FormattedText(source, list(explicit))
                if explicit
                else format_text(source, parse_mode)
            )
        except EntityParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
        if utf16_len(formatted.text) > limit:
            raise bad_request(
                "message is too long" if kind == "text" else f"message {kind} is too long"
            )
        return formatted

    def _reply_to(self, chat: Chat, params: Params) -> JSON | None:
        reply = params.structured("reply_parameters", "reply parameters")
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            lenient = bool(reply.get("allow_sending_without_reply"))
        else:
            message_id = params.integer("reply_to_message_id")
            lenient = params.flag("allow_sending_without_reply")
        if message_id is None:
            return None
        if not isinstance(message_id, int):
            raise bad_request("invalid reply_parameters specified")
        target = chat.messages.get(message_id)
        if target is None and not lenient:
            raise bad_request("message to be replied not found")
        if target is None:
            return None
        return {key: value for key, value in target.items() if key != "reply_to_message"}

    async def _send(
        self,
        chat: Chat,
        params: Params,
        content: JSON,
        sent: SentMessage,
    ) -> JSON:
        """Store and return a bot message; ``sent`` is filled in with the final ids."""
        reply_markup = _check_reply_markup(
            params.structured("reply_markup", "reply keyboard markup")
        )
        reply_to = self._reply_to(chat, params)
        if reply_to is not None:
            content["reply_to_message"] = reply_to
        # Telegram echoes only inline keyboards in the returned Message.
        if reply_markup and "inline_keyboard" in reply_markup:
            content["reply_markup"] = reply_markup
        message = self.world.new_message(chat, self.world.bot_sender, content)
        sent.message_id = message["message_id"]
        sent.date = message["date"]
        sent.reply_markup = reply_markup
        sent.reply_to_message_id = reply_to["message_id"] if reply_to else None
        sent.raw = message
        chat.sent.append(sent)
        logger.debug("bot -> %s: %s", chat.id, sent.describe())
        await self.world.notify()
        return message

    def _resolve_file(self, given: Upload | str | None, kind: str) -> StoredFile | Upload:
        if given is None:
            raise bad_request(f"there is no {kind} in the request")
        if isinstance(given, Upload):
            return given
        if given.startswith(("http://", "https://")):
            raise bad_request("failed to get HTTP URL content")
        stored = self.world.files.get(given)
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if stored.kind != kind:
            raise bad_request(f"can't use file of type {stored.kind.title()} as {kind.title()}")
        return stored

    # -- identity and updates --------------------------------------------------------------

    async def get_me(self, params: Params) -> JSON:
        return dict(self.world.bot_user)

    async def log_out(self, params: Params) -> bool:
        return True

    async def get_updates(self, params: Params) -> list[JSON]:
        if self.world.webhook.get("url"):
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        queue = self.world.updates
        offset = params.integer("offset")
        if offset is not None and offset != 0:
            queue.confirm(offset)
        limit = min(max(params.integer("limit") or 100, 1), 100)
        allowed = params.structured("allowed_updates")
        if isinstance(allowed, list):
            queue.set_allowed_updates(str(kind) for kind in allowed)
        timeout = params.number("timeout") or 0.0
        try:
            return await queue.wait_pending(limit, timeout)
        except PollSuperseded:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; make sure that only one bot "
                "instance is running",
            ) from None

    async def set_webhook(self, params: Params) -> bool:
        url = params.text("url") or ""
        if url and not url.startswith(("https://", "http://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if params.flag("drop_pending_updates"):
            self.world.updates.drop_pending()
        allowed = params.structured("allowed_updates")
        if isinstance(allowed, list):
            self.world.updates.set_allowed_updates(str(kind) for kind in allowed)
        self.world.webhook = {
            key: value
            for key, value in (
                ("url", url),
                ("secret_token", params.text("secret_token")),
                ("max_connections", params.integer("max_connections")),
                ("allowed_updates", allowed),
            )
            if value
        }
        await self.world.notify()  # wakes the webhook deliverer
        return True

    async def delete_webhook(self, params: Params) -> bool:
        if params.flag("drop_pending_updates"):
            self.world.updates.drop_pending()
        self.world.webhook = {}
        await self.world.notify()
        return True

    async def get_webhook_info(self, params: Params) -> JSON:
        info: JSON = {
            "url": self.world.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": self.world.updates.pending_count,
        }
        for key in ("max_connections", "allowed_updates"):
            if key in self.world.webhook:
                info[key] = self.world.webhook[key]
        return info

    # -- sending ---------------------------------------------------------------------------

    async def send_message(self, params: Params) -> JSON:
        chat = self._chat(params, sending=True)
        if not (params.text("text") or "").strip():
            raise bad_request("message text is empty")
        formatted = self._formatted(params, "text", MAX_TEXT, kind="text")
        if not formatted.text.strip():
            raise bad_request("message text is empty")
        content: JSON = {"text": formatted.text}
        if formatted.entities:
            content["entities"] = formatted.entities
        sent = SentMessage(
            message_id=0,
            chat_id=chat.id,
            kind="text",
            date=0,
            text=formatted.text,
            source=params.text("text"),
            parse_mode=params.text("parse_mode"),
        )
        return await self._send(chat, params, content, sent)

    def _caption(self, params: Params, content: JSON) -> FormattedText | None:
        if not params.has("caption"):
            return None
        formatted = self._formatted(params, "caption", MAX_CAPTION, kind="caption")
        content["caption"] = formatted.text
        if formatted.entities:
            content["caption_entities"] = formatted.entities
        return formatted

    async def send_photo(self, params: Params) -> JSON:
        chat = self._chat(params, sending=True)
        source = self._resolve_file(params.file("photo"), "photo")
        if isinstance(source, Upload):
            if not source.data:
                raise bad_request("file must be non-empty")
            sizes = self.world.store_photo(source.data)
            data = source.data
        else:
            sizes = list(source.photo_sizes or [])
            data = source.data
        content: JSON = {"photo": sizes}
        caption = self._caption(params, content)
        sent = SentMessage(
            message_id=0,
            chat_id=chat.id,
            kind="photo",
            date=0,
            caption=caption.text if caption else None,
            source=params.text("caption"),
            parse_mode=params.text("parse_mode"),
            file_id=sizes[-1]["file_id"],
            file_bytes=data,
            mime_type="image/jpeg",
        )
        return await self._send(chat, params, content, sent)

    async def send_media_group(self, params: Params) -> list[JSON]:
        """An album: 2–10 photos, one message each sharing a media_group_id; a caption only
        where an item has one (Telegram shows the first as the album's). No reply markup."""
        chat = self._chat(params, sending=True)
        media = params.structured("media", "media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise bad_request("wrong number of media specified: must be 2-10")
        group = str(self.world.next_id())
        sent: list[JSON] = []
        for item in media:
            if not isinstance(item, dict) or item.get("type") != "photo":
                raise bad_request("unsupported media type in the album")
            reference = item.get("media")
            if not isinstance(reference, str):
                raise bad_request("there is no photo in the request")
            given: Upload | str = reference
            if reference.startswith("attach://"):
                part = reference.removeprefix("attach://")
                if part not in params.uploads:
                    raise bad_request(f"file {part} not found in the request")
                given = params.uploads[part]
            source = self._resolve_file(given, "photo")
            if isinstance(source, Upload):
                sizes, data = self.world.store_photo(source.data), source.data
            else:
                sizes, data = list(source.photo_sizes or []), source.data
            content: JSON = {"photo": sizes, "media_group_id": group}
            caption = item.get("caption")
            if caption is not None:
                if len(str(caption)) > MAX_CAPTION:
                    raise bad_request("message caption is too long")
                content["caption"] = str(caption)
            message = SentMessage(
                message_id=0,
                chat_id=chat.id,
                kind="photo",
                date=0,
                caption=str(caption) if caption is not None else None,
                source=str(caption) if caption is not None else None,
                file_id=sizes[-1]["file_id"],
                file_bytes=data,
                mime_type="image/jpeg",
            )
            sent.append(await self._send(chat, Params({}, {}), content, message))
        return sent

    async def send_document(self, params: Params) -> JSON:
        chat = self._chat(params, sending=True)
        source = self._resolve_file(params.file("document"), "document")
        if isinstance(source, Upload):
            if not source.data:
                raise bad_request("file must be non-empty")
            stored = self.world.store_document(source.data, source.filename, source.content_type)
        else:
            stored = source
        document: JSON = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
        }
        if stored.file_name:
            document["file_name"] = stored.file_name
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        content: JSON = {"document": document}
        caption = self._caption(params, content)
        sent = SentMessage(
            message_id=0,
            chat_id=chat.id,
            kind="document",
            date=0,
            caption=caption.text if caption else None,
            source=params.text("caption"),
            parse_mode=params.text("parse_mode"),
            file_id=stored.file_id,
            file_name=stored.file_name,
            file_bytes=stored.data,
            mime_type=stored.mime_type,
        )
        return await self._send(chat, params, content, sent)

    # -- editing ---------------------------------------------------------------------------

    async def _apply_edit(
        self,
        chat: Chat,
        sent: SentMessage,
        method: str,
        changes: JSON,
        reply_markup: JSON | None,
    ) -> JSON:
        """Replace ``changes`` and the inline keyboard; refuse a no-op like Telegram."""
        old = sent.raw
        new = {key: value for key, value in old.items() if key not in changes}
        new.update({key: value for key, value in changes.items() if value})
        new.pop("reply_markup", None)
        if reply_markup and "inline_keyboard" in reply_markup:
            new["reply_markup"] = reply_markup
        compared = ("text", "entities", "caption", "caption_entities", "reply_markup")
        if all(old.get(key) == new.get(key) for key in compared):
            raise bad_request(_NOT_MODIFIED)
        new["edit_date"] = self.world.now()
        chat.messages[sent.message_id] = new
        sent.raw = new
        sent.edit_date = new["edit_date"]
        sent.reply_markup = new.get("reply_markup")
        if "text" in changes:
            sent.text = new.get("text")
        if "caption" in changes:
            sent.caption = new.get("caption")
        chat.edits.append(
            Edit(
                message=sent,
                method=method,
                text=sent.text,
                caption=sent.caption,
                reply_markup=sent.reply_markup,
            )
        )
        logger.debug("bot edits %s: %s", chat.id, sent.describe())
        await self.world.notify()
        return new

    def _new_markup(self, params: Params) -> JSON | None:
        markup = _check_reply_markup(params.structured("reply_markup", "reply keyboard markup"))
        if markup is not None and "inline_keyboard" not in markup:
            raise bad_request("inline keyboard expected")
        return markup

    async def edit_message_text(self, params: Params) -> JSON:
        chat, sent = self._editable(params)
        if sent.kind != "text":
            raise bad_request("there is no text in the message to edit")
        if not (params.text("text") or "").strip():
            raise bad_request("message text is empty")
        formatted = self._formatted(params, "text", MAX_TEXT, kind="text")
        markup = self._new_markup(params)
        changes: JSON = {"text": formatted.text, "entities": formatted.entities}
        new = await self._apply_edit(chat, sent, "editMessageText", changes, markup)
        sent.source = params.text("text")
        sent.parse_mode = params.text("parse_mode")
        return new

    async def edit_message_caption(self, params: Params) -> JSON:
        chat, sent = self._editable(params)
        if sent.kind == "text":
            raise bad_request("there is no caption in the message to edit")
        formatted = self._formatted(params, "caption", MAX_CAPTION, kind="caption")
        markup = self._new_markup(params)
        changes: JSON = {"caption": formatted.text, "caption_entities": formatted.entities}
        new = await self._apply_edit(chat, sent, "editMessageCaption", changes, markup)
        sent.source = params.text("caption")
        sent.parse_mode = params.text("parse_mode")
        return new

    async def edit_message_reply_markup(self, params: Params) -> JSON:
        chat, sent = self._editable(params)
        markup = self._new_markup(params)
        return await self._apply_edit(chat, sent, "editMessageReplyMarkup", {}, markup)

    # -- callbacks, files, commands, chat housekeeping -------------------------------------

    async def answer_callback_query(self, params: Params) -> bool:
        query_id = params.text("callback_query_id") or ""
        state = self.world.callback_queries.get(query_id)
        if state is None or state.answered:
            raise bad_request(_BAD_QUERY)
        state.answered = True
        chat = self.world.chats[state.chat_id]
        chat.answers.append(
            CallbackAnswer(
                callback_query_id=query_id,
                data=state.data,
                message_id=state.message_id,
                text=params.text("text"),
                show_alert=params.flag("show_alert"),
                url=params.text("url"),
                cache_time=params.integer("cache_time") or 0,
            )
        )
        await self.world.notify()
        return True

    async def get_file(self, params: Params) -> JSON:
        stored = self.world.files.get(params.text("file_id") or "")
        if stored is None:
            raise bad_request("invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD:
            raise bad_request("file is too big")
        return stored.file_json()

    def _commands_key(self, params: Params) -> tuple[str, str]:
        scope = params.structured("scope", "scope") or {"type": "default"}
        if not isinstance(scope, dict) or "type" not in scope:
            raise bad_request("can't parse BotCommandScope JSON object")
        if "chat_id" in scope:
            try:
                scope = {**scope, "chat_id": int(scope["chat_id"])}
            except (TypeError, ValueError):
                raise bad_request("chat not found") from None
        return json.dumps(scope, sort_keys=True), params.text("language_code") or ""

    async def set_my_commands(self, params: Params) -> bool:
        commands = params.structured("commands", "commands")
        if not isinstance(commands, list):
            raise bad_request('parameter "commands" is required')
        checked: list[JSON] = []
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse BotCommand JSON object")
            name = str(command.get("command", "")).removeprefix("/")
            description = str(command.get("description", ""))
            if not _COMMAND_NAME.fullmatch(name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            checked.append({"command": name, "description": description})
        self.world.commands[self._commands_key(params)] = checked
        return True

    async def get_my_commands(self, params: Params) -> list[JSON]:
        return list(self.world.commands.get(self._commands_key(params), []))

    async def delete_my_commands(self, params: Params) -> bool:
        self.world.commands.pop(self._commands_key(params), None)
        return True

    async def send_chat_action(self, params: Params) -> bool:
        chat = self._chat(params, sending=True)
        action = params.text("action") or ""
        if action not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        chat.actions.append(action)
        await self.world.notify()
        return True

    def _delete(self, chat: Chat, message_id: int) -> bool:
        if chat.messages.pop(message_id, None) is None:
            return False
        sent = chat.sent_message(message_id)
        if sent is not None:
            sent.deleted = True
        return True

    async def delete_message(self, params: Params) -> bool:
        chat = self._chat(params)
        if not self._delete(chat, self._message_id(params)):
            raise bad_request("message to delete not found")
        await self.world.notify()
        return True

    async def delete_messages(self, params: Params) -> bool:
        chat = self._chat(params)
        ids = params.structured("message_ids", "message_ids")
        if not isinstance(ids, list) or not ids:
            raise bad_request("message identifiers are not specified")
        try:
            message_ids = [int(message_id) for message_id in ids]
        except (TypeError, ValueError):
            raise bad_request("message identifiers are invalid") from None
        for message_id in message_ids:
            self._delete(chat, message_id)
        await self.world.notify()
        return True
