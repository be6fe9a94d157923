"""A fake Telegram Bot API server for tests and the offline demo.

It speaks the real Bot API over HTTP, so the bot under test is an unmodified PTB application:

    async with SandboxServer() as sandbox:
        app = (ApplicationBuilder().token(sandbox.token).base_url(sandbox.base_url)
               .base_file_url(sandbox.base_file_url).build())
        ...  # start the application and its polling
        user = sandbox.user(1001, "张三")
        await user.send("/start")
        (welcome,) = await user.replies(1)
        await user.press("开始检查")
        (edit,) = await user.edits(1)
        assert sandbox.count("sendMessage") == 1

``policy`` is the seam for fault injection: an async callable that sees every call first and
may answer it instead (e.g. ``ApiReply.too_many_requests(3)``). ``bot.sandbox.faults`` has
the ready-made ones: ``RateLimits()`` (Telegram's flood limits, answered with 429) and
``FaultInjector(rate=0.1, seed=7)`` (429, 500, 502 and dropped connections), combined with
``chain``.
"""

from bot.sandbox.faults import Fault, FaultInjector, Limit, RateLimits, chain
from bot.sandbox.records import (
    ApiCall,
    ApiReply,
    Button,
    CallbackAnswer,
    CallRecord,
    Edit,
    Policy,
    SentMessage,
    StoredFile,
    Upload,
)
from bot.sandbox.server import DEFAULT_TOKEN, DOWNLOAD, SandboxServer
from bot.sandbox.updates import UpdateQueue
from bot.sandbox.users import SandboxUser, UserAction

__all__ = [
    "DEFAULT_TOKEN",
    "DOWNLOAD",
    "ApiCall",
    "ApiReply",
    "Button",
    "CallRecord",
    "CallbackAnswer",
    "Edit",
    "Fault",
    "FaultInjector",
    "Limit",
    "Policy",
    "RateLimits",
    "SandboxServer",
    "SandboxUser",
    "SentMessage",
    "StoredFile",
    "UpdateQueue",
    "Upload",
    "UserAction",
    "chain",
]
