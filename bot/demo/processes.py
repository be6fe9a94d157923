"""Bot processes against the sandbox Bot API: each one the real application in an OS process
of its own (bot/demo/process.py, built like `python -m bot run`, its clock standing still),
started, stopped and killed by a test or a bench that runs the sandbox. The crash tests kill
them with SIGKILL; the instance tests and bench/instances.py run several on one PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bot.app.webhook import WebhookOptions
from bot.sandbox import SandboxServer
from bot.settings import WEBHOOK_SECRET_ENV, RateLimitsSection

REPO = Path(__file__).resolve().parents[2]
# What bot/app/inbox.py and bot/usecases/reader.py log once they are running.
READY_MARKS = ("update workers started", "complaint reader:")
# A process starting on a loaded machine: imports, the reader (a minute at worst, in tests).
START_SECONDS = 60.0
# bot/app/inbox.py's line when its workers stop.
LOOKS = re.compile(r"update workers stopped after (\d+) looks, (\d+) of them in vain")


def sandbox_config(sandbox: SandboxServer, directory: Path) -> Path:
    """config.toml for a bot process pointed at the sandbox (token and database: env)."""
    text = (REPO / "config.toml").read_text(encoding="utf-8")
    assert 'api_base_url = ""' in text
    text = text.replace('api_base_url = ""', f'api_base_url = "{sandbox.base_url}"')
    text = text.replace('admin_dir = "data/calendar"', 'admin_dir = "calendar"')
    path = directory / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


@dataclass
class BotProcesses:
    """Starts the bot as a separate process, any number of times, and kills it."""

    sandbox: SandboxServer
    database_url: str
    tmp_path: Path
    now: datetime
    # "polling", "webhook" (with ``webhook``), or "worker": handles what another instance
    # receives (PostgreSQL).
    mode: str = "polling"
    # [updates] concurrent_chats, if not config.toml's.
    concurrent_chats: int | None = None
    # [rate_limits], if not config.toml's (a bench with no limits at the sandbox lifts ours).
    rate_limits: RateLimitsSection | None = None
    # In "webhook" mode: Telegram's URL for it (a proxy's), the port and the secret.
    webhook: WebhookOptions | None = None
    spawned: list[asyncio.subprocess.Process] = field(default_factory=list)
    started: list[asyncio.subprocess.Process] = field(default_factory=list)
    _prepared: asyncio.subprocess.Process | None = None
    _config_path: Path | None = None

    @property
    def current(self) -> asyncio.subprocess.Process:
        return self.started[-1]

    async def prepare(self) -> None:
        """Spawn the next bot process, to wait for its start with everything imported."""
        assert self._prepared is None
        self._prepared = await self._spawn()

    async def start(self) -> None:
        """Start the prepared process (or a new one): from here on it is the bot."""
        process, self._prepared = self._prepared or await self._spawn(), None
        assert process.stdin is not None
        process.stdin.write(b"go\n")
        await process.stdin.drain()
        self.started.append(process)

    async def _spawn(self) -> asyncio.subprocess.Process:
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": self.sandbox.token,
            "DATABASE_URL": self.database_url,
        }
        if self.webhook is not None:
            env[WEBHOOK_SECRET_ENV] = str(self.webhook.secret_token)
        # Files, not pipes: nobody reads a pipe while the test waits, and a full pipe would
        # block the bot.
        with self._log_path(len(self.spawned) + 1).open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot.demo.process",
                "--config",
                str(self._config()),
                "--now",
                self.now.isoformat(),
                "--wait-for-go",
                cwd=REPO,
                env=env,
                stdin=asyncio.subprocess.PIPE,
                stdout=log,
                stderr=log,
            )
        self.spawned.append(process)
        return process

    def _config(self) -> Path:
        """Written once, for all the processes: rewritten at each spawn, it was read half
        written by a process spawned just before (still importing when the next one was
        prepared; bot.settings said bot.username was missing)."""
        if self._config_path is not None:
            return self._config_path
        path = sandbox_config(self.sandbox, self.tmp_path)
        text = path.read_text(encoding="utf-8")
        assert 'mode = "polling"' in text
        text = text.replace('mode = "polling"', f'mode = "{self.mode}"')
        if self.webhook is not None:
            assert self.mode == "webhook"
            text = text.replace(
                'mode = "webhook"',
                f'mode = "webhook"\nwebhook_url = "{self.webhook.url}"\n'
                f'webhook_listen = "{self.webhook.listen}"\nwebhook_port = {self.webhook.port}',
            )
        if self.concurrent_chats is not None:
            assert "\nconcurrent_chats = " in text
            text = re.sub(
                r"\nconcurrent_chats = \d+", f"\nconcurrent_chats = {self.concurrent_chats}", text
            )
        if self.rate_limits is not None:
            for key, value in self.rate_limits.model_dump().items():
                assert f"\n{key} = " in text
                text = re.sub(rf"\n{key} = [\d.]+", f"\n{key} = {value}", text)
        path.write_text(text, "utf-8")
        self._config_path = path
        return path

    async def kill(self) -> None:
        """SIGKILL: no shutdown code runs, no claim is handed back, no update confirmed."""
        process = self.current
        assert process.returncode is None, f"the bot had already exited:\n{self.logs()}"
        process.send_signal(signal.SIGKILL)
        assert await asyncio.wait_for(process.wait(), 10) == -signal.SIGKILL

    async def stop(self) -> int:
        """SIGTERM, as systemd stops the bot: it shuts down cleanly. A process still
        starting is waited for first: until it runs, SIGTERM's default ends it at once
        (nothing is lost, the inbox is in the database, but that is no clean stop)."""
        process = self.current
        async with asyncio.timeout(START_SECONDS):
            while process.returncode is None and not self.ready():
                await asyncio.sleep(0.05)
        if process.returncode is None:
            process.terminate()
        return await asyncio.wait_for(process.wait(), 30)

    def handled(self) -> int:
        """Updates these processes handled, from their logs (one "handled …" line each)."""
        return sum(self._log(number).count('msg="handled ') for number in self._numbers())

    def looks_in_vain(self) -> tuple[int, int]:
        """The update workers' claims, and those that found nothing, from their stop lines."""
        counts = [
            tuple(map(int, found))
            for number in self._numbers()
            for found in LOOKS.findall(self._log(number))
        ]
        return sum(c[0] for c in counts), sum(c[1] for c in counts)

    def cpu_seconds(self) -> float:
        """CPU time the current process has used so far (user and system; Linux)."""
        fields = Path(f"/proc/{self.current.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def ready(self) -> bool:
        """Whether the current process runs its update workers and has built its complaint
        reader (built in the background after start: until then a complaint waits)."""
        log = self._log(self.spawned.index(self.current) + 1)
        return all(mark in log for mark in READY_MARKS)

    def logs(self) -> str:
        return "\n".join(
            f"--- bot process {number} ---\n{self._log(number)[-4000:]}"
            for number in self._numbers()
        )

    def _numbers(self) -> range:
        return range(1, len(self.spawned) + 1)

    def _log_path(self, number: int) -> Path:
        return self.tmp_path / f"bot-{number}.log"

    def _log(self, number: int) -> str:
        return self._log_path(number).read_text(errors="replace")


@asynccontextmanager
async def bot_processes(
    sandbox: SandboxServer,
    database_url: str,
    tmp_path: Path,
    now: datetime,
    mode: str = "polling",
    concurrent_chats: int | None = None,
    rate_limits: RateLimitsSection | None = None,
    webhook: WebhookOptions | None = None,
) -> AsyncIterator[BotProcesses]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    bots = BotProcesses(
        sandbox, database_url, tmp_path, now, mode, concurrent_chats, rate_limits, webhook
    )
    try:
        yield bots
    except BaseException as error:
        error.add_note(bots.logs())
        raise
    finally:
        for process in bots.spawned:
            if process.returncode is None:
                process.kill()
                await process.wait()
