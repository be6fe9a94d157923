"""The bot in an OS process of its own, for the crash and instance tests and benches
(bot/demo/processes.py starts it):

    python -m bot.demo.process --config FILE --now 2026-11-25T09:00+08:00

It builds and runs the application exactly as `python -m bot run` does (bot/app/cli.py: settings
from the file and the environment, the schema brought up to date, Services, build_application,
serve), except that the clock stands still at ``--now``: daily checks only happen on
working days in working hours, and the test must not depend on when it runs.

With ``--wait-for-go`` it imports and builds everything, then waits for a line on stdin
before it touches the database or the Bot API: a test starts the next process while the
current one runs, so a restart after kill -9 does not wait for Python's imports.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from bot.app.application import build_application, serve
from bot.clock import ManualClock
from bot.logs import configure_logging
from bot.services import Services
from bot.settings import load_settings
from db.migrate import upgrade_database


def _instant(value: str) -> datetime:
    instant = datetime.fromisoformat(value)
    if instant.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{value!r} has no UTC offset")
    return instant


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.demo.process")
    parser.add_argument("--config", type=Path, required=True, help="config.toml")
    parser.add_argument("--now", type=_instant, required=True, help="ISO instant with offset")
    parser.add_argument("--wait-for-go", action="store_true", help="start on a line on stdin")
    args = parser.parse_args(argv)
    settings = load_settings(args.config)
    if not settings.token:
        parser.error("TELEGRAM_BOT_TOKEN is not set")
    configure_logging(settings.log.format, settings.log.level)
    services = Services.create(settings, ManualClock(args.now))
    application = build_application(services)
    if args.wait_for_go and not sys.stdin.readline():
        return 0  # the test went away before it needed this process
    upgrade_database(settings.database.url)
    serve(application, settings.bot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
