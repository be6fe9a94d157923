"""Duties end to end: an organisation import with a unit nobody covers tells the admin in
chat; /progress counts the 无人承担 checks apart."""

from __future__ import annotations

from pathlib import Path

from bot.views import texts
from db.org_import import COLUMNS, import_org, read_org_file
from tests.e2e.harness import Harness


async def test_an_import_with_an_uncovered_unit_tells_the_admin(
    bot: Harness, tmp_path: Path
) -> None:
    admin = await bot.register("A001")
    await bot.tick()
    await admin.replies(1)  # next year's calendar is missing (November): not ours
    extra = tmp_path / "org.csv"
    extra.write_text(
        ",".join(COLUMNS) + "\nunit,TZ-C9,新区营业支局,TZ,site,counter,urban,,,,,\n",
        encoding="utf-8",
    )
    async with bot.db.session() as session:
        await import_org(
            read_org_file(extra), labels=texts.IMPORT_LABELS, session=session, now=bot.clock.now()
        )
    await bot.tick()
    (notice,) = await admin.replies(1)
    assert notice.content.startswith("⚠️ 【无人承担】8 个单位")
    assert "• 新区营业支局：缺 营业支局长（8 项）" in notice.content
    await bot.tick()
    await admin.no_reply()

    await admin.send("/progress")
    (progress,) = await admin.replies(1)
    assert "⚠️ 无人承担：8 个单位的" in progress.content
