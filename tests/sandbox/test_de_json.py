"""Every result and update the sandbox produces parses with PTB's own ``de_json``, strictly.

Strictly means: no field lands in ``api_kwargs`` (PTB's bin for fields it does not know), the
object serialises back to exactly the JSON we sent, and dates are Unix seconds.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import telegram
from telegram import (
    BotCommand,
    File,
    Message,
    TelegramObject,
    Update,
    User,
    WebhookInfo,
)

from bot.sandbox import SandboxServer
from bot.sandbox.samples import png

USER_ID = 2002
PNG = png(1280, 960)

# The class each method's result must parse as; bool results are checked to be true.
RESULT_TYPES: dict[str, type[TelegramObject] | type[bool]] = {
    "getMe": User,
    "logOut": bool,
    "close": bool,
    "getUpdates": Update,
    "setWebhook": bool,
    "deleteWebhook": bool,
    "getWebhookInfo": WebhookInfo,
    "sendMessage": Message,
    "sendPhoto": Message,
    "sendDocument": Message,
    "sendMediaGroup": Message,
    "editMessageText": Message,
    "editMessageCaption": Message,
    "editMessageReplyMarkup": Message,
    "answerCallbackQuery": bool,
    "getFile": File,
    "setMyCommands": bool,
    "getMyCommands": BotCommand,
    "deleteMyCommands": bool,
    "sendChatAction": bool,
    "deleteMessage": bool,
    "deleteMessages": bool,
}


def unknown_fields(value: object, path: str = "") -> list[str]:
    """Paths of every field PTB did not recognise, anywhere in the object tree."""
    if isinstance(value, TelegramObject):
        found = [f"{path}.{key}" for key in value.api_kwargs]
        for cls in type(value).__mro__:
            for slot in getattr(cls, "__slots__", ()):
                if not slot.startswith("_") and slot != "api_kwargs":
                    found += unknown_fields(getattr(value, slot, None), f"{path}.{slot}")
        return found
    if isinstance(value, tuple | list):
        return [f for i, item in enumerate(value) for f in unknown_fields(item, f"{path}[{i}]")]
    return []


def missing(sent: object, kept: object, path: str = "") -> list[str]:
    """Paths of values we sent that PTB's object does not give back the same.

    PTB adds its own defaults (e.g. ``delete_chat_photo: False``), so only our side is compared.
    """
    if isinstance(sent, dict):
        if not isinstance(kept, dict):
            return [path]
        return [p for k, v in sent.items() for p in missing(v, kept.get(k), f"{path}.{k}")]
    if isinstance(sent, list):
        if not isinstance(kept, list | tuple) or len(kept) != len(sent):
            return [path]
        return [
            p
            for i, (a, b) in enumerate(zip(sent, kept, strict=True))
            for p in missing(a, b, f"{path}[{i}]")
        ]
    return [] if sent == kept else [path]


def dates(value: object) -> list[int]:
    if isinstance(value, dict):
        found = [v for k, v in value.items() if k in ("date", "edit_date")]
        return found + [d for v in value.values() for d in dates(v)]
    if isinstance(value, list):
        return [d for item in value for d in dates(item)]
    return []


def assert_parses(kind: type[TelegramObject], data: dict[str, Any], bot: telegram.Bot) -> None:
    parsed = kind.de_json(data, bot)
    assert parsed is not None
    assert unknown_fields(parsed) == [], f"{kind.__name__} fields PTB does not know"
    assert missing(data, parsed.to_dict()) == []
    for date in dates(data):
        assert isinstance(date, int) and abs(date - time.time()) < 60, "date in Unix seconds"


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    async with SandboxServer() as server:
        yield server


@pytest.fixture
async def bot(sandbox: SandboxServer) -> AsyncIterator[telegram.Bot]:
    async with telegram.Bot(
        sandbox.token, base_url=sandbox.base_url, base_file_url=sandbox.base_file_url
    ) as connected:
        yield connected


class RawApi:
    """Calls the sandbox over plain HTTP and keeps each method's raw result."""

    def __init__(self, client: httpx.AsyncClient, sandbox: SandboxServer) -> None:
        self.client = client
        self.url = f"{sandbox.base_url}{sandbox.token}"
        self.results: dict[str, list[Any]] = {}

    async def __call__(
        self, method: str, files: dict[str, Any] | None = None, **params: Any
    ) -> Any:
        if files:
            form = {k: v if isinstance(v, str) else str(v) for k, v in params.items()}
            response = await self.client.post(f"{self.url}/{method}", data=form, files=files)
        else:
            response = await self.client.post(f"{self.url}/{method}", json=params)
        body = response.json()
        assert body["ok"], body
        self.results.setdefault(method, []).append(body["result"])
        return body["result"]


