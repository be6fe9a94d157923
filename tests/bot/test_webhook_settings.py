"""Webhook mode in config.toml: URL and secret required, the secret only from the
environment, each problem naming its key."""

import hmac
from pathlib import Path

import pytest

from bot.app.webhook import WebhookOptions, new_webhook_secret
from bot.settings import ConfigError, load_settings

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.toml"
POLLING = 'mode = "polling"'
WEBHOOK = 'mode = "webhook"\nwebhook_url = "https://bot.example.cn/telegram/hook"'
SECRET_ENV = "TELEGRAM_WEBHOOK_SECRET"


def config_with(tmp_path: Path, new: str) -> Path:
    text = REPO_CONFIG.read_text(encoding="utf-8")
    assert POLLING in text
    path = tmp_path / "config.toml"
    path.write_text(text.replace(POLLING, new), encoding="utf-8")
    return path


def test_polling_is_the_default_and_has_no_webhook() -> None:
    settings = load_settings(REPO_CONFIG, {})
    assert settings.bot.mode == "polling"
    assert WebhookOptions.from_settings(settings.bot) is None


def test_webhook_mode_with_url_and_secret(tmp_path: Path) -> None:
    path = config_with(tmp_path, WEBHOOK + "\nwebhook_port = 9000")
    settings = load_settings(path, {SECRET_ENV: "abc-DEF_123-abc-DEF_123-abc-DEF_123"})
    options = WebhookOptions.from_settings(settings.bot)
    assert options == WebhookOptions(
        url="https://bot.example.cn/telegram/hook",
        secret_token="abc-DEF_123-abc-DEF_123-abc-DEF_123",
        listen="127.0.0.1",
        port=9000,
    )
    assert options.url_path == "telegram/hook"
    assert "abc-DEF_123-abc-DEF_123-abc-DEF_123" not in repr(settings)


@pytest.mark.parametrize(
    ("config", "env", "key", "detail"),
    [
        ('mode = "webhook"', {SECRET_ENV: "a" * 32}, "bot.webhook_url", "required"),
        (WEBHOOK, {}, "bot.webhook_secret", SECRET_ENV),
        (WEBHOOK, {SECRET_ENV: "有空格 的密钥" * 8}, SECRET_ENV, "A-Z"),
        (WEBHOOK, {SECRET_ENV: "a"}, SECRET_ENV, "32-256"),
        (WEBHOOK, {SECRET_ENV: "a" * 31}, SECRET_ENV, "python -m bot secret"),
        ('mode = "hook"', {}, "bot.mode", "polling"),
        (WEBHOOK + "\nwebhook_port = 70000", {SECRET_ENV: "a" * 32}, "bot.webhook_port", "65535"),
        (
            'mode = "webhook"\nwebhook_url = "bot.example.cn"',
            {SECRET_ENV: "a" * 32},
            "webhook_url",
            "",
        ),
    ],
)
def test_a_bad_webhook_setting_names_its_key(
    tmp_path: Path, config: str, env: dict[str, str], key: str, detail: str
) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(config_with(tmp_path, config), env)
    assert key in str(error.value) and detail in str(error.value)


def test_the_secret_never_lives_in_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=SECRET_ENV):
        load_settings(config_with(tmp_path, WEBHOOK + '\nwebhook_secret = "abc"'), {})


def test_a_fresh_secret_is_accepted_and_compared_in_constant_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = new_webhook_secret()
    assert len(secret) >= 32 and secret != new_webhook_secret()
    settings = load_settings(config_with(tmp_path, WEBHOOK), {SECRET_ENV: secret})
    options = WebhookOptions.from_settings(settings.bot)
    assert options is not None
    compared: list[tuple[bytes, bytes]] = []

    def compare_digest(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return a == b

    monkeypatch.setattr(hmac, "compare_digest", compare_digest)
    # PTB's own check is `header != secret_token`, header on the left.
    header = "x" * len(secret)
    assert header != options.secret_token
    assert not secret != options.secret_token  # noqa: SIM202 (PTB's spelling)
    assert compared == [(secret.encode(), header.encode()), (secret.encode(), secret.encode())]
