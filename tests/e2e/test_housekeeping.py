"""Upkeep in the background: calendar warnings to admins, names from a re-import."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bot.clock import ManualClock
from bot.sandbox import SandboxServer
from bot.settings import Settings
from bot.views import texts
from db.org_import import import_org, read_org_file
from nlp.reader import ComplaintReader
from tests.conftest import SHANGHAI
from tests.e2e.harness import Harness, run_bot


async def test_admins_are_told_once_that_next_years_calendar_is_missing(bot: Harness) -> None:
    admin = await bot.register("A001")
    await bot.tick()
    (warning,) = await admin.replies(1)
    assert warning.content == texts.calendar_year_missing(2027)
    await bot.tick()
    await admin.no_reply()


async def test_a_date_in_an_unknown_year_warns_admins(bot: Harness) -> None:
    admin = await bot.register("A001")
    bot.clock.set(datetime(2028, 3, 1, 9, tzinfo=SHANGHAI))
    await bot.tick()
    warnings = {m.content for m in await admin.replies(1)}
    assert texts.calendar_year_missing(2028) in warnings


async def test_a_reimport_by_another_process_brings_new_names(bot: Harness, tmp_path: Path) -> None:
    clerk = await bot.register("C002")
    extra = tmp_path / "org.csv"
    extra.write_text(
        "type,code,name,parent,level,kind,area,role,department,phone\n"
        "segment,TZ-D1-W9,西9段,TZ-D1,,,,,,\n",
        encoding="utf-8",
    )
    async with bot.db.session() as session:
        await import_org(
            read_org_file(extra), labels=texts.IMPORT_LABELS, session=session, now=bot.clock.now()
        )
    await bot.tick()
    await clerk.send("西9段的报纸三天没送了，用户很着急")
    (draft,) = await clerk.replies(1)
    assert "察素齐投递部 / 西9段" in draft.content


async def test_a_reporters_choice_is_learned(
    settings: Settings, sandbox: SandboxServer, clock: ManualClock, sample_org: None
) -> None:
    own_reader = ComplaintReader.create()  # retraining changes it: not the shared one
    async with run_bot(settings, sandbox, clock, own_reader, checks=False) as bot:
        clerk = await bot.register("C001")
        before = own_reader.classifier
        await clerk.send("窗口的叫号机坏了一上午")
        await clerk.replies(1)
        await clerk.press(texts.BUTTON_CHANGE_CATEGORY)
        await clerk.edits(1)
        await clerk.press("其他")
        await clerk.edits(1)
        await bot.tick()
        assert bot.services.examples_trained == 1
        assert own_reader.classifier is not before
        await bot.tick()
        assert bot.services.examples_trained == 1
