"""Builds the Application and registers every handler, in explicit groups (STYLE 1)."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import TYPE_CHECKING, Any

from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults

from bot.app.inbox import InboxApplication, InboxQueue, UpdateWorkers
from bot.app.jobs import TICK_JOB, TICK_SECONDS, run_due_work, tick
from bot.app.splitting_bot import SplittingBot
from bot.app.transport import AiohttpRequest
from bot.app.webhook import WebhookOptions
from bot.budget import SharedBudget
from bot.context import SERVICES_KEY, BotContext
from bot.heap import freeze_lasting
from bot.logs import hide_secrets
from bot.ratelimit import PriorityRateLimiter
from bot.services import Services
from bot.settings import BotSection
from bot.usecases.blocked import staff_blocked_bot
from bot.usecases.outbox import OutboxSender
from bot.usecases.reader import build_reader, refresh_names
from bot.usecases.refused import message_refused
from db.complaints import list_labelled_examples
from db.staff import latest_org_import
from handlers import (
    access,
    checks,
    complaints,
    conversation,
    errors,
    highlights,
    manager,
    membership,
    registration,
    repeats,
    reports,
)

if TYPE_CHECKING:
    # numpy and jieba come with it: loaded where the reader is built (bot/usecases/reader.py).
    from nlp.reader import ComplaintReader

logger = logging.getLogger(__name__)

# What the bot asks Telegram for: my_chat_member says when someone blocks it or comes back.
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]

TELEGRAM_API_URL = "https://api.telegram.org/bot"
TELEGRAM_FILE_URL = "https://api.telegram.org/file/bot"

BotApplication = Application[Any, BotContext, Any, Any, Any, Any]

# Groups run in this order for every update: the access gate stops strangers, then edited
# messages and repeated presses stop before any feature.
SENDER_KEY = "outbox_sender"
WORKERS_KEY = "update_workers"
BUDGET_KEY = "send_budget"
GATE_GROUP = -2
REPEAT_GROUP = -1
FEATURE_GROUP = 0


async def _post_init(application: BotApplication) -> None:
    services: Services = application.bot_data[SERVICES_KEY]
    services.db.lock_for_this_instance()
    await services.db.ping()
    budget: SharedBudget | None = application.bot_data.get(BUDGET_KEY)
    if budget is not None:
        # Before anything is sent: this instance's part of the overall budget.
        await budget.start()
    if services.complaint_reader is None:
        # Polling starts meanwhile; a complaint that comes first waits for the reader.
        services.reader_building = asyncio.create_task(
            _build_reader_and_settle(services), name="complaint-reader"
        )
    else:
        await refresh_names(services.db, services.complaint_reader)
    async with services.db.session() as session:
        services.org_import_seen = await latest_org_import(session=session)
        await services.reference.reload(session)
        services.examples_trained = len(await list_labelled_examples(session=session))
    sender = OutboxSender(
        services.db,
        application.bot,
        on_blocked=partial(staff_blocked_bot, services),
        on_refused=partial(message_refused, services),
    )
    services.db.on_outbox_written(sender.wake)
    await sender.start()
    application.bot_data[SENDER_KEY] = sender
    await application.bot.set_my_commands(registration.default_menu())
    # Everything that fell due while the bot was down (escalations, the morning push, the
    # end of yesterday) runs now, before the first update; then every TICK_SECONDS.
    await run_due_work(services)
    # Updates stored before a stop or crash are handled first, then the new ones.
    await application.bot_data[WORKERS_KEY].start()
    assert application.job_queue is not None
    application.job_queue.run_repeating(
        tick,
        interval=TICK_SECONDS,
        first=TICK_SECONDS,
        name=TICK_JOB,
        job_kwargs={"coalesce": True, "max_instances": 1},
    )
    _warn_if_another_bot(application.bot.username, services.settings.bot.username)
    logger.info("bot @%s ready", application.bot.username)


async def _build_reader_and_settle(services: Services) -> ComplaintReader:
    reader = await build_reader(services.db, services.settings.nlp.cache_dir)
    freeze_lasting()
    return reader


def _warn_if_another_bot(actual: str, configured: str) -> None:
    """Invite links name bot.username: with another bot's name they open that bot."""
    if actual.lower() != configured.lower():
        logger.warning(
            "bot.username in config.toml is @%s but the token belongs to @%s: "
            "invite links would open the wrong bot; set [bot] username = %r",
            configured,
            actual,
            actual,
        )


async def _post_stop(application: BotApplication) -> None:
    await application.bot_data[WORKERS_KEY].stop()
    sender: OutboxSender | None = application.bot_data.pop(SENDER_KEY, None)
    if sender is not None:
        await sender.stop()
    budget: SharedBudget | None = application.bot_data.get(BUDGET_KEY)
    if budget is not None:
        await budget.stop()
    services: Services = application.bot_data[SERVICES_KEY]
    if services.reader_building is not None and not services.reader_building.done():
        services.reader_building.cancel()
        await asyncio.gather(services.reader_building, return_exceptions=True)


