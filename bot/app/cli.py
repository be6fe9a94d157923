"""`python -m bot …`: the admin commands and the bot itself."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from bot.app.application import build_application, serve
from bot.app.cli_calendar import import_year, list_years
from bot.app.cli_classify import classify
from bot.app.cli_report import export
from bot.app.event_loop import use_fast_event_loop
from bot.app.health import check_health
from bot.app.health import render as render_health
from bot.app.webhook import new_webhook_secret
from bot.clock import SystemClock
from bot.logs import configure_logging, hide_secrets
from bot.services import Services
from bot.settings import DEFAULT_CONFIG_PATH, ConfigError, Settings, load_settings
from bot.usecases.coverage import list_gaps
from bot.usecases.offboarding import Outcome, offboard
from bot.views import texts
from db.history_import import REQUIRED_COLUMNS, import_history
from db.migrate import upgrade_database
from db.org_import import OrgFileError, import_org, read_org_file, read_table
from db.session import Database, SecondInstanceError
from db.staff import create_invite, find_staff, get_unit
from scheduler.business_calendar import CalendarError
from scheduler.catalog import CatalogError, load_catalog

logger = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Postal inspection bot")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG_PATH, help="config.toml")
    commands = parser.add_subparsers(dest="command")
    run = commands.add_parser("run", help="run the bot (default)")
    run.add_argument(
        "--demo-without-token",
        action="store_true",
        help="without TELEGRAM_BOT_TOKEN play the offline demo instead (what `make run` does)",
    )
    demo = commands.add_parser("demo", help="play one working day against the offline sandbox")
    demo.add_argument("--database", help="an empty database to use instead of a temporary SQLite")
    health = commands.add_parser("health", help="check database, scheduled work and outbox")
    health.add_argument("--json", action="store_true", help="one JSON object (for monitoring)")
    commands.add_parser("init", help="create or migrate the database")
    org = commands.add_parser("import-org", help="import units and staff from CSV or XLSX")
    org.add_argument("file", type=Path)
    history = commands.add_parser(
        "import-history", help="enter checks done before go-live from CSV or XLSX"
    )
    history.add_argument("file", type=Path)
    invite = commands.add_parser("invite", help="print a one-time registration link")
    invite.add_argument("who", help="staff code (工号), id or name")
    leaver = commands.add_parser(
        "offboard", help="someone left: unbind them, hand their open work to their manager"
    )
    leaver.add_argument("code", help="staff code (工号)")
    commands.add_parser("secret", help="print a fresh webhook secret (TELEGRAM_WEBHOOK_SECRET)")
    commands.add_parser("classify", help="classify complaints: one per line in, JSON lines out")
    calendar = commands.add_parser("calendar", help="the working-day calendar")
    calendar_commands = calendar.add_subparsers(dest="calendar_command", required=True)
    calendar_commands.add_parser("years", help="list the years the calendar knows")
    year_file = calendar_commands.add_parser("import", help="add a year from a TOML file")
    year_file.add_argument("file", type=Path)
    report = commands.add_parser("report", help="write a unit's monthly report (.xlsx + .png)")
    report.add_argument("--unit", required=True, help="unit code, e.g. TZ")
    report.add_argument("--month", required=True, help="YYYY-MM")
    report.add_argument("--out", required=True, type=Path, help="the .xlsx; the chart: FILE.png")
    return parser


def _echo(text: str) -> None:
    sys.stdout.write(text + "\n")


async def _import_org(settings: Settings, path: Path) -> int:
    try:
        catalog = load_catalog(settings.checks.catalog)
    except CatalogError as error:
        sys.stderr.write(texts.data_file_invalid(str(error)) + "\n")
        return 2
    database = Database(settings.database.url)
    try:
        rows = read_org_file(path)
        async with database.session() as session:
            now = SystemClock(settings.time.tz).now()
            summary = await import_org(
                rows,
                labels=texts.IMPORT_LABELS,
                session=session,
                now=now,
                duties=catalog.duties,
            )
        async with database.session() as session:
            gaps = await list_gaps(catalog, session=session)
    except OrgFileError as error:
        _echo(texts.org_import_failed(len(error.problems)))
        for problem in error.problems:
            _echo(texts.org_problem(problem))
        return 1
    finally:
        await database.close()
    created = {kind.value: count for kind, count in summary.created.items()}
    updated = {kind.value: count for kind, count in summary.updated.items()}
    _echo(texts.org_import_done(created, updated))
    if gaps:
        # The running bot tells the admins in chat too (bot.usecases.coverage).
        _echo(texts.uncovered_notice([(g.unit_id, g.unit, g.duty, g.item) for g in gaps]))
    return 0


async def _import_history(settings: Settings, path: Path) -> int:
    try:
        catalog = load_catalog(settings.checks.catalog)
    except CatalogError as error:
        sys.stderr.write(texts.data_file_invalid(str(error)) + "\n")
        return 2
    today = SystemClock(settings.time.tz).now().date()
    before = settings.checks.go_live or today
    database = Database(settings.database.url)
    try:
        rows = read_table(path, REQUIRED_COLUMNS)
        async with database.session() as session:
            summary = await import_history(rows, catalog=catalog, session=session, before=before)
    except OrgFileError as error:
        _echo(texts.org_import_failed(len(error.problems)))
        for problem in error.problems:
            _echo(texts.org_problem(problem))
        return 1
    finally:
        await database.close()
    _echo(texts.history_import_done(summary.created, summary.already_there))
    return 0


async def _invite(settings: Settings, who: str) -> int:
    database = Database(settings.database.url)
    clock = SystemClock(settings.time.tz)
    try:
        async with database.session() as session:
            matches = await find_staff(session=session, query=who)
            if not matches:
                _echo(texts.staff_not_found(who))
                return 1
            if len(matches) > 1:
                _echo(texts.staff_ambiguous(who, [f"{s.code} {s.name}" for s in matches]))
                return 1
            staff = matches[0]
            valid_for = timedelta(days=settings.registration.invite_valid_days)
            invite = await create_invite(
                session=session, staff=staff, now=clock.now(), valid_for=valid_for
            )
            unit = await get_unit(session=session, unit_id=staff.unit_id)
    finally:
        await database.close()
    link = f"https://t.me/{settings.bot.username}?start={invite.code}"
    expires = invite.expires_at.astimezone(settings.time.tz).strftime("%Y-%m-%d %H:%M")
    _echo(texts.invite_link(staff.name, texts.ROLE_LABELS[staff.role], unit.name, link, expires))
    return 0


async def _offboard(settings: Settings, code: str) -> int:
    services = Services.create(settings, SystemClock(settings.time.tz))
    try:
        result = await offboard(services, code)
    finally:
        await services.db.close()
    staff, successor = result.staff, result.successor
    if staff is None:
        _echo(texts.staff_not_found(code))
        return 1
    if result.outcome is Outcome.ALREADY:
        _echo(texts.offboard_already(staff.name, staff.code))
        return 0
    if successor is None:
        _echo(texts.offboard_no_manager(staff.name, staff.code))
        return 1
    _echo(
        texts.offboarded(staff.name, staff.code, successor.name, result.checks, result.complaints)
    )
    return 0


def _demo(config: Path, database_url: str | None = None) -> int:
    # Imported here: the demo brings the sandbox Bot API server, which the bot never needs.
    from bot.demo.day import run_demo

    # The transcript is the output; the bot's own log lines would only interleave with it.
    logging.getLogger().setLevel(logging.WARNING)
    return run_demo(config, _echo, database_url)


async def _health(settings: Settings, as_json: bool) -> int:
    health = await check_health(settings, SystemClock(settings.time.tz).now())
    _echo(health.as_json() if as_json else render_health(health))
    return 0 if health.ok else 1


def _run(settings: Settings, config: Path, *, demo_without_token: bool = False) -> int:
    if not settings.token:
        if not demo_without_token:
            _echo(texts.NO_TOKEN_HELP)
            return 0
        _echo(texts.RUN_DEMO_WITHOUT_TOKEN)
        code = _demo(config)
        _echo("")
        _echo(texts.NO_TOKEN_HELP)
        return code
    try:
        services = Services.create(settings, SystemClock(settings.time.tz))
    except (CatalogError, CalendarError) as error:
        sys.stderr.write(texts.data_file_invalid(str(error)) + "\n")
        return 2
    application = build_application(services)
    _echo(texts.run_real_bot(settings.bot.mode, settings.bot.username))
    try:
        serve(application, settings.bot)
    except SecondInstanceError as error:
        sys.stderr.write(texts.second_instance(str(error)) + "\n")
        return 3
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "secret":  # needs no configuration: webhook mode needs it to start
        _echo(new_webhook_secret())
        return 0
    try:
        settings = load_settings(args.config)
    except ConfigError as error:
        sys.stderr.write(f"{error}\n")
        return 2
    hide_secrets(settings.token, settings.bot.secret)
    configure_logging(settings.log.format, settings.log.level)
    logger.debug("event loop: %s", use_fast_event_loop())
    if args.command == "demo":
        return _demo(args.config, args.database)
    if args.command == "health":
        return asyncio.run(_health(settings, args.json))
    runs_the_demo = args.command in ("run", None) and not settings.token
    if args.command != "calendar" and not runs_the_demo:
        # Every command that touches the database first brings its schema up to date.
        upgrade_database(settings.database.url)
    if args.command == "init":
        _echo(texts.DATABASE_READY)
        return 0
    if args.command == "import-org":
        return asyncio.run(_import_org(settings, args.file))
    if args.command == "import-history":
        return asyncio.run(_import_history(settings, args.file))
    if args.command == "invite":
        return asyncio.run(_invite(settings, args.who))
    if args.command == "offboard":
        return asyncio.run(_offboard(settings, args.code))
    if args.command == "classify":
        return asyncio.run(classify(settings))
    if args.command == "report":
        return asyncio.run(export(settings, args.unit, args.month, args.out))
    if args.command == "calendar":
        if args.calendar_command == "import":
            return import_year(settings, args.file)
        return list_years(settings, SystemClock(settings.time.tz).now().date())
    return _run(
        settings, args.config, demo_without_token=getattr(args, "demo_without_token", False)
    )
