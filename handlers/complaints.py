"""Complaints in chat: free text in, the understood draft with buttons out; handlers and
alerted managers answer, re-route, return or claim with buttons."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot import complaints, texts
from bot.buttons import (
    Action,
    CallbackData,
    Keyboard,
    category_buttons,
    decode,
    department_buttons,
    draft_buttons,
)
from bot.context import BotContext
from db.chat_state import set_chat_state
from db.models import ChatState, Staff
from nlp.categories import Category
from scheduler.org import Department

MIN_TEXT = 4
REFUSALS = {
    complaints.Refusal.NOT_FOUND: texts.NOT_FOUND,
    complaints.Refusal.NOT_YOURS: texts.NOT_YOURS,
    complaints.Refusal.WRONG_STATE: texts.ALREADY_DONE,
}


def markup(keyboard: Keyboard) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in keyboard]
    )


async def ask_for_complaint(update: Update, context: BotContext) -> None:
    """/complaint: asks for a description; the next message is the report."""
    assert update.effective_message is not None
    staff = context.registered_staff
    assert staff.id is not None
    async with context.services.db.session() as session:
        await set_chat_state(
            session=session,
            staff_id=staff.id,
            flow=complaints.FLOW_COMPLAINT_TEXT,
            now=context.services.clock.now(),
        )
    await update.effective_message.reply_text(texts.ASK_COMPLAINT_TEXT)


async def report(message: Message, context: BotContext, text: str, photo: str | None) -> None:
    """Shows what the bot understood, with buttons to confirm, change the category or cancel."""
    if len(text.strip()) < MIN_TEXT:
        await message.reply_text(texts.COMPLAINT_TOO_SHORT)
        return
    reader = context.services.reader
    card, unsure = await complaints.report_complaint(
        context.services, reader, context.registered_staff, text.strip(), photo
    )
    assert card.complaint.id is not None
    if unsure:
        await message.reply_text(
            texts.complaint_draft(card) + "\n\n" + texts.LOW_CONFIDENCE,
            reply_markup=markup(category_buttons(card.complaint.id)),
        )
        return
    await message.reply_text(
        texts.complaint_draft(card), reply_markup=markup(draft_buttons(card.complaint.id))
    )


async def on_flow_text(message: Message, context: BotContext, state: ChatState) -> None:
    """The text answers a question the bot asked about a complaint."""
    text = (message.text or message.caption or "").strip()
    staff = context.registered_staff
    services = context.services
    if state.flow == complaints.FLOW_COMPLAINT_TEXT:
        photo = message.photo[-1].file_id if message.photo else None
        await report(message, context, text, photo)
        return
    if not text:
        await message.reply_text(texts.TEXT_EXPECTED)
        return
    assert state.ref_id is not None
    if state.flow == complaints.FLOW_ANSWER:
        if len(text) < MIN_TEXT:
            await message.reply_text(texts.ANSWER_TOO_SHORT)
            return
        refusal = await complaints.answer_complaint(services, state.ref_id, staff, text)
        await message.reply_text(REFUSALS[refusal] if refusal else texts.ANSWER_SAVED)
    elif state.flow == complaints.FLOW_REROUTE_REASON:
        if state.data is None or state.data not in Department._value2member_map_:
            await message.reply_text(texts.NOT_FOUND)
            return
        department = Department(state.data)
        result = await complaints.reroute_complaint(services, state.ref_id, staff, department, text)
        if isinstance(result, complaints.Refusal):
            await message.reply_text(REFUSALS[result])
        else:
            await message.reply_text(texts.complaint_rerouted(result, services.settings.time.tz))
    elif state.flow == complaints.FLOW_RETURN_REASON:
        refusal = await complaints.return_complaint(services, state.ref_id, staff, text)
        await message.reply_text(REFUSALS[refusal] if refusal else texts.RETURN_SAVED)


FLOWS = (
    complaints.FLOW_COMPLAINT_TEXT,
    complaints.FLOW_ANSWER,
    complaints.FLOW_REROUTE_REASON,
    complaints.FLOW_RETURN_REASON,
)


async def on_button(update: Update, context: BotContext) -> None:
    """Every complaint button; the payload is re-checked against the presser."""
    query = update.callback_query
    assert query is not None
    payload = decode(query.data)
    if payload is None or not isinstance(query.message, Message):
        await query.answer(texts.UNKNOWN_BUTTON)
        return
    staff = context.registered_staff
    outcome = await _press(payload, staff, query.message, context)
    if isinstance(outcome, complaints.Refusal):
        await query.answer(REFUSALS[outcome], show_alert=True)
    else:
        await query.answer()


async def _press(
    payload: CallbackData, staff: Staff, message: Message, context: BotContext
) -> complaints.Refusal | None:
    services = context.services
    complaint_id = payload.record_id
    tz = services.settings.time.tz
    match payload.action:
        case Action.CONFIRM:
            card = await complaints.confirm_complaint(services, complaint_id, staff)
            if isinstance(card, complaints.Refusal):
                return card
            await message.edit_text(texts.complaint_draft(card))
            await message.reply_text(texts.complaint_submitted(card, tz))
        case Action.CHANGE_CATEGORY:
            await message.edit_reply_markup(markup(category_buttons(complaint_id)))
        case Action.SET_CATEGORY:
            if payload.value not in Category._value2member_map_:
                return complaints.Refusal.NOT_FOUND
            card = await complaints.choose_category(
                services, complaint_id, staff, Category(payload.value)
            )
            if isinstance(card, complaints.Refusal):
                return card
            await message.edit_text(
                texts.complaint_draft(card), reply_markup=markup(draft_buttons(complaint_id))
            )
        case Action.CANCEL:
            refusal = await complaints.cancel_draft(services, complaint_id, staff)
            if refusal:
                return refusal
            await message.edit_text(texts.COMPLAINT_CANCELLED)
        case Action.ANSWER:
            refusal = await complaints.begin_input(
                services, complaint_id, staff, complaints.FLOW_ANSWER
            )
            if refusal:
                return refusal
            await message.reply_text(texts.ASK_ANSWER)
        case Action.REROUTE:
            refusal = await complaints.check_may_handle(services, complaint_id, staff)
            if refusal:
                return refusal
            await message.reply_text(
                texts.ASK_REROUTE_DEPARTMENT, reply_markup=markup(department_buttons(complaint_id))
            )
        case Action.REROUTE_TO:
            if payload.value not in Department._value2member_map_:
                return complaints.Refusal.NOT_FOUND
            refusal = await complaints.begin_input(
                services, complaint_id, staff, complaints.FLOW_REROUTE_REASON, payload.value
            )
            if refusal:
                return refusal
            await message.edit_reply_markup(None)
            await message.reply_text(texts.ASK_REROUTE_REASON)
        case Action.RETURN:
            refusal = await complaints.begin_input(
                services, complaint_id, staff, complaints.FLOW_RETURN_REASON
            )
            if refusal:
                return refusal
            await message.reply_text(texts.ASK_RETURN_REASON)
        case Action.CLAIM:
            card = await complaints.claim_complaint(services, complaint_id, staff)
            if isinstance(card, complaints.Refusal):
                return card
            await message.reply_text(texts.complaint_claimed(complaint_id))
    return None


COMPLAINT_ACTIONS = "|".join(a.value for a in Action)


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CommandHandler("complaint", ask_for_complaint),
        CallbackQueryHandler(on_button, pattern=rf"^({COMPLAINT_ACTIONS}):"),
    ]
