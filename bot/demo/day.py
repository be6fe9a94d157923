"""`python -m bot demo`: one scripted working day, played by the real bot against the sandbox.

A temporary SQLite database gets the sample organisation; simulated staff register with
invite codes and act at set times while a manual clock moves: the morning push, a check with
a re-prompted number and a problem found, a complaint classified and routed, the handler
silent until the working-day limit passes and the manager is alerted, the answer and the
closing notices, and a manager's /progress and /report. The transcript prints what the bot
sent through the Bot API as it happens; the summary is read from the database afterwards.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import SecretStr

from bot.clock import ManualClock
from bot.demo.simulation import Simulation, simulate
from bot.demo.transcript import Transcript
from bot.sandbox import DEFAULT_TOKEN, SandboxServer, SandboxUser
from bot.settings import DATABASE_URL_ENV, TOKEN_ENV, Settings, load_settings, with_async_driver
from bot.views import texts
from db.activity import Activity, count_activity, outbox_backlog
from db.migrate import upgrade_database
from db.org_import import import_org, read_org_file
from db.session import Database
from db.staff import get_unit

logger = logging.getLogger(__name__)

SAMPLE_ORG = Path(__file__).resolve().parents[2] / "db" / "sample_org.csv"
# A Wednesday in a year the shipped calendar knows; the complaint's one-working-day limit
# runs out on Thursday morning.
DEMO_DAY = date(2026, 11, 25)
# Who plays (工号 in db/sample_org.csv): an inspector at 察素齐投递部, a clerk there, the
# county's delivery handler and the county manager (the first escalation level).
INSPECTOR, CLERK, HANDLER, MANAGER = "I003", "C002", "H001", "M003"
CHECK_ITEM = "delivery_express_signoff"
COMPLAINT = "东2段信件报刊积压三天了，用户多次打电话投诉，电话13912345678"
REPLY_TIMEOUT = 10.0


@dataclass(frozen=True)
class DemoResult:
    activity: Activity
    bot_messages: int
    user_actions: int
    seconds: float


def demo_settings(config: Path, database_url: str, sandbox: SandboxServer) -> Settings:
    """The user's config, on the demo database, polling the sandbox with its token."""
    loaded = load_settings(config, {TOKEN_ENV: sandbox.token, DATABASE_URL_ENV: database_url})
    bot = loaded.bot.model_copy(
        update={
            "api_base_url": sandbox.base_url,
            "token": SecretStr(sandbox.token),
            "mode": "polling",
        }
    )
    return loaded.model_copy(update={"bot": bot})


class DemoDay:
    """The script. Each step acts like a person would and waits for the bot's answers, so a
    bot that does not answer as expected stops the demo instead of printing a wrong story."""

    def __init__(self, sim: Simulation, transcript: Transcript, tz: ZoneInfo) -> None:
        self.sim = sim
        self.log = transcript
        self.tz = tz

    async def at(self, day: date, hour: int, minute: int = 0) -> None:
        await self._move_to(datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.tz))

    async def later(self, minutes: int) -> None:
        await self._move_to(self.sim.clock.now() + timedelta(minutes=minutes))

    async def _move_to(self, instant: datetime) -> None:
        """Let the bot finish what it is sending (printed at the time it was sent), then
        move the clock."""
        await self._settle()
        await self.log.caught_up()
        self.log.flush()
        self.sim.clock.set(instant)

    async def tick(self) -> None:
        """The scheduled work, as the repeating job runs it, at the clock's time."""
        await self.sim.tick()

    async def join(self, code: str) -> SandboxUser:
        staff = await self.sim.staff(code)
        async with self.sim.db.session() as session:
            unit = await get_unit(session=session, unit_id=staff.unit_id)
        user = self.sim.user(code, staff.name)
        self.log.name(user, texts.demo_staff_label(staff.name, staff.role, unit.name))
        await self.log.send(user, f"/start {await self.sim.invite(code)}")
        await user.replies(1, REPLY_TIMEOUT)
        return user

    async def play(self) -> None:
        day1, day2 = DEMO_DAY, DEMO_DAY + timedelta(days=1)
        log = self.log

        await self.at(day1, 7, 40)
        log.scene(texts.DEMO_SCENE_REGISTER)
        inspector = await self.join(INSPECTOR)
        clerk = await self.join(CLERK)
        handler = await self.join(HANDLER)
        manager = await self.join(MANAGER)

        await self.at(day1, 8, 0)
        log.scene(texts.DEMO_SCENE_MORNING)
        await self.tick()
        await inspector.replies(1, REPLY_TIMEOUT)

        await self.at(day1, 8, 40)
        log.scene(texts.DEMO_SCENE_CHECK)
        title = self.sim.services.catalog.get(CHECK_ITEM).title
        await log.press(inspector, title)
        await inspector.replies(1, REPLY_TIMEOUT)
        for answer in ("两百多", "200", "25", "2"):  # "两百多" is no count: asked again
            await self.later(1)
            await log.send(inspector, answer)
            await inspector.replies(1, REPLY_TIMEOUT)
        await self.later(2)
        await log.send(inspector, "东2段两份特快清单由收发室代签，未注明代签人，已要求投递员补签")
        await inspector.replies(1, REPLY_TIMEOUT)
        await self.later(1)
        await log.press(inspector, texts.BUTTON_SUBMIT_CHECK)
        # The summary turned into the confirmation, and the corrective-action notice to its
        # owner (himself here).
        await inspector.edits(1, REPLY_TIMEOUT)
        await inspector.replies(1, REPLY_TIMEOUT)

        await self.at(day1, 10, 0)
        log.scene(texts.DEMO_SCENE_COMPLAINT)
        await log.send(clerk, COMPLAINT)
        await clerk.replies(1, REPLY_TIMEOUT)
        await self.later(1)
        await log.press(clerk, texts.BUTTON_CONFIRM)
        await clerk.edits(1, REPLY_TIMEOUT)  # the draft turned into the submitted complaint
        await handler.replies(1, REPLY_TIMEOUT)
        log.note(texts.DEMO_NOTE_HANDLER_SILENT)

        await self.at(day1, 15, 0)
        log.scene(texts.DEMO_SCENE_AFTERNOON)
        await self.tick()
        await inspector.replies(1, REPLY_TIMEOUT)

        await self.at(day1, 18, 0)
        log.scene(texts.DEMO_SCENE_END_OF_DAY)
        await self.tick()
        await manager.replies(1, REPLY_TIMEOUT)

        await self.at(day2, 8, 0)
        log.scene(texts.DEMO_SCENE_NEXT_MORNING)
        await self.tick()
        await inspector.replies(1, REPLY_TIMEOUT)

        await self.at(day2, 10, 30)
        log.scene(texts.DEMO_SCENE_ESCALATION)
        await self.tick()
        await manager.replies(1, REPLY_TIMEOUT)

        await self.at(day2, 10, 40)
        log.scene(texts.DEMO_SCENE_ANSWER)
        await log.press(handler, "答复")
        await handler.replies(1, REPLY_TIMEOUT)
        await self.later(3)
        await log.send(handler, "已查明：东2段投递员病假，今日已安排人员补投，并向用户致歉。")
        await handler.replies(1, REPLY_TIMEOUT)
        await clerk.replies(1, REPLY_TIMEOUT)
        await manager.replies(1, REPLY_TIMEOUT)

        await self.at(day2, 11, 0)
        log.scene(texts.DEMO_SCENE_MANAGER)
        await log.send(manager, "/progress")
        await manager.replies(1, REPLY_TIMEOUT)
        await self.later(2)
        await log.send(manager, f"/report {day1:%Y-%m}")
        await manager.replies(2, REPLY_TIMEOUT)  # the workbook and the chart
        await self._settle()
        await log.caught_up()
        log.flush()

    async def _settle(self) -> None:
        """Wait until the outbox has sent everything the scheduled work queued (its per-chat
        pacing takes a second between two messages to one person)."""
        async with asyncio.timeout(REPLY_TIMEOUT * 3):
            while True:
                async with self.sim.db.session() as session:
                    backlog = await outbox_backlog(session=session)
                if backlog.pending == 0:
                    return
                await asyncio.sleep(0.1)