async def _post_shutdown(application: BotApplication) -> None:
    services: Services = application.bot_data[SERVICES_KEY]
    await services.db.close()


def build_application(services: Services) -> BotApplication:
    settings = services.settings
    token = settings.token
    if not token:
        raise ValueError("build_application needs a bot token")
    hide_secrets(token, settings.bot.secret)  # before the Bot logs its URLs
    # Per chat and overall, replies before the outbox's bulk sends (bot/ratelimit.py).
    limiter = PriorityRateLimiter.from_settings(settings.rate_limits)
    bot = SplittingBot(
        token,
        # An emulator or a self-hosted Bot API server instead of Telegram's, if configured.
        base_url=settings.bot.api_base_url or TELEGRAM_API_URL,
        base_file_url=settings.bot.api_file_url or TELEGRAM_FILE_URL,
        defaults=Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.time.tz),
        # As ApplicationBuilder would: many requests at once, one long poll; on aiohttp,
        # a third of httpx's CPU per request (bot/app/transport.py).
        request=AiohttpRequest(connection_pool_size=256),
        get_updates_request=AiohttpRequest(connection_pool_size=1),
        rate_limiter=limiter,
    )
    inbox = InboxQueue(services.db, services.clock)
    builder = (
        ApplicationBuilder()
        .application_class(InboxApplication)
        .update_queue(inbox)
        .bot(bot)
        .context_types(ContextTypes(context=BotContext))
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
    )
    application: BotApplication = builder.build()
    application.bot_data[SERVICES_KEY] = services
    if not services.db.is_sqlite:
        # Several instances may send for this bot: each takes its part of the overall limit.
        application.bot_data[BUDGET_KEY] = SharedBudget(services.db, limiter)
    workers = UpdateWorkers(
        application, services.db, services.clock, settings.updates.concurrent_chats
    )
    inbox.served_by(workers)
    application.bot_data[WORKERS_KEY] = workers
    application.add_handlers(access.handlers(), group=GATE_GROUP)
    application.add_handlers(repeats.handlers(), group=REPEAT_GROUP)
    application.add_handlers(
        # conversation last: its message handlers catch whatever the others did not.
        [
            *registration.handlers(),
            *membership.handlers(),
            *checks.handlers(),
            *complaints.handlers(),
            *highlights.handlers(),
            *manager.handlers(),
            *reports.handlers(),
            *conversation.handlers(),
        ],
        group=FEATURE_GROUP,
    )
    application.add_error_handler(errors.on_error)
    return application


def serve(application: BotApplication, bot: BotSection) -> None:
    """Run the bot as its mode says, until SIGINT or SIGTERM: polling, the webhook server,
    or a worker that receives nothing."""
    webhook = WebhookOptions.from_settings(bot)
    if bot.mode == "worker":
        run_worker(application)
    elif webhook is None:
        application.run_polling(allowed_updates=ALLOWED_UPDATES)
    else:
        application.run_webhook(**_webhook_arguments(webhook))


def _webhook_arguments(webhook: WebhookOptions) -> dict[str, Any]:
    """For PTB's webhook server, run or started. PTB refuses (403) every request whose
    secret header differs from secret_token."""
    return {
        "listen": webhook.listen,
        "port": webhook.port,
        "url_path": webhook.url_path,
        "webhook_url": webhook.url,
        "secret_token": webhook.secret_token,
        "allowed_updates": ALLOWED_UPDATES,
    }


def run_worker(application: BotApplication) -> None:
    """An instance that receives nothing and handles what another one stores (polling has
    one receiver: Telegram refuses a second getUpdates); until SIGINT or SIGTERM."""

    async def work() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signal_number, stop.set)
        async with running(application, receive=False):
            await stop.wait()

    asyncio.run(work())


@asynccontextmanager
async def running(
    application: BotApplication,
    poll_timeout: float = 10,
    *,
    webhook: WebhookOptions | None = None,
    receive: bool = True,
) -> AsyncIterator[None]:
    """Runs the bot inside the caller's event loop (tests and the demo), in the order
    run_polling/run_webhook use: initialize, post_init, start polling (or the webhook
    server; or neither: receive=False); on exit stop, shutdown, post_shutdown."""
    await application.initialize()
    try:
        if application.post_init is not None:
            await application.post_init(application)
        await application.start()
        assert application.updater is not None
        if receive and webhook is None:
            await application.updater.start_polling(
                poll_interval=0, timeout=int(poll_timeout), allowed_updates=ALLOWED_UPDATES
            )
        elif receive and webhook is not None:
            await application.updater.start_webhook(**_webhook_arguments(webhook))
        try:
            yield
        finally:
            if receive:
                await application.updater.stop()
            await application.stop()
            if application.post_stop is not None:
                await application.post_stop(application)
    finally:
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)
