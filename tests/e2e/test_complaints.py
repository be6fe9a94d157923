"""Complaints end to end: free text in, understood, confirmed, routed, answered."""

from __future__ import annotations

from sqlmodel import col, select

from bot.sandbox import ApiCall, ApiReply, SandboxServer
from bot.views import texts
from db.models import Complaint, ComplaintEvent, ComplaintStatus, LabelledExample
from scheduler.org import Department
from tests.e2e.harness import Harness

REPORT = "东2段信件报刊积压三天了，用户多次打电话投诉，电话13912345678"


async def complaint_rows(bot: Harness) -> list[Complaint]:
    async with bot.db.session() as session:
        return list((await session.exec(select(Complaint).order_by(col(Complaint.id)))).all())


async def event_kinds(bot: Harness, complaint_id: int) -> list[tuple[str, str]]:
    async with bot.db.session() as session:
        statement = (
            select(ComplaintEvent)
            .where(ComplaintEvent.complaint_id == complaint_id)
            .order_by(col(ComplaintEvent.id))
        )
        return [(e.kind, e.detail) for e in (await session.exec(statement)).all()]


async def test_report_confirm_route_answer_and_notify(bot: Harness) -> None:
    clerk, handler = await bot.register("C002"), await bot.register("H001")
    await clerk.send(REPORT)
    (draft,) = await clerk.replies(1)
    for understood in (
        "投递延误/积压",
        "察素齐投递部 / 东2段",
        "139****5678",
        "三天",
        "多次",
        "投递",
    ):
        assert understood in draft.content, understood
    assert "13912345678" not in draft.content
    assert draft.button_texts == [texts.BUTTON_CONFIRM, texts.BUTTON_CHANGE_CATEGORY, "✖️ 取消"]

    await clerk.press(texts.BUTTON_CONFIRM)
    (submitted,) = await clerk.edits(1)  # one edit: the draft becomes the submitted complaint
    assert submitted.message.message_id == draft.message_id and not submitted.buttons
    assert "已提交" in submitted.content and "察素齐投递部 / 东2段" in submitted.content
    assert "马建军" in submitted.content and "答复时限" in submitted.content
    await clerk.no_reply(within=0.2)
    (card,) = await handler.replies(1)
    assert "新投诉" in card.content and "察素齐投递部" in card.content and "钱志刚" in card.content
    assert card.button_texts == ["答复", "转办", "退回"]

    await handler.press("答复")
    assert (await handler.reply()).content == texts.ASK_ANSWER
    await handler.send("已查明：东2段投递员病假，今日已安排人员补投，并向用户致歉。")
    assert (await handler.reply()).content == texts.ANSWER_SAVED
    (notice,) = await clerk.replies(1)
    assert "已由 马建军 答复" in notice.content and "补投" in notice.content

    (complaint,) = await complaint_rows(bot)
    assert complaint.status is ComplaintStatus.ANSWERED
    assert complaint.category == "delay" and complaint.urgent
    assert complaint.phones == "13912345678"
    assert [kind for kind, _ in await event_kinds(bot, complaint.id or 0)] == [
        "created",
        "routed",
        "answered",
    ]


async def test_photo_with_caption_is_a_report(bot: Harness) -> None:
    clerk = await bot.register("C001")
    await clerk.send_photo(b"\x89PNG fake", caption="包裹破损，内件损坏了，用户要求赔偿")
    (draft,) = await clerk.replies(1)
    assert "破损" in draft.content
    (complaint,) = await complaint_rows(bot)
    assert complaint.photo_file_id


async def test_low_confidence_asks_the_reporter_and_learns(bot: Harness) -> None:
    clerk = await bot.register("C001")
    await clerk.send("今天天气不错，挺好的")
    (draft,) = await clerk.replies(1)
    assert texts.LOW_CONFIDENCE in draft.content
    assert texts.BUTTON_CONFIRM not in draft.button_texts and "其他" in draft.button_texts
    await clerk.press("其他")
    (edited,) = await clerk.edits(1)
    assert "类别：其他" in edited.content
    async with bot.db.session() as session:
        (example,) = (await session.exec(select(LabelledExample))).all()
    assert (example.text, example.category) == ("今天天气不错，挺好的", "other")


