"""Webhook mode: where Telegram posts updates, where the bot listens, and the secret token
that PTB checks on every request (X-Telegram-Bot-Api-Secret-Token)."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.settings import BotSection


def new_webhook_secret() -> str:
    """64 characters of A-Z a-z 0-9 _ - (what Telegram allows), 384 random bits."""
    return secrets.token_urlsafe(48)


class ConstantTimeSecret(str):
    """The secret as PTB holds it. PTB compares the request's header with ``!=``; Python asks
    the right operand first when it is a subclass of the left one's type, so the comparison
    is this one, which takes as long whatever the guess (no timing to learn it from)."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, str):
            return NotImplemented
        return hmac.compare_digest(self.encode(), other.encode())

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = str.__hash__


@dataclass(frozen=True)
class WebhookOptions:
    # The public URL given to setWebhook (the reverse proxy's https address).
    url: str
    secret_token: str
    # Where the bot's own HTTP server listens; the proxy forwards the URL's path here.
    listen: str = "127.0.0.1"
    port: int = 8443

    def __post_init__(self) -> None:
        object.__setattr__(self, "secret_token", ConstantTimeSecret(self.secret_token))

    @property
    def url_path(self) -> str:
        """The path the bot serves, the same as the public URL's (the proxy keeps it)."""
        return urlsplit(self.url).path.lstrip("/")

    @property
    def local_url(self) -> str:
        """Where the bot's server answers on this machine (health checks, tests)."""
        return f"http://{self.listen}:{self.port}/{self.url_path}"

    @classmethod
    def from_settings(cls, bot: BotSection) -> WebhookOptions | None:
        """None in polling mode; settings validation guarantees URL and secret otherwise."""
        if bot.mode != "webhook" or bot.secret is None:
            return None
        return cls(
            url=bot.webhook_url,
            secret_token=bot.secret,
            listen=bot.webhook_listen,
            port=bot.webhook_port,
        )
