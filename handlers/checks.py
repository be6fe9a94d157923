"""Daily checks in chat: /today, the check buttons, one question at a time, the summary."""

from __future__ import annotations

from telegram import Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from bot.usecases import checks
from bot.views import texts
from bot.views.buttons import (
    Action,
    Keyboard,
    check_list_buttons,
    decode,
    question_buttons,
    question_index,
    summary_buttons,
)
from bot.views.cards import CheckView
from handlers.editing import markup, turn_into
from scheduler import check_flow

REFUSALS = {
    checks.Refusal.NOT_FOUND: texts.NOT_FOUND,
    checks.Refusal.NOT_YOURS: texts.CHECK_NOT_YOURS,
    checks.Refusal.FINISHED: texts.CHECK_FINISHED,
    checks.Refusal.NOT_TODAY: texts.CHECK_NOT_TODAY,
    checks.Refusal.UNANSWERED: texts.CHECK_UNANSWERED,
    checks.Refusal.OUTDATED: texts.BUTTON_OUTDATED,
}


def render(view: CheckView) -> tuple[str, Keyboard]:
    """The current question (after the reason a reply was refused), or the summary."""
    assert view.assignment.id is not None
    if view.question is None:
        return texts.check_summary(view), summary_buttons(view.assignment.id)
    answered, total = check_flow.progress(view.item, view.answers)
    text = texts.question_prompt(view, answered + 1, total)
    if view.rejected is not None:
        text = f"{texts.answer_rejected(view.rejected)}\n\n{text}"
    index = view.item.questions.index(view.question)
    return text, question_buttons(view.assignment.id, view.question, index)


async def show(message: Message, view: CheckView | checks.Refusal) -> None:
    if isinstance(view, checks.Refusal):
        await message.reply_text(REFUSALS[view])
        return
    text, keyboard = render(view)
    await message.reply_text(text, reply_markup=markup(keyboard) if keyboard else None)


async def today(update: Update, context: BotContext) -> None:
    """/today: today's checks with their progress, as buttons to open them."""
    assert update.effective_message is not None
    services = context.services
    lines = await checks.today_lines(services, context.registered_staff)
    if not lines:
        now = services.clock.now()
        push_at = services.settings.time.morning_push
        if now.time() < push_at:
            await update.effective_message.reply_text(texts.checks_not_pushed_yet(push_at))
        elif not services.calendar.is_working_day(now.date()):
            await update.effective_message.reply_text(texts.NOT_A_WORKING_DAY)
        else:
            await update.effective_message.reply_text(texts.NO_CHECKS_TODAY)
        return
    await update.effective_message.reply_text(
        texts.today_overview(lines), reply_markup=markup(check_list_buttons(lines))
    )


async def skip(update: Update, context: BotContext) -> None:
    """/skip: skips the current question when it is optional."""
    message = update.effective_message
    assert message is not None
    state = await checks.current_check(context.services, context.registered_staff)
    if state is None:
        await message.reply_text(texts.SKIP_NOTHING)
        return
    await show(
        message,
        await checks.answer_current(context.services, context.registered_staff, state, None),
    )


async def on_flow_message(message: Message, context: BotContext, assignment_id: int) -> None:
    """A typed answer or a photo for the current question of the open check."""
    reply = check_flow.Reply(
        text=message.text or message.caption,
        photo_file_id=message.photo[-1].file_id if message.photo else None,
    )
    view = await checks.answer_current(
        context.services, context.registered_staff, assignment_id, reply
    )
    await show(message, view)


async def on_button(update: Update, context: BotContext) -> None:
    """Opening a check (a new message); answering with a button, confirming or redoing the
    summary (the pressed message turned into the next step)."""
    query = update.callback_query
    assert query is not None
    payload = decode(query.data)
    if payload is None or not isinstance(query.message, Message):
        await context.answer_press(texts.UNKNOWN_BUTTON)
        return
    services, inspector = context.services, context.registered_staff
    assignment_id = payload.record_id
    recorded = None  # what the pressed message recorded, above the step it turns into
    match payload.action:
        case Action.OPEN_CHECK:
            view = await checks.open_check(services, inspector, assignment_id)
        case Action.ANSWER_CHECK:
            index = question_index(payload.value)
            _, _, value = payload.value.partition("-")
            item_question = (
                await checks.question_at(services, assignment_id, index)
                if index is not None
                else None
            )
            if item_question is None:
                await context.answer_press(texts.UNKNOWN_BUTTON)
                return
            view = await checks.answer_current(
                services,
                inspector,
                assignment_id,
                check_flow.Reply(text=value),
                question_id=item_question,
            )
            if not isinstance(view, checks.Refusal) and view.rejected is None:
                recorded = texts.answer_recorded(view, item_question)
        case Action.REDO_CHECK:
            view = await checks.redo_check(services, inspector, assignment_id)
            recorded = texts.CHECK_REDONE
        case Action.CONFIRM_CHECK:
            done = await checks.confirm_check(services, inspector, assignment_id)
            if isinstance(done, checks.Refusal):
                await refuse(context, done)
                return
            await context.answer_press()
            submitted = texts.check_submitted(done.view, done.findings, done.recheck_day)
            done_text = texts.check_done(done.findings, done.recheck_day)
            await turn_into(query.message, submitted, instead=done_text)
            return
        case _:
            await context.answer_press(texts.UNKNOWN_BUTTON)
            return
    if isinstance(view, checks.Refusal):
        await refuse(context, view)
        return
    await context.answer_press()
    if payload.action is Action.OPEN_CHECK:
        await show(query.message, view)  # a message of its own: the list stays usable
        return
    text, keyboard = render(view)
    await turn_into(query.message, f"{recorded}\n\n{text}" if recorded else text, keyboard)


async def refuse(context: BotContext, refusal: checks.Refusal) -> None:
    """An outdated button gets a passing note; anything else an alert to acknowledge."""
    await context.answer_press(REFUSALS[refusal], alert=refusal is not checks.Refusal.OUTDATED)


CHECK_ACTIONS = "|".join(
    a.value
    for a in (Action.OPEN_CHECK, Action.ANSWER_CHECK, Action.CONFIRM_CHECK, Action.REDO_CHECK)
)


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CommandHandler("today", today),
        CommandHandler("skip", skip),
        CallbackQueryHandler(on_button, pattern=rf"^({CHECK_ACTIONS}):"),
    ]
