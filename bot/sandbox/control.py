"""A small JSON control API under /sandbox/, so a sandbox in its own process can be driven.

In-process tests use ``SandboxUser`` directly; this is for ``python -m bot.sandbox`` and
poking at a running demo with curl:

    curl -d '{"text": "/start"}' localhost:8081/sandbox/users/1001/send
    curl localhost:8081/sandbox/users/1001/messages
    curl -d '{"faults": 0.1, "seed": 7, "rate_limits": true}' localhost:8081/sandbox/faults
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from typing import Any, Protocol

from aiohttp import web

from bot.sandbox.faults import FaultInjector, RateLimits
from bot.sandbox.records import SentMessage
from bot.sandbox.users import SandboxUser

logger = logging.getLogger(__name__)


def message_json(message: SentMessage) -> dict[str, Any]:
    return {
        "message_id": message.message_id,
        "kind": message.kind,
        "text": message.text,
        "caption": message.caption,
        "buttons": message.buttons,
        "keyboard": message.keyboard,
        "file_name": message.file_name,
        "edited": message.edit_date is not None,
        "deleted": message.deleted,
    }


class Controlled(Protocol):
    """What the control API drives: the sandbox server (which adds these routes)."""

    fault_injector: FaultInjector | None
    rate_limits: RateLimits | None

    def user(self, user_id: int, first_name: str, username: str | None = ...) -> SandboxUser: ...

    def call_counts(self, *, ok_only: bool = True) -> Counter[str]: ...

    def configure_faults(
        self, fault_rate: float = 0.0, *, seed: int = 0, rate_limits: bool = False
    ) -> None: ...


def add_routes(app: web.Application, sandbox: Controlled) -> None:
    async def body(request: web.Request) -> dict[str, Any]:
        if not request.can_read_body:
            return {}
        try:
            data = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="JSON body expected") from None
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(text="JSON object expected")
        return data

    def user_of(request: web.Request, data: dict[str, Any]) -> SandboxUser:
        try:
            user_id = int(request.match_info["user_id"])
        except ValueError:
            raise web.HTTPBadRequest(text="user id must be an integer") from None
        return sandbox.user(
            user_id,
            str(data.get("first_name") or f"用户{user_id}"),
            username=data.get("username"),
        )

    async def send(request: web.Request) -> web.Response:
        data = await body(request)
        text = data.get("text")
        if not isinstance(text, str) or not text:
            raise web.HTTPBadRequest(text='"text" is required')
        action = await user_of(request, data).send(text)
        return web.json_response({"update_id": action.update_id})

    async def press(request: web.Request) -> web.Response:
        data = await body(request)
        button = data.get("button")
        if not isinstance(button, str):
            raise web.HTTPBadRequest(text='"button" is required')
        user = user_of(request, data)
        try:
            action = await user.press(button, message=data.get("message_id"))
        except AssertionError as exc:
            raise web.HTTPNotFound(text=str(exc)) from None
        return web.json_response({"update_id": action.update_id})

    async def messages(request: web.Request) -> web.Response:
        user = user_of(request, {})
        return web.json_response([message_json(m) for m in user.messages], dumps=_dumps_unicode)

    async def calls(request: web.Request) -> web.Response:
        return web.json_response(dict(sandbox.call_counts(ok_only=False)))

    async def faults(request: web.Request) -> web.Response:
        """POST {"faults": 0.1, "seed": 7, "rate_limits": true} replaces the policy; both
        methods answer what was injected and refused so far."""
        if request.method == "POST":
            data = await body(request)
            try:
                sandbox.configure_faults(
                    float(data.get("faults") or 0.0),
                    seed=int(data.get("seed") or 0),
                    rate_limits=bool(data.get("rate_limits")),
                )
            except (TypeError, ValueError) as exc:
                raise web.HTTPBadRequest(text=str(exc)) from None
        injector, limits = sandbox.fault_injector, sandbox.rate_limits
        return web.json_response(
            {
                "injected": dict(injector.injected) if injector else {},
                "refused": dict(limits.refused) if limits else {},
            }
        )

    app.router.add_route("*", "/sandbox/faults", faults)
    app.router.add_post("/sandbox/users/{user_id}/send", send)
    app.router.add_post("/sandbox/users/{user_id}/press", press)
    app.router.add_get("/sandbox/users/{user_id}/messages", messages)
    app.router.add_get("/sandbox/calls", calls)


def _dumps_unicode(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
