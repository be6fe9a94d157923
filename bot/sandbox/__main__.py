"""Run the sandbox on its own: ``python -m bot.sandbox --port 8081 --token 123:ABC``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from bot.sandbox.server import DEFAULT_TOKEN, SandboxServer

logger = logging.getLogger(__name__)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bot.sandbox", description="A fake Telegram Bot API server."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--bot-username", default="sandbox_inspection_bot")
    parser.add_argument(
        "--faults", type=float, default=0.0, help="share of messages answered with a fault"
    )
    parser.add_argument("--fault-seed", type=int, default=0)
    parser.add_argument(
        "--rate-limits", action="store_true", help="answer 429 over Telegram's flood limits"
    )
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


async def serve(arguments: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    sandbox = SandboxServer(
        arguments.token,
        bot_username=arguments.bot_username,
        host=arguments.host,
        port=arguments.port,
    )
    sandbox.configure_faults(
        arguments.faults, seed=arguments.fault_seed, rate_limits=arguments.rate_limits
    )
    async with sandbox:
        logger.info(
            "bot base_url=%s base_file_url=%s token=%s",
            sandbox.base_url,
            sandbox.base_file_url,
            sandbox.token,
        )
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    arguments = _arguments(argv)
    logging.basicConfig(
        level=arguments.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(arguments))


if __name__ == "__main__":
    main()
