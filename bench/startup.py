"""Benchmark: start-up time and memory of one bot process, beside a bare PTB echo bot.

Run: .venv/bin/python bench/startup.py [--runs N] [--province]

Starts `python -m bot run` (the real entry point: settings, migrations, the reader, the
reference data, set_my_commands) against the sandbox Bot API on a migrated SQLite database
holding the sample organisation (or, with --province, the generated province), and
measures the time from process start to its first long poll (getUpdates: the bot is
ready: the reader is built and the reference data read by then), and its resident memory
then and after it has answered one message. The same for a bare python-telegram-bot echo
bot (one MessageHandler) as the reference. Median of N runs (default 3). Prints the
heaviest modules the bot imports.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchkit import BENCH_NOW, REPO, fresh_database, run_bench

from bot.sandbox import ApiCall, ApiReply, SandboxServer
from bot.usecases.reader import build_reader
from bot.views import texts
from db.inbox import prune_done_updates
from db.org_import import import_org, read_org_file
from db.province import generate_province, write_csv
from db.session import Database

FIRST_USER = 7_600_000_001
HEAVY = ("sklearn", "scipy", "matplotlib", "openpyxl", "PIL", "aiohttp")
ECHO_BOT = """
import sys
from telegram.ext import ApplicationBuilder, MessageHandler, filters

async def echo(update, context):
    await update.effective_message.reply_text(update.effective_message.text or "")

application = (
    ApplicationBuilder().token(sys.argv[1]).base_url(sys.argv[2]).build()
)
application.add_handler(MessageHandler(filters.TEXT, echo))
application.run_polling()
"""


@dataclass(frozen=True)
class Start:
    seconds: float  # process start → first getUpdates
    rss_ready: float  # MiB
    rss_working: float  # MiB, after answering one message
    heavy: tuple[str, ...]  # heavy libraries loaded (scikit-learn, scipy, matplotlib, …)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def bot_config(sandbox: SandboxServer, workdir: Path) -> Path:
    text = (REPO / "config.toml").read_text(encoding="utf-8")
    text = text.replace('api_base_url = ""', f'api_base_url = "{sandbox.base_url}"')
    text = text.replace('admin_dir = "data/calendar"', f'admin_dir = "{workdir / "calendar"}"')
    text = text.replace('level = "INFO"', 'level = "WARNING"')
    path = workdir / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def measure(
    sandbox: SandboxServer, command: list[str], env: dict[str, str], first_message: str
) -> Start:
    polling = asyncio.Event()

    async def first_poll(call: ApiCall) -> ApiReply | None:
        # Seen when the long poll arrives (the call log has it only when it returns).
        if call.method == "getUpdates":
            polling.set()
        return None

    sandbox.policy = first_poll
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while not polling.is_set():
            if process.poll() is not None:
                raise RuntimeError(f"{command} exited with {process.returncode}")
            await asyncio.sleep(0.01)
        seconds = time.perf_counter() - started
        ready = rss_mib(process.pid)
        maps = Path(f"/proc/{process.pid}/maps").read_text()
        heavy = sorted({lib for lib in HEAVY if f"/{lib}/" in maps})
        user = sandbox.user(FIRST_USER, "测试")
        await user.send(first_message)
        await user.replies(1, timeout=60)
        working = rss_mib(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)
    return Start(seconds, ready, working, tuple(heavy))


async def our_bot(sandbox: SandboxServer, url: str, workdir: Path) -> Start:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": sandbox.token,
        "DATABASE_URL": url,
        "PTB_TIMEDELTA": "true",
    }
    command = [sys.executable, "-m", "bot", "--config", str(bot_config(sandbox, workdir)), "run"]
    # From a stranger: the access gate answers how to register.
    return await measure(sandbox, command, env, "东2段信件积压三天了")


async def echo_bot(sandbox: SandboxServer) -> Start:
    command = [sys.executable, "-c", ECHO_BOT, sandbox.token, sandbox.base_url]
    return await measure(sandbox, command, dict(os.environ), "你好")


def heaviest_imports(limit: int) -> list[tuple[float, str]]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import bot.app.cli"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in done.stderr.splitlines():
        own, _, name = line.removeprefix("import time:").split("|")
        if own.strip().isdigit():
            rows.append((int(own) / 1e6, name.strip()))
    return sorted(rows, reverse=True)[:limit]


async def main_async(args: argparse.Namespace) -> None:
    with fresh_database("sqlite") as url, tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        database = Database(url)
        if args.province:
            write_csv(generate_province(), workdir / "province.csv")
            rows = read_org_file(workdir / "province.csv")
        else:
            rows = read_org_file(REPO / "db" / "sample_org.csv")
        async with database.session() as session:
            await import_org(rows, labels=texts.IMPORT_LABELS, session=session, now=BENCH_NOW)
        # The reader's cache filled as the bot would ([nlp] cache_dir of the bench's config,
        # relative to it): a host that has started before loads the model.
        await build_reader(database, workdir / "data" / "cache")
        ours, echo = [], []
        for _ in range(args.runs):
            async with SandboxServer() as sandbox:
                echo.append(await echo_bot(sandbox))
            async with SandboxServer() as sandbox:
                ours.append(await our_bot(sandbox, url, workdir))
            # Each sandbox numbers its updates from 1: the bot's inbox would take the next
            # run's message for one it has handled already.
            async with database.session() as session:
                await prune_done_updates(session=session, before=datetime.now(UTC) + timedelta(1))
        await database.close()
    organisation = "the generated province" if args.province else "the sample organisation"
    print(f"start-up to the first long poll, median of {args.runs}, {organisation}:")
    for label, starts in (("bare PTB echo bot", echo), ("our bot (python -m bot run)", ours)):
        print(
            f"  {label}: {statistics.median(s.seconds for s in starts):.2f} s; RSS "
            f"{statistics.median(s.rss_ready for s in starts):.0f} MiB when ready, "
            f"{statistics.median(s.rss_working for s in starts):.0f} MiB after one message"
        )
    for n, start in enumerate(ours, 1):
        loaded = ", ".join(start.heavy) or "none"
        print(
            f"  our bot, run {n}: {start.seconds:.2f} s, {start.rss_ready:.0f} MiB; {loaded} loaded"
        )
    print("heaviest imports of bot.app.cli (own time):")
    for seconds, name in heaviest_imports(8):
        print(f"  {seconds * 1000:6.0f} ms  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--province", action="store_true")
    run_bench(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
