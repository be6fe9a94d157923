"""Health for monitoring: the tick leaves a heartbeat, a stuck outbox and a dead database
or webhook listener are problems, `python -m bot health` exits 1 on any of them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.app.cli import main
from bot.app.health import check_health
from bot.settings import Settings
from bot.views import texts
from db.activity import record_heartbeat
from db.inbox import store_update
from db.outbox import enqueue_message
from db.session import Database
from tests.conftest import REPO
from tests.e2e.harness import Harness


async def test_a_running_bot_is_healthy_until_its_ticks_stop(bot: Harness) -> None:
    settings, now = bot.services.settings, bot.clock.now()
    await bot.tick()
    health = await check_health(settings, now)
    assert health.ok, health.problems
    assert health.last_tick == now and health.outbox_pending == 0
    assert health.webhook_listening is None  # polling
    stale = await check_health(settings, now + timedelta(minutes=6))
    assert not stale.ok and "no tick since" in stale.problems[0]


async def test_an_old_unsent_message_is_a_stuck_outbox(
    settings: Settings, database: Database
) -> None:
    """No bot running: the message stays unsent, as when the sender is stuck."""
    sent_at = _now()
    async with database.session() as session:
        await record_heartbeat(session=session, now=sent_at + timedelta(hours=1))
        await enqueue_message(session=session, key="t", chat_id=1, text="x", now=sent_at)
    soon = await check_health(settings, sent_at + timedelta(minutes=29))
    assert soon.outbox_pending == 1 and soon.outbox_oldest == sent_at
    assert not [p for p in soon.problems if "outbox" in p]
    stuck = await check_health(settings, sent_at + timedelta(hours=1))
    assert stuck.problems == (texts.health_outbox_stuck(1, sent_at),)


async def test_an_old_unhandled_update_is_a_stuck_inbox(
    settings: Settings, database: Database
) -> None:
    """No bot running: a stored update waits, as when no worker works."""
    received_at = _now()
    async with database.session() as session:
        await record_heartbeat(session=session, now=received_at + timedelta(minutes=10))
        await store_update(session=session, update_id=1, chat_id=1, payload="{}", now=received_at)
    soon = await check_health(settings, received_at + timedelta(minutes=4))
    assert soon.inbox_pending == 1 and soon.inbox_oldest == received_at and soon.ok
    stuck = await check_health(settings, received_at + timedelta(minutes=10))
    assert stuck.problems == (texts.health_inbox_stuck(1, received_at),)


async def test_webhook_mode_checks_the_listener(settings: Settings) -> None:
    bot_section = settings.bot.model_copy(
        update={
            "mode": "webhook",
            "webhook_url": "https://bot.example.cn/hook",
            "webhook_port": 1,
            "webhook_secret": SecretStr("abc"),
        }
    )
    health = await check_health(settings.model_copy(update={"bot": bot_section}), _now())
    assert health.webhook_listening is False
    assert any("webhook listener down" in p for p in health.problems)


def _now() -> datetime:
    return datetime.now(UTC)


def test_the_command_exits_1_when_the_database_is_unreachable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text((REPO / "config.toml").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/nothing")
    assert main(["--config", str(config), "health", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["database_ok"] is False
    assert "database unreachable" in report["problems"][0]


def test_the_command_on_a_fresh_database(
    database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tmp_path / "config.toml"
    config.write_text((REPO / "config.toml").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["--config", str(config), "health"]) == 1  # no tick has ever run
    out = capsys.readouterr().out
    assert out.startswith("异常 / PROBLEM") and "never" in out