async def _play(config: Path, database_url: str, write: Callable[[str], None]) -> DemoResult:
    started = time.monotonic()
    tz = load_settings(config, {}).time.tz
    clock = ManualClock(datetime(DEMO_DAY.year, DEMO_DAY.month, DEMO_DAY.day, 7, 30, tzinfo=tz))
    database = Database(database_url)
    try:
        async with database.session() as session:
            await import_org(
                read_org_file(SAMPLE_ORG),
                labels=texts.IMPORT_LABELS,
                session=session,
                now=clock.now(),
            )
    finally:
        await database.close()
    async with SandboxServer(DEFAULT_TOKEN, clock=clock) as sandbox:
        settings = demo_settings(config, database_url, sandbox)
        transcript = Transcript(sandbox, clock, write)
        write(texts.DEMO_INTRO)
        async with simulate(settings, sandbox, clock) as sim:
            await DemoDay(sim, transcript, tz).play()
            async with sim.db.session() as session:
                activity = await count_activity(session=session)
    return DemoResult(
        activity=activity,
        bot_messages=transcript.counts.bot_messages,
        user_actions=transcript.counts.user_actions,
        seconds=time.monotonic() - started,
    )


def write_summary(result: DemoResult, write: Callable[[str], None]) -> None:
    a = result.activity
    write("")
    write(texts.DEMO_SUMMARY_TITLE)
    for label, value in texts.demo_summary(
        checks_planned=a.checks_planned,
        checks_done=a.checks_done,
        checks_missed=a.checks_missed,
        findings=a.findings,
        corrective_actions=a.corrective_actions,
        complaints=a.complaints,
        complaints_answered=a.complaints_answered,
        escalations=a.escalations,
        bot_messages=result.bot_messages,
        user_actions=result.user_actions,
    ):
        write(texts.demo_summary_line(label, value))
    write(texts.demo_elapsed(result.seconds))


def run_demo(config: Path, write: Callable[[str], None], database_url: str | None = None) -> int:
    """Play the demo day on a throw-away SQLite database (or on ``database_url``, which must
    be empty; postgresql://… and sqlite:///… as the bot's settings accept them); 0 when every
    step went as scripted."""
    with tempfile.TemporaryDirectory(prefix="postal-bot-demo-") as workdir:
        url = (
            with_async_driver(database_url)
            if database_url
            else f"sqlite+aiosqlite:///{Path(workdir) / 'demo.db'}"
        )
        upgrade_database(url)
        try:
            result = asyncio.run(_play(config, url, write))
        except AssertionError as error:
            logger.error("demo stopped: %s", error)
            write(texts.DEMO_FAILED)
            return 1
    write_summary(result, write)
    return 0
