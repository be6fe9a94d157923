"""The sandbox HTTP server: a fake Telegram Bot API for tests and the offline demo.

Every Bot API request goes through ``SandboxServer._call``: token check, method lookup,
parameter decoding, the optional ``policy`` (where fault injection and rate limits plug in),
the method itself, and the call log. Keep it that way so a policy sees every call.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections import Counter
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from aiohttp import BodyPartReader, web

from bot.sandbox import control
from bot.sandbox.api import ApiError, BotApi, Params
from bot.sandbox.faults import FaultInjector, RateLimits, chain
from bot.sandbox.records import ApiCall, ApiReply, CallRecord, Policy, StoredFile, Upload
from bot.sandbox.updates import UpdateQueue
from bot.sandbox.users import SandboxUser
from bot.sandbox.webhook import WebhookDeliverer
from bot.sandbox.world import Clock, World

logger = logging.getLogger(__name__)

DEFAULT_TOKEN = "123456789:SANDBOX-AAbbCCddEEffGGhhIIjjKKllMMnnOOpp"
# Pseudo-method under which file downloads are logged and shown to the policy.
DOWNLOAD = "downloadFile"
# Telegram's own limits are 10 MB for photos and 50 MB for other uploads.
_MAX_UPLOAD = 50 * 1024 * 1024 + 1024 * 1024


def _bot_id(token: str) -> int:
    prefix = token.split(":", 1)[0]
    return int(prefix) if prefix.isdigit() else 123456789


class SandboxServer:
    """A fake Bot API server, started in-process (``await start()``) on 127.0.0.1."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "sandbox_inspection_bot",
        bot_name: str = "邮政巡检 Sandbox",
        host: str = "127.0.0.1",
        port: int = 0,
        policy: Policy | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.token = token
        self.host = host
        self.policy = policy
        # Set by configure_faults (the standalone sandbox and its control API).
        self.fault_injector: FaultInjector | None = None
        self.rate_limits: RateLimits | None = None
        self._requested_port = port
        self._port: int | None = None
        bot_user: dict[str, Any] = {
            "id": _bot_id(token),
            "is_bot": True,
            "first_name": bot_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.world = World(bot_user, clock)
        self.api = BotApi(self.world)
        # Posts pending updates to the URL a setWebhook registered; idle otherwise.
        self.webhook = WebhookDeliverer(self.world)
        self.calls: list[CallRecord] = []
        # Numbered on arrival: a long poll is logged only when it ends, after later calls.
        self._seq = itertools.count(1)
        self._users: dict[int, SandboxUser] = {}
        self._monotonic = time.monotonic
        self._runner: web.AppRunner | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=_MAX_UPLOAD)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_download)
        control.add_routes(app, self)
        return app

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("sandbox already started")
        self.world.updates.reopen()
        # shutdown_timeout bounds stop() if a client left a request hanging.
        runner = web.AppRunner(self._app(), access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        # A restart keeps the port it had, so bots pointed at it reconnect like to Telegram.
        site = web.TCPSite(runner, self.host, self._requested_port or self._port or 0)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        self.webhook.start()
        logger.info("sandbox Bot API listening on %s", self.url)

    async def stop(self) -> None:
        if self._runner is None:
            return
        await self.webhook.stop()
        await self.world.updates.close()
        await self._runner.cleanup()
        self._runner = None
        logger.info("sandbox Bot API stopped")

    async def __aenter__(self) -> SandboxServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("sandbox not started")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """For ``telegram.Bot(token, base_url=...)``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``telegram.Bot(token, base_file_url=...)``."""
        return f"{self.url}/file/bot"

    def configure_faults(
        self, fault_rate: float = 0.0, *, seed: int = 0, rate_limits: bool = False
    ) -> None:
        """Replace the policy: Telegram's flood limits (if asked) and then ``fault_rate`` of
        the messages answered with a fault."""
        self.rate_limits = RateLimits() if rate_limits else None
        self.fault_injector = FaultInjector(fault_rate, seed=seed) if fault_rate else None
        parts = [p for p in (self.rate_limits, self.fault_injector) if p is not None]
        self.policy = chain(*parts) if parts else None

    # -- simulated users and inspection ----------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str,
        username: str | None = None,
        language_code: str | None = "zh-hans",
        *,
        last_name: str | None = None,
    ) -> SandboxUser:
        """The user with this id, created (with a private chat with the bot) on first use."""
        if user_id not in self._users:
            chat = self.world.add_user(
                user_id,
                first_name,
                last_name=last_name,
                username=username,
                language_code=language_code,
            )
            self._users[user_id] = SandboxUser(self.world, chat)
        return self._users[user_id]

    @property
    def bot_user(self) -> dict[str, Any]:
        return dict(self.world.bot_user)

    @property
    def updates(self) -> UpdateQueue:
        return self.world.updates

    def calls_to(self, method: str, *, ok_only: bool = False) -> list[CallRecord]:
        return [c for c in self.calls if c.method == method and (c.ok or not ok_only)]

    def count(self, method: str, *, ok_only: bool = True) -> int:
        """How many times the bot called ``method`` (by default: successfully)."""
        return len(self.calls_to(method, ok_only=ok_only))

    def call_counts(self, *, ok_only: bool = True) -> Counter[str]:
        return Counter(c.method for c in self.calls if c.ok or not ok_only)

    def commands(
        self, scope: Mapping[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, Any]]:
        """What setMyCommands stored for this scope and language."""
        key = json.dumps(dict(scope or {"type": "default"}), sort_keys=True)
        return list(self.world.commands.get((key, language_code), []))

    def file(self, file_id: str) -> StoredFile | None:
        return self.world.files.get(file_id)

    # -- HTTP ------------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        reply = await self._call(request)
        return _respond(request, reply)

    def _log(self, call: ApiCall, reply: ApiReply, *, by_policy: bool = False) -> None:
        record = CallRecord(
            seq=call.seq,
            method=call.method,
            params=call.params,
            at=call.at,
            status=reply.status,
            description=reply.description,
            by_policy=by_policy,
        )
        self.calls.append(record)
        if not record.ok:
            logger.info("sandbox %s -> %s %s", call.method, reply.status, reply.description)

    async def _call(self, request: web.Request) -> ApiReply:
        if request.match_info["token"] != self.token:
            return ApiReply.error(401, "Unauthorized")
        requested = request.match_info["method"]
        method = self.api.canonical(requested)
        try:
            values, uploads = await _read_params(request)
        except ApiError as exc:
            values, uploads = {}, {}
            failure: ApiError | None = exc
        else:
            failure = None
        call = ApiCall(
            seq=next(self._seq),
            method=method or requested,
            params={**values, **uploads},
            at=self._monotonic(),
        )
        if self.policy is not None:
            forced = await self.policy(call)
            if forced is not None:
                self._log(call, forced, by_policy=True)
                return forced
        if method is None:
            reply = ApiReply.error(404, "Not Found")
        elif failure is not None:
            reply = ApiReply.error(failure.status, failure.description)
        else:
            try:
                result = await self.api.methods[method](Params(values, uploads))
            except ApiError as exc:
                reply = ApiReply.error(exc.status, exc.description, exc.parameters)
            except Exception:
                # A sandbox bug must fail loudly, not look like a flaky network to the bot.
                logger.exception("sandbox failed in %s with %s", method, values)
                reply = ApiReply.error(500, "Internal Server Error")
            else:
                reply = ApiReply.success(result)
        self._log(call, reply)
        return reply

    async def _handle_download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            unauthorized = ApiReply.error(401, "Unauthorized")
            return web.Response(
                status=401, body=unauthorized.body(), content_type="application/json"
            )
        path = request.match_info["path"]
        call = ApiCall(
            seq=next(self._seq), method=DOWNLOAD, params={"file_path": path}, at=self._monotonic()
        )
        reply: ApiReply | None = None
        if self.policy is not None:
            reply = await self.policy(call)
        by_policy = reply is not None
        if reply is None:
            stored = self.world.files_by_path.get(path)
            if stored is not None:
                self._log(call, ApiReply(200, {"ok": True}))
                return web.Response(
                    body=stored.data, content_type=stored.mime_type or "application/octet-stream"
                )
            reply = ApiReply.error(404, "Not Found")
        self._log(call, reply, by_policy=by_policy)
        return _respond(request, reply)


def _respond(request: web.Request, reply: ApiReply) -> web.StreamResponse:
    if reply.dropped:
        # Abort, not close: the client must see the connection die without any answer.
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=500)  # never reaches the client
    return web.Response(status=reply.status, body=reply.body(), content_type="application/json")


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, Upload]]:
    """Query string and body merged; JSON bodies keep their types, form fields are strings."""
    values: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    if not request.can_read_body:
        return values, uploads
    content_type = request.content_type
    if content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse JSON encoded request body") from None
        if not isinstance(body, dict):
            raise ApiError(400, "Bad Request: JSON object expected")
        values.update(body)
    elif content_type == "multipart/form-data":
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.filename is not None:
                data = bytes(await part.read())
                content = part.headers.get("Content-Type")
                uploads[part.name] = Upload(part.name, part.filename, content, data)
            else:
                values[part.name] = await part.text()
    elif content_type == "application/x-www-form-urlencoded":
        form = await request.post()
        values.update({key: str(value) for key, value in form.items()})
    return values, uploads
