"""Webhook mode: where Telegram posts updates, where the bot listens, and the secret token
that PTB checks on every request (X-Telegram-Bot-Api-Secret-Token)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.settings import BotSection


@dataclass(frozen=True)
class WebhookOptions:
    # The public URL given to setWebhook (the reverse proxy's https address).
    url: str
    secret_token: str
    # Where the bot's own HTTP server listens; the proxy forwards the URL's path here.
    listen: str = "127.0.0.1"
    port: int = 8443

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
