"""/highlight: an inspector, site head or manager records a 亮点 for their unit or a unit in
their scope, as text or as a photo whose caption starts with /highlight."""

from __future__ import annotations

import re

from telegram import Message, Update
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from bot.context import BotContext
from bot.usecases import highlights
from bot.usecases.highlights import Problem, RecordedHighlight, Refusal
from bot.views import texts
from db.models import ChatState

# Telegram marks a command in a photo's caption, but PTB's CommandHandler reads only texts.
_CAPTION_COMMAND = re.compile(r"^/highlight(@\w+)?(\s|$)", re.IGNORECASE)

FLOWS = (highlights.FLOW_HIGHLIGHT_TEXT,)


def _refusal_text(refusal: Refusal) -> str:
    match refusal.problem:
        case Problem.UNKNOWN_UNIT:
            return texts.highlight_unknown_unit(refusal.reference)
        case Problem.AMBIGUOUS_UNIT:
            return texts.highlight_ambiguous_unit(refusal.reference, refusal.candidates)
        case Problem.OUT_OF_SCOPE:
            return texts.HIGHLIGHT_OUT_OF_SCOPE
        case Problem.TOO_SHORT:
            return texts.HIGHLIGHT_TOO_SHORT
        case Problem.TOO_LONG:
            return texts.message_too_long(refusal.length, highlights.MAX_TEXT)


async def _record(message: Message, context: BotContext, words: str) -> None:
    photo = message.photo[-1].file_id if message.photo else None
    result = await highlights.record_highlight(
        context.services, context.registered_staff, words, photo
    )
    if isinstance(result, RecordedHighlight):
        await message.reply_text(texts.highlight_recorded(result.highlight_id, result.unit_name))
    else:
        await message.reply_text(_refusal_text(result))


async def highlight(update: Update, context: BotContext) -> None:
    """/highlight [unit] text: records it and says for which unit; alone, asks for it."""
    message = update.effective_message
    assert message is not None and message.text is not None
    _, *rest = message.text.split(maxsplit=1)
    words = rest[0] if rest else ""
    if not words:
        paused_check = await highlights.begin_highlight(context.services, context.registered_staff)
        prompt = texts.ASK_HIGHLIGHT_TEXT
        await message.reply_text(f"{texts.CHECK_PAUSED}\n{prompt}" if paused_check else prompt)
        return
    await _record(message, context, words)


async def highlight_photo(update: Update, context: BotContext) -> None:
    """A photo captioned "/highlight [unit] text": the highlight with its photo."""
    message = update.effective_message
    assert message is not None and message.caption is not None
    words = _CAPTION_COMMAND.sub("", message.caption, count=1)
    if not words.strip():
        await message.reply_text(texts.HIGHLIGHT_USAGE)
        return
    await _record(message, context, words)


async def on_flow_message(message: Message, context: BotContext, state: ChatState) -> None:
    """The message after /highlight alone: its text, or a photo with its caption."""
    words = (message.text or message.caption or "").strip()
    if not words:
        await message.reply_text(texts.text_expected(texts.ASK_HIGHLIGHT_TEXT))
        return
    await _record(message, context, words)


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CommandHandler("highlight", highlight),
        MessageHandler(
            filters.UpdateType.MESSAGE & filters.PHOTO & filters.CaptionRegex(_CAPTION_COMMAND),
            highlight_photo,
        ),
    ]