async def test_change_category_before_confirming(bot: Harness) -> None:
    clerk = await bot.register("C001")
    await clerk.send("用户反映代收款一直没到账，已经一周了")
    await clerk.replies(1)
    await clerk.press(texts.BUTTON_CHANGE_CATEGORY)
    await clerk.edits(1)
    await clerk.press("营业窗口/拒办")
    (edited,) = await clerk.edits(1)
    assert "类别：营业窗口/拒办" in edited.content and "市场经营部" in edited.content


async def test_reroute_records_who_and_why(bot: Harness) -> None:
    clerk, handler = await bot.register("C002"), await bot.register("H001")
    finance = await bot.register("H003")
    await clerk.send(REPORT)
    await clerk.replies(1)
    await clerk.press(texts.BUTTON_CONFIRM)
    await clerk.edits(1)
    await handler.replies(1)
    await handler.press("转办")
    assert (await handler.reply()).content == texts.ASK_REROUTE_DEPARTMENT
    await handler.press("金融")
    assert (await handler.reply()).content == texts.ASK_REROUTE_REASON
    await handler.send("用户实际反映的是代收款问题")
    (done,) = await handler.replies(1)
    assert "已转办至金融" in done.content and "何静" in done.content
    (card,) = await finance.replies(1)
    assert "新投诉" in card.content
    (complaint,) = await complaint_rows(bot)
    assert complaint.department is Department.FINANCE
    kinds = await event_kinds(bot, complaint.id or 0)
    assert kinds[-1][0] == "rerouted" and "代收款问题" in kinds[-1][1]


async def test_others_cannot_act_on_a_complaint(bot: Harness) -> None:
    clerk, other = await bot.register("C002"), await bot.register("C001")
    await clerk.send(REPORT)
    (draft,) = await clerk.replies(1)
    confirm = draft.callback_data(texts.BUTTON_CONFIRM)
    await other.send("/help")
    help_message = await other.reply()
    await other.press_data(help_message.message_id, confirm)
    (refusal,) = await other.answers(1)
    assert refusal.text == texts.NOT_YOURS
    await other.press_data(help_message.message_id, "hans:1")
    assert (await other.answers(1))[0].text == texts.NOT_YOURS
    await other.press_data(help_message.message_id, "garbage")
    await other.no_reply()
    (complaint,) = await complaint_rows(bot)
    assert complaint.status is ComplaintStatus.DRAFT


async def test_too_short_and_cancel(bot: Harness) -> None:
    clerk = await bot.register("C001")
    await clerk.send("慢")
    assert (await clerk.reply()).content == texts.COMPLAINT_TOO_SHORT
    await clerk.send("/complaint")
    assert (await clerk.reply()).content == texts.ASK_COMPLAINT_TEXT
    await clerk.send("/cancel")
    assert (await clerk.reply()).content == texts.INPUT_CANCELLED
    await clerk.send(REPORT)
    await clerk.replies(1)
    await clerk.press(texts.BUTTON_CANCEL)
    (edited,) = await clerk.edits(1)
    assert edited.text == texts.COMPLAINT_CANCELLED
    assert [c.status for c in await complaint_rows(bot)] == [ComplaintStatus.WITHDRAWN]


async def test_a_confirmed_draft_telegram_will_not_edit_is_answered_anew(
    bot: Harness, sandbox: SandboxServer
) -> None:
    clerk, handler = await bot.register("C002"), await bot.register("H001")
    await clerk.send(REPORT)
    (draft,) = await clerk.replies(1)
    assert draft.buttons

    async def deleted(call: ApiCall) -> ApiReply | None:
        if call.method.startswith("editMessage"):
            return ApiReply.error(400, "Bad Request: message to edit not found")
        return None

    sandbox.policy = deleted
    await clerk.press(texts.BUTTON_CONFIRM)
    (submitted,) = await clerk.replies(1)  # nothing lost: the submitted complaint, anew
    assert "已提交" in submitted.content and "马建军" in submitted.content
    assert "答复时限" in submitted.content and not submitted.buttons
    (card,) = await handler.replies(1)
    assert "新投诉" in card.content
    (complaint,) = await complaint_rows(bot)
    assert complaint.status is ComplaintStatus.OPEN
