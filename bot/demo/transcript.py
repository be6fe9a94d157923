"""A readable chat transcript of a simulation: what the simulated staff did and, in the order
the sandbox received them, the Bot API calls the bot made (messages, edits, pop-up answers),
rendered the way a Telegram client shows them. Nothing here is made up: bot lines come from
the sandbox's call log, user lines from the actions themselves."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.clock import Clock
from bot.sandbox import SandboxServer, SandboxUser, Upload, UserAction
from bot.sandbox.formatting import EntityParseError, format_text
from bot.sandbox.records import CallRecord, inline_buttons
from bot.views import texts

_SEND_METHODS = {"sendMessage": None, "sendPhoto": "photo", "sendDocument": "document"}
# Long messages (lists of checks) are cut in the transcript, saying how much was left out.
MAX_LINES = 14
MAX_BUTTONS = 4
_EDIT_METHODS = frozenset({"editMessageText", "editMessageCaption", "editMessageReplyMarkup"})


def _structured(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _plain(params: Mapping[str, Any], field: str) -> str:
    source = params.get(field)
    if not isinstance(source, str):
        return ""
    parse_mode = params.get("parse_mode")
    try:
        return format_text(source, parse_mode if isinstance(parse_mode, str) else None).text
    except EntityParseError:
        return source


@dataclass
class Counts:
    """How much the transcript showed: for the summary."""

    bot_messages: int = 0
    user_actions: int = 0


class Transcript:
    """Writes lines through ``write`` as the simulation goes; call ``flush`` after each step."""

    def __init__(self, sandbox: SandboxServer, clock: Clock, write: Callable[[str], None]) -> None:
        self._sandbox = sandbox
        self._clock = clock
        self._write = write
        self._names: dict[int, str] = {}
        self._seen_calls = 0
        # Texts already shown per chat: an edit that keeps the text only changed buttons.
        self._shown: dict[int, set[str]] = {}
        self.counts = Counts()

    def name(self, user: SandboxUser, label: str) -> None:
        """How a chat is shown: e.g. 陈明（检查员）."""
        self._names[user.id] = label

    def _who(self, chat_id: int) -> str:
        return self._names.get(chat_id, str(chat_id))

    def _time(self) -> str:
        return self._clock.now().strftime("%H:%M")

    def scene(self, title: str) -> None:
        """A heading: the day and time and what happens next."""
        self.flush()
        self._write("")
        self._write(texts.demo_scene(_day_and_time(self._clock.now()), title))

    def note(self, text: str) -> None:
        self.flush()
        self._write(texts.demo_note(text))

    # -- the simulated staff's side ----------------------------------------------------------

    async def send(self, user: SandboxUser, text: str) -> UserAction:
        self.flush()
        self._user_line(user, texts.demo_user_text(text))
        return await user.send(text)

    async def send_photo(self, user: SandboxUser, data: bytes, caption: str | None) -> UserAction:
        self.flush()
        self._user_line(user, texts.demo_user_photo(caption))
        return await user.send_photo(data, caption)

    async def press(self, user: SandboxUser, label: str) -> UserAction:
        """Press the newest button whose label is or contains ``label``."""
        self.flush()
        exact = _button_label(user, label)
        self._user_line(user, texts.demo_user_press(exact))
        return await user.press(exact)

    def _user_line(self, user: SandboxUser, what: str) -> None:
        self.counts.user_actions += 1
        self._write(texts.demo_line(self._time(), self._who(user.id), what))

    # -- the bot's side ----------------------------------------------------------------------

    async def caught_up(self, timeout: float = 5.0) -> None:
        """Wait until the call log holds every message and edit the chats show: a reply
        wakes the waiting person just before the sandbox logs the call that made it."""
        world = self._sandbox.world
        async with asyncio.timeout(timeout):
            while True:
                stored = sum(len(c.sent) + len(c.edits) for c in world.chats.values())
                logged = sum(
                    1
                    for call in self._sandbox.calls
                    if call.ok and (call.method in _SEND_METHODS or call.method in _EDIT_METHODS)
                )
                if logged >= stored:
                    return
                await asyncio.sleep(0.005)

    def flush(self) -> None:
        """Print every Bot API call the bot made since the last flush, in arrival order."""
        calls = self._sandbox.calls
        new, self._seen_calls = calls[self._seen_calls :], len(calls)
        for call in new:
            if call.ok:
                self._bot_call(call)

    def _bot_call(self, call: CallRecord) -> None:
        params = call.params
        if call.method in _SEND_METHODS:
            self.counts.bot_messages += 1
            self._bot_message(call.method, params)
        elif call.method in _EDIT_METHODS:
            chat_id = _int(params.get("chat_id"))
            text = _plain(params, "text") or _plain(params, "caption")
            markup = _structured(params.get("reply_markup"))
            shown = self._shown.setdefault(chat_id, set())
            if not text or text in shown:
                # Only the buttons changed (typically: removed once pressed).
                text = texts.DEMO_EDIT_BUTTONS if markup else texts.DEMO_EDIT_NO_BUTTONS
            else:
                shown.add(text)
                text = texts.demo_edited(text)
            self._write(texts.demo_line(self._time(), texts.demo_bot_to(self._who(chat_id)), ""))
            self._body(text, markup)
        elif call.method == "answerCallbackQuery":
            toast = params.get("text")
            if isinstance(toast, str) and toast:
                state = self._sandbox.world.callback_queries.get(str(params["callback_query_id"]))
                who = self._who(state.chat_id) if state else ""
                self._write(texts.demo_line(self._time(), texts.demo_bot_to(who), ""))
                self._body(texts.demo_toast(toast), None)

    def _bot_message(self, method: str, params: Mapping[str, Any]) -> None:
        chat_id = _int(params.get("chat_id"))
        self._write(texts.demo_line(self._time(), texts.demo_bot_to(self._who(chat_id)), ""))
        kind = _SEND_METHODS[method]
        text = _plain(params, "text" if kind is None else "caption")
        if kind == "photo":
            text = texts.demo_photo(text)
        elif kind == "document":
            upload = params.get("document")
            name = upload.filename if isinstance(upload, Upload) else None
            text = texts.demo_document(name or "", text)
        self._shown.setdefault(chat_id, set()).add(text)
        self._body(text, _structured(params.get("reply_markup")))

    def _body(self, text: str, markup: Any) -> None:
        lines = text.splitlines() or [""]
        for line in lines[:MAX_LINES]:
            self._write(texts.demo_body(line))
        if len(lines) > MAX_LINES:
            self._write(texts.demo_body(texts.demo_more_lines(len(lines) - MAX_LINES)))
        rows = inline_buttons(markup if isinstance(markup, dict) else None)
        labels = [label for row in rows for label, _ in row]
        if labels:
            self._write(texts.demo_body(texts.demo_buttons(labels, MAX_BUTTONS)))


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _button_label(user: SandboxUser, wanted: str) -> str:
    """The exact label of the newest live button equal to or containing ``wanted``."""
    for message in reversed(user.messages):
        if message.deleted:
            continue
        labels = message.button_texts
        if wanted in labels:
            return wanted
        for label in labels:
            if wanted in label:
                return label
    raise AssertionError(f"{user!r} sees no button {wanted!r}")


def _day_and_time(moment: datetime) -> str:
    return texts.demo_day_and_time(
        moment.month, moment.day, moment.weekday(), moment.hour, moment.minute
    )
