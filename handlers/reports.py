"""Managers' figures in chat: /progress (today's checks), /stats [month], /report month."""

from __future__ import annotations

from telegram import Message, Update
from telegram.ext import BaseHandler, CommandHandler

from bot.context import BotContext
from bot.usecases import reports
from bot.views import texts

REFUSALS = {
    reports.Refusal.FUTURE_MONTH: texts.REPORT_FUTURE_MONTH,
    reports.Refusal.BEFORE_GO_LIVE: texts.REPORT_BEFORE_GO_LIVE,
    reports.Refusal.OUT_OF_SCOPE: texts.REPORT_OUT_OF_SCOPE,
}


async def _refuse(message: Message, refusal: reports.Refusal, unit_code: str | None) -> None:
    if refusal is reports.Refusal.UNKNOWN_UNIT:
        await message.reply_text(texts.report_unknown_unit(unit_code or ""))
        return
    await message.reply_text(REFUSALS[refusal])


async def progress(update: Update, context: BotContext) -> None:
    """/progress: today's checks in my unit and below, per inspector."""
    assert update.effective_message is not None
    result = await reports.progress_today(context.services, context.registered_staff)
    if not result.inspectors:
        await update.effective_message.reply_text(texts.NO_PROGRESS)
        return
    await update.effective_message.reply_text(texts.progress_text(result))


async def stats(update: Update, context: BotContext) -> None:
    """/stats [YYYY-MM]: a month's figures of my unit in one message (this month by default)."""
    message = update.effective_message
    assert message is not None
    args = context.args or []
    month = reports.parse_month(args[0]) if len(args) == 1 else None
    if len(args) > 1 or (args and month is None):
        await message.reply_text(texts.STATS_USAGE)
        return
    figures = await reports.month_figures(context.services, context.registered_staff, month)
    if isinstance(figures, reports.Refusal):
        await _refuse(message, figures, None)
        return
    await message.reply_text(texts.stats_text(figures))


async def report(update: Update, context: BotContext) -> None:
    """/report YYYY-MM [unit code]: the month's 检查报告书 as an .xlsx and a chart image."""
    message = update.effective_message
    assert message is not None
    args = context.args or []
    month = reports.parse_month(args[0]) if args else None
    if month is None or len(args) > 2:
        await message.reply_text(texts.REPORT_USAGE)
        return
    unit_code = args[1] if len(args) == 2 else None
    files = await reports.report_files(context.services, context.registered_staff, month, unit_code)
    if isinstance(files, reports.Refusal):
        await _refuse(message, files, unit_code)
        return
    result = files.figures.report
    await message.reply_document(
        document=files.xlsx,
        filename=files.filename,
        caption=texts.report_document_caption(files.figures),
    )
    await message.reply_photo(
        photo=files.chart,
        caption=texts.report_chart_caption(result.unit.name, result.month.year, result.month.month),
    )


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CommandHandler("progress", progress),
        CommandHandler("stats", stats),
        CommandHandler("report", report),
    ]
