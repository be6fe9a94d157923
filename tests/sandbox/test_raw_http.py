"""The sandbox's HTTP surface: every way a client may encode parameters, and error shapes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.sandbox import SandboxServer
from bot.sandbox.samples import png

USER_ID = 3003


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    async with SandboxServer() as server:
        server.user(USER_ID, "王五")
        yield server


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http:
        yield http


def endpoint(sandbox: SandboxServer, method: str) -> str:
    return f"{sandbox.base_url}{sandbox.token}/{method}"


KEYBOARD = {"inline_keyboard": [[{"text": "好", "callback_data": "ok"}]]}


async def test_get_with_query_string(sandbox: SandboxServer, client: httpx.AsyncClient) -> None:
    response = await client.get(
        endpoint(sandbox, "sendMessage"),
        params={"chat_id": str(USER_ID), "text": "查询串", "reply_markup": json.dumps(KEYBOARD)},
    )
    body = response.json()
    assert response.status_code == 200 and body["ok"]
    assert body["result"]["text"] == "查询串"
    assert body["result"]["reply_markup"] == KEYBOARD


async def test_form_urlencoded_fields_carry_json(
    sandbox: SandboxServer, client: httpx.AsyncClient
) -> None:
    response = await client.post(
        endpoint(sandbox, "sendMessage"),
        data={
            "chat_id": str(USER_ID),
            "text": "true",  # a string field stays a string even if it looks like JSON
            "reply_markup": json.dumps(KEYBOARD),
            "disable_notification": "true",
        },
    )
    result = response.json()["result"]
    assert result["text"] == "true"
    assert result["chat"]["id"] == USER_ID
    assert result["reply_markup"] == KEYBOARD


async def test_json_body_with_nested_objects_and_legacy_reply(
    sandbox: SandboxServer, client: httpx.AsyncClient
) -> None:
    first = await client.post(
        endpoint(sandbox, "sendMessage"),
        json={"chat_id": USER_ID, "text": "一", "reply_markup": KEYBOARD},
    )
    first_id = first.json()["result"]["message_id"]
    second = await client.post(
        endpoint(sandbox, "sendmessage"),  # method names are case-insensitive
        json={"chat_id": USER_ID, "text": "二", "reply_to_message_id": first_id},
    )
    result = second.json()["result"]
    assert result["reply_to_message"]["message_id"] == first_id
    assert sandbox.count("sendMessage") == 2


async def test_multipart_upload_with_attach_reference(
    sandbox: SandboxServer, client: httpx.AsyncClient
) -> None:
    response = await client.post(
        endpoint(sandbox, "sendDocument"),
        data={
            "chat_id": str(USER_ID),
            "document": "attach://report",
            "reply_markup": json.dumps(KEYBOARD),
        },
        files={"report": ("汇总.xlsx", b"PK\x03\x04...", "application/vnd.ms-excel")},
    )
    document = response.json()["result"]["document"]
    assert document["file_name"] == "汇总.xlsx"
    assert document["mime_type"] == "application/vnd.ms-excel"
    user = sandbox.user(USER_ID, "王五")
    (sent,) = await user.replies(1)
    assert sent.file_bytes == b"PK\x03\x04..."
    assert sent.buttons == [[("好", "ok")]]


async def test_file_download_route(sandbox: SandboxServer, client: httpx.AsyncClient) -> None:
    image = png(32, 16)
    sent = await client.post(
        endpoint(sandbox, "sendPhoto"),
        data={"chat_id": str(USER_ID)},
        files={"photo": ("p.png", image, "image/png")},
    )
    file_id = sent.json()["result"]["photo"][-1]["file_id"]
    file_path = (await client.post(endpoint(sandbox, "getFile"), json={"file_id": file_id})).json()[
        "result"
    ]["file_path"]
    downloaded = await client.get(f"{sandbox.base_file_url}{sandbox.token}/{file_path}")
    assert downloaded.status_code == 200
    assert downloaded.content == image
    missing = await client.get(f"{sandbox.base_file_url}{sandbox.token}/photos/nope.jpg")
    assert missing.status_code == 404
    stranger = await client.get(f"{sandbox.base_file_url}000:WRONG/{file_path}")
    assert stranger.status_code == 401


@pytest.mark.parametrize(
    ("path", "status", "description"),
    [
        ("bot111:WRONG/getMe", 401, "Unauthorized"),
        ("bot{token}/fooBar", 404, "Not Found"),
        ("bot{token}/sendMessage", 400, "Bad Request: chat_id is empty"),
    ],
)
async def test_error_shapes_match_telegram(
    sandbox: SandboxServer,
    client: httpx.AsyncClient,
    path: str,
    status: int,
    description: str,
) -> None:
    response = await client.post(f"{sandbox.url}/{path.format(token=sandbox.token)}")
    assert response.status_code == status
    assert response.json() == {"ok": False, "error_code": status, "description": description}


async def test_malformed_json_body_is_a_bad_request(
    sandbox: SandboxServer, client: httpx.AsyncClient
) -> None:
    response = await client.post(
        endpoint(sandbox, "sendMessage"),
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["description"].startswith("Bad Request: can't parse JSON")
