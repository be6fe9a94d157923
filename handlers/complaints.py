"""Complaints in chat: free text in, the understood draft with buttons out; handlers and
alerted managers answer, re-route, return or claim with buttons."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from bot.services import Services
from bot.usecases import complaints
from bot.views import texts
from bot.views.buttons import (
    Action,
    CallbackData,
    category_buttons,
    choice_buttons,
    decode,
    department_buttons,
    draft_buttons,
    praise_buttons,
    returned_buttons,
    verdict_buttons,
)
from db.models import ChatState, ComplaintStatus, Staff
from handlers.editing import drop_buttons, markup, turn_into, unless_unchanged
from nlp.categories import Category
from nlp.text import has_words
from scheduler.org import Department

logger = logging.getLogger(__name__)

REFUSALS = {
    complaints.Refusal.NOT_FOUND: texts.NOT_FOUND,
    complaints.Refusal.NOT_YOURS: texts.NOT_YOURS,
    complaints.Refusal.WRONG_STATE: texts.ALREADY_DONE,
}


async def ask_for_complaint(update: Update, context: BotContext) -> None:
    """/complaint: asks for a description (pausing an open check); the next message is the
    report."""
    assert update.effective_message is not None
    paused_check = await complaints.begin_report(context.services, context.registered_staff)
    prompt = texts.ASK_COMPLAINT_TEXT
    await update.effective_message.reply_text(
        f"{texts.CHECK_PAUSED}\n{prompt}" if paused_check else prompt
    )


def photo_of(message: Message) -> str | None:
    return message.photo[-1].file_id if message.photo else None


async def on_photo_alone(message: Message, context: BotContext, details_of: int | None) -> None:
    """A photo without a caption: added to the returned complaint being completed, joined
    to its album's complaint, or kept until the album's captioned photo arrives."""
    file_id = photo_of(message)
    assert file_id is not None
    outcome = await complaints.add_photo(
        context.services, context.registered_staff, file_id, message.media_group_id, details_of
    )
    if isinstance(outcome, complaints.Refusal):
        await message.reply_text(REFUSALS[outcome])
    elif outcome is complaints.PhotoOutcome.NO_TEXT:
        await message.reply_text(texts.PHOTO_NEEDS_CAPTION)
    elif outcome is complaints.PhotoOutcome.WAITING_FIRST:
        await message.reply_text(texts.ALBUM_WAITING)
    elif details_of is not None:
        await message.reply_text(
            texts.PHOTO_ADDED, reply_markup=markup(returned_buttons(details_of))
        )


async def report(message: Message, context: BotContext, text: str, photo: str | None) -> None:
    """Shows what the bot understood, with buttons to confirm, change the category or cancel."""
    text = text.strip()
    if len(text) < complaints.MIN_TEXT:
        await message.reply_text(texts.COMPLAINT_TOO_SHORT)
        return
    if len(text) > complaints.MAX_REPORT:
        await message.reply_text(texts.message_too_long(len(text), complaints.MAX_REPORT))
        return
    if not has_words(text):
        await message.reply_text(texts.NO_WORDS_REPORT)
        return
    draft = await complaints.report_complaint(
        context.services,
        await context.services.reader(),
        context.registered_staff,
        text,
        photo,
        message.media_group_id,
    )
    text, keyboard = draft_reply(draft)
    await message.reply_text(text, reply_markup=keyboard)


def draft_reply(draft: complaints.DraftReport) -> tuple[str, InlineKeyboardMarkup]:
    """The draft and its buttons: a praise offer, the likeliest categories first when the
    reader is unsure, or confirm / change / cancel."""
    card = draft.card
    assert card.complaint.id is not None
    if draft.praise:
        return texts.praise_offer(card), markup(praise_buttons(card.complaint.id))
    if draft.unsure:
        return (
            texts.complaint_draft(card) + "\n\n" + texts.LOW_CONFIDENCE,
            markup(choice_buttons(card.complaint.id, draft.choices)),
        )
    return texts.complaint_draft(card), markup(draft_buttons(card.complaint.id))


# What the bot asked for, repeated when something else (a sticker, a voice note …) arrives.
PROMPTS = {
    complaints.FLOW_COMPLAINT_TEXT: texts.ASK_COMPLAINT_TEXT,
    complaints.FLOW_ANSWER: texts.ASK_ANSWER,
    complaints.FLOW_REROUTE_REASON: texts.ASK_REROUTE_REASON,
    complaints.FLOW_RETURN_REASON: texts.ASK_RETURN_REASON,
    complaints.FLOW_DETAILS: texts.ASK_DETAILS,
    complaints.FLOW_DISSATISFIED: texts.ASK_DISSATISFIED_REASON,
}
FLOWS = tuple(PROMPTS)


async def on_flow_text(message: Message, context: BotContext, state: ChatState) -> None:
    """The message answers a question the bot asked about a complaint."""
    text = (message.text or message.caption or "").strip()
    staff = context.registered_staff
    services = context.services
    photo_flows = (complaints.FLOW_COMPLAINT_TEXT, complaints.FLOW_DETAILS)
    if not text:
        if message.photo and state.flow in photo_flows:
            details_of = state.ref_id if state.flow == complaints.FLOW_DETAILS else None
            await on_photo_alone(message, context, details_of)
            return
        await message.reply_text(texts.text_expected(PROMPTS[state.flow]))
        return
    if state.flow == complaints.FLOW_COMPLAINT_TEXT:
        await report(message, context, text, photo_of(message))
        return
    if len(text) > complaints.MAX_REPLY:
        await message.reply_text(texts.message_too_long(len(text), complaints.MAX_REPLY))
        return
    if not has_words(text):
        # An answer, a reason or added details must say something; the question stays.
        await message.reply_text(texts.NO_WORDS_REPLY)
        return
    assert state.ref_id is not None
    if state.flow == complaints.FLOW_DETAILS:
        if message.photo:
            photo = photo_of(message)
            assert photo is not None
            await complaints.add_photo(
                services, staff, photo, message.media_group_id, details_of=state.ref_id
            )
        card = await complaints.add_details(services, state.ref_id, staff, text)
        if isinstance(card, complaints.Refusal):
            await message.reply_text(REFUSALS[card])
            return
        await message.reply_text(
            texts.complaint_details_added(card), reply_markup=markup(returned_buttons(state.ref_id))
        )
    elif state.flow == complaints.FLOW_ANSWER:
        if len(text) < complaints.MIN_TEXT:
            await message.reply_text(texts.ANSWER_TOO_SHORT)
            return
        refusal = await complaints.answer_complaint(services, state.ref_id, staff, text)
        if refusal:
            await message.reply_text(REFUSALS[refusal])
            return
        # 有理 / 无理 is asked with the saved answer: one press, recorded with it.
        await message.reply_text(
            texts.ANSWER_SAVED, reply_markup=markup(verdict_buttons(state.ref_id))
        )
    elif state.flow == complaints.FLOW_DISSATISFIED:
        card = await complaints.reopen_complaint(services, state.ref_id, staff, text)
        if isinstance(card, complaints.Refusal):
            await message.reply_text(REFUSALS[card])
            return
        await message.reply_text(
            texts.complaint_reopened_for_reporter(card, services.settings.time.tz)
        )
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


async def on_button(update: Update, context: BotContext) -> None:
    """Every complaint button; the payload is re-checked against the presser."""
    query = update.callback_query
    assert query is not None
    payload = decode(query.data)
    if payload is None or not isinstance(query.message, Message):
        await context.answer_press(texts.UNKNOWN_BUTTON)
        return
    staff = context.registered_staff
    outcome = await _press(payload, staff, query.message, context)
    if isinstance(outcome, complaints.Refusal):
        await context.answer_press(REFUSALS[outcome], alert=True)
    else:
        await context.answer_press()


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
            await turn_into(message, texts.complaint_submitted(card, tz))
        case Action.CHANGE_CATEGORY:
            status = await complaints.check_may_recategorise(services, complaint_id, staff)
            if isinstance(status, complaints.Refusal):
                return status
            returned = status is ComplaintStatus.RETURNED
            await unless_unchanged(
                message.edit_reply_markup(markup(category_buttons(complaint_id, returned=returned)))
            )
        case Action.SET_CATEGORY:
            if payload.value not in Category._value2member_map_:
                return complaints.Refusal.NOT_FOUND
            card = await complaints.choose_category(
                services, complaint_id, staff, Category(payload.value)
            )
            if isinstance(card, complaints.Refusal):
                return card
            returned = card.complaint.status is ComplaintStatus.RETURNED
            buttons = returned_buttons if returned else draft_buttons
            await unless_unchanged(
                message.edit_text(
                    texts.complaint_draft(card), reply_markup=markup(buttons(complaint_id))
                )
            )
        case Action.CANCEL | Action.WITHDRAW:
            refusal = await complaints.withdraw_complaint(services, complaint_id, staff)
            if refusal:
                return refusal
            done = texts.COMPLAINT_CANCELLED if payload.action is Action.CANCEL else None
            await unless_unchanged(message.edit_text(done or texts.COMPLAINT_WITHDRAWN))
        case Action.ADD_DETAILS:
            return await _ask(message, services, complaint_id, staff, complaints.FLOW_DETAILS)
        case Action.RESUBMIT:
            card = await complaints.resubmit_complaint(services, complaint_id, staff)
            if isinstance(card, complaints.Refusal):
                return card
            await drop_buttons(message)
            await message.reply_text(texts.complaint_resubmitted(card, tz))
        case Action.SATISFIED:
            rated = await complaints.rate_answer(services, complaint_id, staff)
            if isinstance(rated, complaints.Refusal):
                return rated
            await drop_buttons(message)
            await message.reply_text(texts.THANKS_SATISFIED)
        case Action.DISSATISFIED:
            flow = complaints.FLOW_DISSATISFIED
            return await _ask(message, services, complaint_id, staff, flow, drop=True)
        case Action.VERDICT:
            if payload.value not in ("y", "n"):
                return complaints.Refusal.NOT_FOUND
            verdict = await complaints.record_verdict(
                services, complaint_id, staff, payload.value == "y"
            )
            if isinstance(verdict, complaints.Refusal):
                return verdict
            await unless_unchanged(message.edit_text(texts.verdict_recorded(verdict)))
        case Action.RECORD_HIGHLIGHT:
            recorded = await complaints.record_praise(services, complaint_id, staff)
            if isinstance(recorded, complaints.Refusal):
                return recorded
            done = texts.highlight_recorded(recorded.highlight_id, recorded.unit_name)
            await unless_unchanged(message.edit_text(done))
        case Action.KEEP_AS_COMPLAINT:
            draft = await complaints.keep_as_complaint(
                services, await services.reader(), complaint_id, staff
            )
            if isinstance(draft, complaints.Refusal):
                return draft
            text, keyboard = draft_reply(draft)
            await unless_unchanged(message.edit_text(text, reply_markup=keyboard))
        case Action.ANSWER:
            return await _ask(message, services, complaint_id, staff, complaints.FLOW_ANSWER)
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
            flow = complaints.FLOW_REROUTE_REASON
            return await _ask(
                message, services, complaint_id, staff, flow, payload.value, drop=True
            )
        case Action.RETURN:
            flow = complaints.FLOW_RETURN_REASON
            return await _ask(message, services, complaint_id, staff, flow)
        case Action.CLAIM:
            card = await complaints.claim_complaint(services, complaint_id, staff)
            if isinstance(card, complaints.Refusal):
                return card
            await message.reply_text(texts.complaint_claimed(complaint_id))
    return None


async def _ask(
    message: Message,
    services: Services,
    complaint_id: int,
    staff: Staff,
    flow: str,
    data: str | None = None,
    *,
    drop: bool = False,
) -> complaints.Refusal | None:
    """The person's next message is this flow's text for the complaint: ask for it (``drop``:
    the pressed choice is made, its buttons go)."""
    refusal = await complaints.begin_input(services, complaint_id, staff, flow, data)
    if refusal:
        return refusal
    if drop:
        await drop_buttons(message)
    await message.reply_text(PROMPTS[flow])
    return None


COMPLAINT_ACTIONS = "|".join(a.value for a in Action)


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CommandHandler("complaint", ask_for_complaint),
        CallbackQueryHandler(on_button, pattern=rf"^({COMPLAINT_ACTIONS}):"),
    ]
