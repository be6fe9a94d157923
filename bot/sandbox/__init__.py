"""A fake Telegram Bot API server for tests and the offline demo.

async with SandboxServer() as sandbox:
    bot = telegram.Bot(sandbox.token, base_url=sandbox.base_url,
                       base_file_url=sandbox.base_file_url)
    user = sandbox.user(1001, "张三")
    await user.send("/start")
    (reply,) = await user.replies(1)
"""

from bot.sandbox.records import (
    ApiCall,
    ApiReply,
    Button,
    CallbackAnswer,
    CallRecord,
    Edit,
    SentMessage,
    StoredFile,
    Upload,
)
from bot.sandbox.server import DEFAULT_TOKEN, DOWNLOAD, Policy, SandboxServer
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
    "Policy",
    "SandboxServer",
    "SandboxUser",
    "SentMessage",
    "StoredFile",
    "UpdateQueue",
    "Upload",
    "UserAction",
]