async def test_every_result_and_update_parses_with_de_json(
    sandbox: SandboxServer, bot: telegram.Bot
) -> None:
    user = sandbox.user(USER_ID, "李四", username="lisi", last_name="李")
    async with httpx.AsyncClient() as client:
        api = RawApi(client, sandbox)
        await api("getMe")
        await api("setWebhook", url="https://bot.example/hook")
        await api("getWebhookInfo")
        await api("deleteWebhook", drop_pending_updates=True)
        await api("setMyCommands", commands=[{"command": "start", "description": "开始"}])
        await api("getMyCommands")
        await api("deleteMyCommands")
        await api("sendChatAction", chat_id=USER_ID, action="typing")

        await user.send("/start 邀请码")
        await user.send("北京 和平里网点 排队太久")
        await user.send_photo(PNG, caption="现场")
        await user.send_document(b"a,b\n", "明细.csv", caption="附件")
        text = await api(
            "sendMessage",
            chat_id=USER_ID,
            text="<b>收到</b> 😀 <a href='https://example.com'>详情</a>",
            parse_mode="HTML",
            reply_parameters={"message_id": 1},
            reply_markup={"inline_keyboard": [[{"text": "确认", "callback_data": "ok"}]]},
        )
        await user.press("确认")
        await api(
            "editMessageText",
            chat_id=USER_ID,
            message_id=text["message_id"],
            text="已确认",
            reply_markup={"inline_keyboard": [[{"text": "撤销", "callback_data": "undo"}]]},
        )
        await api("editMessageReplyMarkup", chat_id=USER_ID, message_id=text["message_id"])
        photo = await api(
            "sendPhoto",
            files={"photo": ("p.png", PNG, "image/png")},
            chat_id=USER_ID,
            caption="照片",
        )
        await api(
            "editMessageCaption", chat_id=USER_ID, message_id=photo["message_id"], caption="新"
        )
        await api("sendDocument", chat_id=USER_ID, document=user_document_id(sandbox))
        known = photo["photo"][-1]["file_id"]
        album = [
            {"type": "photo", "media": known, "caption": "相册"},
            {"type": "photo", "media": known},
        ]
        await api("sendMediaGroup", chat_id=USER_ID, media=album)
        uploaded = [{"type": "photo", "media": f"attach://p{n}"} for n in range(2)]
        await api(
            "sendMediaGroup",
            files={f"p{n}": (f"p{n}.png", PNG, "image/png") for n in range(2)},
            chat_id=USER_ID,
            media=json.dumps(uploaded),
        )
        await api("getFile", file_id=photo["photo"][-1]["file_id"])
        await api("deleteMessage", chat_id=USER_ID, message_id=photo["message_id"])
        await api("deleteMessages", chat_id=USER_ID, message_ids=[text["message_id"]])

        updates = await api("getUpdates")
        query = next(u for u in updates if "callback_query" in u)
        await api("answerCallbackQuery", callback_query_id=query["callback_query"]["id"])
        await api("getUpdates", offset=updates[-1]["update_id"] + 1)
        await api("logOut")
        await api("close")

    assert set(api.results) == set(RESULT_TYPES) == set(sandbox.api.methods)
    for method, results in api.results.items():
        kind = RESULT_TYPES[method]
        for result in results:
            if kind is bool:
                assert result is True, method
                continue
            assert issubclass(kind, TelegramObject)
            for item in result if isinstance(result, list) else [result]:
                assert_parses(kind, item, bot)

    kinds = [next(k for k in u if k != "update_id") for u in updates]
    assert kinds == ["message"] * 4 + ["callback_query"]
    messages = [Update.de_json(u, bot).effective_message for u in updates]
    assert [m.text or m.caption for m in messages if m] == [
        "/start 邀请码",
        "北京 和平里网点 排队太久",
        "现场",
        "附件",
        "收到 😀 详情",
    ]


def user_document_id(sandbox: SandboxServer) -> str:
    """The file_id of the document the user sent, for re-sending by id."""
    return next(f.file_id for f in sandbox.world.files.values() if f.kind == "document")
