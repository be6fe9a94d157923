"""Builds the Application and registers every handler, in explicit groups (STYLE 1)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes, Defaults

from bot.context import SERVICES_KEY, BotContext
from bot.services import Services
from handlers import access, errors, registration

logger = logging.getLogger(__name__)

BotApplication = Application[Any, BotContext, Any, Any, Any, Any]

# Group -1 runs first for every update: the access gate stops strangers before any feature.
GATE_GROUP = -1
FEATURE_GROUP = 0


async def _post_init(application: BotApplication) -> None:
    services: Services = application.bot_data[SERVICES_KEY]
    await services.db.ping()
    await application.bot.set_my_commands(registration.default_menu())
    logger.info("bot @%s ready", application.bot.username)


async def _post_shutdown(application: BotApplication) -> None:
    services: Services = application.bot_data[SERVICES_KEY]
    await services.db.close()


def build_application(services: Services) -> BotApplication:
    settings = services.settings
    token = settings.token
    if not token:
        raise ValueError("build_application needs a bot token")
    builder = (
        ApplicationBuilder()
        .token(token)
        .context_types(ContextTypes(context=BotContext))
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.time.tz))
        .rate_limiter(AIORateLimiter())
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    if settings.bot.api_base_url:
        builder = builder.base_url(settings.bot.api_base_url).base_file_url(
            settings.bot.api_file_url
        )
    application: BotApplication = builder.build()
    application.bot_data[SERVICES_KEY] = services
    application.add_handlers(access.handlers(), group=GATE_GROUP)
    application.add_handlers(registration.handlers(), group=FEATURE_GROUP)
    application.add_error_handler(errors.on_error)
    return application


@asynccontextmanager
async def running(application: BotApplication, poll_timeout: float = 10) -> AsyncIterator[None]:
    """Runs the bot inside the caller's event loop (tests and the demo), in the order
    run_polling uses: initialize, post_init, start polling; on exit stop, shutdown,
    post_shutdown."""
    await application.initialize()
    try:
        if application.post_init is not None:
            await application.post_init(application)
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(
            poll_interval=0, timeout=int(poll_timeout), allowed_updates=Update.ALL_TYPES
        )
        try:
            yield
        finally:
            await application.updater.stop()
            await application.stop()
    finally:
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)
