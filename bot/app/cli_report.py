"""`python -m bot report --unit CODE --month YYYY-MM --out FILE`: a unit's monthly report as
the .xlsx offices file, and its chart next to it as FILE.png, for any unit (an admin tool)."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.clock import Clock, SystemClock
from bot.services import Services
from bot.settings import Settings
from bot.usecases import reports
from bot.views import texts
from scheduler.business_calendar import CalendarError
from scheduler.catalog import CatalogError


def chart_path(out: Path) -> Path:
    """Where the chart goes: next to the workbook, e.g. report.xlsx → report.xlsx.png."""
    return out.with_name(out.name + ".png")


def _fail(text: str) -> int:
    sys.stderr.write(text + "\n")
    return 1


async def export(
    settings: Settings, unit_code: str, month_text: str, out: Path, clock: Clock | None = None
) -> int:
    month = reports.parse_month(month_text)
    if month is None:
        return _fail(texts.report_cli_bad_month(month_text))
    try:
        services = Services.create(settings, clock or SystemClock(settings.time.tz))
    except (CatalogError, CalendarError) as error:
        return _fail(texts.data_file_invalid(str(error)))
    try:
        files = await reports.export_report(services, unit_code, month)
    finally:
        await services.db.close()
    if files is reports.Refusal.UNKNOWN_UNIT:
        return _fail(texts.report_unknown_unit(unit_code))
    if files is reports.Refusal.BEFORE_GO_LIVE:
        return _fail(texts.REPORT_BEFORE_GO_LIVE)
    if isinstance(files, reports.Refusal):
        return _fail(texts.REPORT_FUTURE_MONTH)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(files.xlsx)
    chart_path(out).write_bytes(files.chart)
    sys.stdout.write(texts.report_cli_done(str(out), str(chart_path(out))) + "\n")
    return 0
