"""Health for monitoring: `python -m bot health` exits 0 when the database answers, the
scheduled work ran recently and the outbox is not stuck; 1 otherwise. It reads only the
database (and, in webhook mode, tries the bot's listening port), so it can run anywhere the
bot's configuration is: a cron job, a systemd timer, a monitoring agent."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from bot.app.webhook import WebhookOptions
from bot.services import Services
from bot.settings import Settings
from bot.views import texts
from db.activity import last_heartbeat, outbox_backlog, record_heartbeat
from db.inbox import count_pending_updates, oldest_pending_update
from db.session import Database

# The tick runs every minute; a few missed minutes mean the bot is down or stuck.
TICK_STALE_AFTER = timedelta(minutes=5)
# The sender retries a failing message with backoff; half an hour is no longer a blip.
OUTBOX_STUCK_AFTER = timedelta(minutes=30)
# Updates are handled within seconds; one waiting this long means no worker is working.
INBOX_STUCK_AFTER = timedelta(minutes=5)


async def note_heartbeat(services: Services) -> None:
    """The last step of every tick: when the scheduled work last ran, for `bot health`."""
    async with services.db.session() as session:
        await record_heartbeat(session=session, now=services.clock.now())


@dataclass(frozen=True)
class Health:
    database_ok: bool
    database_error: str | None
    last_tick: datetime | None
    outbox_pending: int
    outbox_oldest: datetime | None
    outbox_failed: int
    inbox_pending: int
    inbox_oldest: datetime | None
    webhook_listening: bool | None  # None: polling mode
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> str:
        data = asdict(self)
        data["ok"] = self.ok
        return json.dumps(data, ensure_ascii=False, default=str)


async def _listening(options: WebhookOptions) -> bool:
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(options.listen, options.port), timeout=3
        )
    except (OSError, TimeoutError):
        return False
    writer.close()
    await writer.wait_closed()
    return True


async def check_health(settings: Settings, now: datetime) -> Health:
    database = Database(settings.database.url)
    problems: list[str] = []
    last_tick: datetime | None = None
    pending, oldest, failed = 0, None, 0
    inbox_pending, inbox_oldest = 0, None
    error: str | None = None
    try:
        await database.ping()
        async with database.session() as session:
            last_tick = await last_heartbeat(session=session)
            backlog = await outbox_backlog(session=session)
            inbox_pending = await count_pending_updates(session=session)
            inbox_oldest = await oldest_pending_update(session=session)
        pending, oldest, failed = backlog.pending, backlog.oldest_created_at, backlog.failed
    except Exception as exc:  # any driver error means: the database is not usable
        error = f"{type(exc).__name__}: {exc}"
        problems.append(texts.health_database_down(error))
    finally:
        await database.close()
    if error is None:
        if last_tick is None or now - last_tick > TICK_STALE_AFTER:
            problems.append(texts.health_tick_stale(last_tick))
        if oldest is not None and now - oldest > OUTBOX_STUCK_AFTER:
            problems.append(texts.health_outbox_stuck(pending, oldest))
        if inbox_oldest is not None and now - inbox_oldest > INBOX_STUCK_AFTER:
            problems.append(texts.health_inbox_stuck(inbox_pending, inbox_oldest))
    options = WebhookOptions.from_settings(settings.bot)
    listening = await _listening(options) if options is not None else None
    if listening is False and options is not None:
        problems.append(texts.health_webhook_down(options.listen, options.port))
    return Health(
        database_ok=error is None,
        database_error=error,
        last_tick=last_tick,
        outbox_pending=pending,
        outbox_oldest=oldest,
        outbox_failed=failed,
        inbox_pending=inbox_pending,
        inbox_oldest=inbox_oldest,
        webhook_listening=listening,
        problems=tuple(problems),
    )


def render(health: Health) -> str:
    lines = [texts.HEALTH_OK if health.ok else texts.HEALTH_PROBLEMS]
    lines.append(texts.health_facts(health.last_tick, health.outbox_pending, health.outbox_failed))
    lines.extend(f"  - {problem}" for problem in health.problems)
    return "\n".join(lines)
