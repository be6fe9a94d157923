"""What the database and sandbox benches share: fresh databases, a generated organisation,
settings pointed at the sandbox, and a cheap way to wait for many simulated users' replies.

Not a bench itself (it prints nothing); the scripts next to it import it.
"""

from __future__ import annotations

import asyncio
import csv
import os
import sys
import tempfile
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from bot.app.event_loop import use_fast_event_loop
from bot.demo.processes import BotProcesses
from bot.sandbox import SandboxServer, SandboxUser, SentMessage
from bot.settings import Settings, load_settings
from bot.views import texts
from db.migrate import scratch_postgres_schema, upgrade_database
from db.org_import import import_org, read_org_file
from db.session import Database

# PTB 22 warns when it builds RetryAfter unless this opts in to timedelta periods (bot/app/cli.py).
os.environ.setdefault("PTB_TIMEDELTA", "true")

REPO = Path(__file__).resolve().parent.parent
SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Wednesday, mid-morning: a working day, inside working hours.
BENCH_NOW = datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)
POSTGRES_DSN = os.environ.get("BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgresql")

HEADER = ("type", "code", "name", "parent", "level", "kind", "area", "role", "department", "phone")
HANDLER_DEPARTMENTS = ("delivery", "market", "supervision", "express", "periodicals", "finance")


# Every connection this process makes names it (libpq reads PGAPPNAME), so the server's
# processes serving it can be told from everyone else's (postgres_cpu_seconds).
APPLICATION_NAME = f"bench-{os.getpid()}"
os.environ["PGAPPNAME"] = APPLICATION_NAME
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def run_bench(main: Coroutine[object, object, None]) -> None:
    """Runs a bench on the loop the bot runs on (bot/app/cli.py): the bots in this process
    and their references alike."""
    use_fast_event_loop()
    asyncio.run(main)


def postgres_cpu_seconds() -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL server process serving this process's
    connections (this machine's server: /proc)."""
    with psycopg.connect(POSTGRES_DSN, application_name="bench-observer") as connection:
        rows = connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (APPLICATION_NAME,)
        ).fetchall()
    seconds = {}
    for (pid,) in rows:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        seconds[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
    return seconds


def postgres_cpu_since(before: dict[int, float]) -> float:
    """The CPU seconds those server processes spent since ``before`` (postgres_cpu_seconds);
    one that served a connection closed meanwhile is not counted."""
    return sum(now - before.get(pid, 0.0) for pid, now in postgres_cpu_seconds().items())


def backends(choice: str) -> list[str]:
    """--db sqlite|postgresql|both."""
    return list(BACKENDS) if choice == "both" else [choice]


@contextmanager
def fresh_database(backend: str) -> Iterator[str]:
    """A migrated, empty database: a temporary SQLite file, or a PostgreSQL schema of its
    own (dropped at the end, as the tests do) so a bench never touches anyone's data."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-") as directory:
            url = f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
            upgrade_database(url)
            yield url
        return
    with scratch_postgres_schema(POSTGRES_DSN, "bench") as url:
        yield url


async def import_sample_org(url: str) -> None:
    """The sample organisation (db/sample_org.csv) imported into the database at ``url``."""
    database = Database(url)
    async with database.session() as session:
        rows = read_org_file(REPO / "db" / "sample_org.csv")
        await import_org(rows, labels=texts.IMPORT_LABELS, session=session, now=BENCH_NOW)
    await database.close()


def sqlite_path(url: str) -> str:
    return url.split("///", 1)[1]


def postgres_schema(url: str) -> str:
    return url.rsplit("%3D", 1)[1]


@dataclass
class BenchOrg:
    """A generated organisation (CSV rows for db.org_import) and its staff codes by role."""

    rows: list[tuple[str, ...]] = field(default_factory=list)
    region: str = ""
    cities: list[str] = field(default_factory=list)
    counties: list[str] = field(default_factory=list)
    sites: list[str] = field(default_factory=list)
    managers: dict[str, str] = field(default_factory=dict)  # unit code → manager code
    handlers: list[str] = field(default_factory=list)
    clerks: list[str] = field(default_factory=list)  # counter staff

    def write_csv(self, path: Path) -> Path:
        with path.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(HEADER)
            writer.writerows(self.rows)
        return path


def generate_org(
    *, cities: int, counties_per_city: int, sites_per_county: int, clerks_per_site: int
) -> BenchOrg:
    """One region; each county has counter and delivery sites (urban and rural), a manager,
    a handler per department and counter staff at every site; cities and the region have a
    manager each, so escalation chains have three levels."""
    org = BenchOrg(region="NM")
    rows = org.rows

    def unit(code: str, name: str, parent: str, level: str, kind: str = "", area: str = "") -> None:
        rows.append(("unit", code, name, parent, level, kind, area, "", "", ""))

    def staff(code: str, name: str, parent: str, role: str, department: str = "") -> None:
        rows.append(("staff", code, name, parent, "", "", "", role, department, ""))

    unit("NM", "内蒙古邮政区公司", "", "region")
    staff("M-NM", "区经理", "NM", "manager")
    org.managers["NM"] = "M-NM"
    for c in range(1, cities + 1):
        city = f"C{c:02d}"
        unit(city, f"盟市{c}分公司", "NM", "city")
        staff(f"M-{city}", f"经理{city}", city, "manager")
        org.managers[city] = f"M-{city}"
        org.cities.append(city)
        for k in range(1, counties_per_city + 1):
            county = f"{city}-K{k:02d}"
            unit(county, f"旗县{c}-{k}局", city, "county")
            staff(f"M-{county}", f"经理{county}", county, "manager")
            org.managers[county] = f"M-{county}"
            org.counties.append(county)
            for department in HANDLER_DEPARTMENTS:
                code = f"H-{county}-{department}"
                staff(code, f"处理人{county}{department}", county, "handler", department)
                org.handlers.append(code)
            for s in range(1, sites_per_county + 1):
                site = f"{county}-S{s}"
                kind = "counter" if s % 2 else "delivery"
                area = "urban" if s <= 2 else "rural"
                label = "营业支局" if kind == "counter" else "投递部"
                unit(site, f"{c}{k}{s}号{label}", county, "site", kind, area)
                org.sites.append(site)
                if kind == "delivery":
                    rows.append(("segment", f"{site}-E2", "东2段", site, "", "", "", "", "", ""))
                for n in range(1, clerks_per_site + 1):
                    code = f"Y-{site}-{n}"
                    staff(code, f"营业员{site}-{n}", site, "counter_staff")
                    org.clerks.append(code)
    return org


def bench_settings(
    database_url: str, workdir: Path, sandbox: SandboxServer | None = None
) -> Settings:
    """config.toml with this database, a calendar dir of its own and, given a sandbox, the
    bot pointed at it."""
    token = sandbox.token if sandbox is not None else "123:BENCH"
    loaded = load_settings(
        REPO / "config.toml", {"TELEGRAM_BOT_TOKEN": token, "DATABASE_URL": database_url}
    )
    api_base_url = sandbox.base_url if sandbox is not None else ""
    bot = loaded.bot.model_copy(update={"api_base_url": api_base_url})
    calendar = loaded.calendar.model_copy(update={"admin_dir": workdir / "calendar"})
    log = loaded.log.model_copy(update={"level": "WARNING"})
    return loaded.model_copy(update={"bot": bot, "calendar": calendar, "log": log})


async def until_ready(everyone: Sequence[BotProcesses], timeout: float) -> None:
    """Until every bot process handles updates with its reader built."""
    async with asyncio.timeout(timeout):
        while not all(bots.ready() for bots in everyone):
            await asyncio.sleep(0.2)


class ReplyWatcher:
    """Waits for "user X has N messages from the bot" for many users at once.

    SandboxUser.replies makes every waiting user wake on every message the bot sends; with
    hundreds of users waiting that is most of the event loop's work and would be measured as
    the bot's. Here one task wakes per change and checks what the waiting users wait for.
    """

    def __init__(self, sandbox: SandboxServer) -> None:
        self._world = sandbox.world
        self._waiting: dict[asyncio.Future[None], Callable[[], bool]] = {}
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ReplyWatcher:
        self._task = asyncio.create_task(self._watch(), name="reply-watcher")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def until(self, user: SandboxUser, count: int, timeout: float = 120.0) -> None:
        """Until the bot has sent ``count`` messages in all to the user's chat."""
        await self._until(
            lambda: len(user.messages) >= count,
            lambda: f"{user!r}: {len(user.messages)} messages after {timeout} s, expected {count}",
            timeout,
        )

    async def until_sent(
        self,
        user: SandboxUser,
        since: int,
        accept: Callable[[SentMessage], bool],
        timeout: float = 120.0,
    ) -> SentMessage:
        """The first message to the user's chat, from its ``since``-th on, that ``accept``s
        (others, say a push arriving meanwhile, are passed over)."""

        def found() -> SentMessage | None:
            return next((m for m in user.messages[since:] if accept(m)), None)

        def missing() -> str:
            seen = [m.describe() for m in user.messages[since:]]
            return f"{user!r}: no such message after {timeout} s; got {seen}"

        await self._until(lambda: found() is not None, missing, timeout)
        message = found()
        assert message is not None
        return message

    async def _until(
        self, done: Callable[[], bool], missing: Callable[[], str], timeout: float
    ) -> None:
        if done():
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[future] = done
        try:
            await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise AssertionError(missing()) from None
        finally:
            self._waiting.pop(future, None)

    async def _watch(self) -> None:
        changed = self._world.changed
        async with changed:
            while True:
                await changed.wait()
                for future, done in list(self._waiting.items()):
                    if not future.done() and done():
                        future.set_result(None)
