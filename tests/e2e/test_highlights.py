"""Asking with the likeliest categories first, praise offered as a 亮点, and /highlight, end
to end through the sandbox on both databases."""

from __future__ import annotations

from sqlmodel import col, select

from bot.views import texts
from db.models import Complaint, ComplaintEvent, ComplaintStatus, Highlight, HighlightSource
from nlp.categories import Category
from nlp.reader import ComplaintReader
from scheduler.org import Role
from tests.e2e.harness import Harness

UNSURE = "用户反映邮件有问题，让我们查一下"
PRAISE = "用户王大爷今天送来锦旗，表扬东2段投递员李强风雨无阻按时投递"
PHOTO = b"\x89PNG fake"


async def highlights(bot: Harness) -> list[Highlight]:
    async with bot.db.session() as session:
        return list((await session.exec(select(Highlight).order_by(col(Highlight.id)))).all())


async def complaints(bot: Harness) -> list[Complaint]:
    async with bot.db.session() as session:
        return list((await session.exec(select(Complaint).order_by(col(Complaint.id)))).all())


async def unit_id(bot: Harness, staff_code: str) -> int:
    return (await bot.staff(staff_code)).unit_id


# --- asking: the likeliest categories first -------------------------------------------------


async def test_an_unsure_reading_offers_the_likeliest_categories_first(
    bot: Harness, reader: ComplaintReader
) -> None:
    expected = reader.read(UNSURE).classification
    assert expected.low_confidence and 2 <= len(expected.choices) <= 3
    clerk = await bot.register("C002")
    await clerk.send(UNSURE)
    (draft,) = await clerk.replies(1)
    assert texts.LOW_CONFIDENCE in draft.content
    labels = [c.label for c in expected.choices]
    assert draft.button_texts == [*labels, texts.BUTTON_MORE_CATEGORIES, texts.BUTTON_CANCEL]

    await clerk.press(labels[1])  # the second likeliest is the right one here
    (chosen,) = await clerk.edits(1)
    assert f"类别：{labels[1]}" in chosen.content
    assert chosen.button_texts == [
        texts.BUTTON_CONFIRM,
        texts.BUTTON_CHANGE_CATEGORY,
        texts.BUTTON_CANCEL,
    ]
    await clerk.press(texts.BUTTON_CONFIRM)
    (submitted,) = await clerk.edits(1)
    assert "已提交" in submitted.content
    (complaint,) = await complaints(bot)
    assert complaint.category == expected.choices[1].value
    assert complaint.status is ComplaintStatus.OPEN


async def test_other_categories_opens_all_twelve(bot: Harness, reader: ComplaintReader) -> None:
    offered = set(reader.read(UNSURE).classification.choices)
    elsewhere = next(c for c in Category if c not in offered)
    clerk = await bot.register("C002")
    await clerk.send(UNSURE)
    await clerk.replies(1)
    await clerk.press(texts.BUTTON_MORE_CATEGORIES)
    (everything,) = await clerk.edits(1)
    assert everything.button_texts == [*(c.label for c in Category), texts.BUTTON_CANCEL]
    await clerk.press(elsewhere.label)
    (chosen,) = await clerk.edits(1)
    assert f"类别：{elsewhere.label}" in chosen.content
    (complaint,) = await complaints(bot)
    assert complaint.category == elsewhere.value and complaint.status is ComplaintStatus.DRAFT


# --- praise: offered as a highlight, not routed --------------------------------------------


async def test_praise_is_offered_and_recorded_as_a_highlight(
    bot: Harness, reader: ComplaintReader
) -> None:
    assert reader.read(PRAISE).praise
    clerk, handler = await bot.register("C002"), await bot.register("H001")
    await clerk.send(PRAISE)
    (offer,) = await clerk.replies(1)
    assert "表扬" in offer.content and "察素齐投递部" in offer.content
    assert offer.button_texts == [
        texts.BUTTON_RECORD_HIGHLIGHT,
        texts.BUTTON_KEEP_AS_COMPLAINT,
        texts.BUTTON_CANCEL,
    ]
    record = offer.callback_data(texts.BUTTON_RECORD_HIGHLIGHT)
    await clerk.press(texts.BUTTON_RECORD_HIGHLIGHT)
    (recorded,) = await clerk.edits(1)
    assert "已记为 察素齐投递部 的服务亮点" in recorded.content
    assert recorded.button_texts == []
    await handler.no_reply()  # nothing was routed

    (highlight,) = await highlights(bot)
    clerk_staff = await bot.staff("C002")
    assert (highlight.unit_id, highlight.author_id) == (clerk_staff.unit_id, clerk_staff.id)
    assert (highlight.text, highlight.source) == (PRAISE, HighlightSource.PRAISE)
    (complaint,) = await complaints(bot)
    assert complaint.status is ComplaintStatus.WITHDRAWN and complaint.handler_id is None
    async with bot.db.session() as session:
        events = (
            await session.exec(
                select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint.id)
            )
        ).all()
    assert [(e.kind, e.detail) for e in events][-1] == ("cancelled", f"highlight={highlight.id}")

    await clerk.answers(1)
    await clerk.press_data(offer.message_id, record)  # a double tap or a stale client
    (answer,) = await clerk.answers(1)
    assert answer.text in (texts.ALREADY_DONE, texts.PRESSED_TOO_OFTEN)
    assert len(await highlights(bot)) == 1


async def test_praise_can_still_be_reported_as_a_complaint(bot: Harness) -> None:
    clerk = await bot.register("C002")
    await clerk.send(PRAISE)
    await clerk.replies(1)
    await clerk.press(texts.BUTTON_KEEP_AS_COMPLAINT)
    (draft,) = await clerk.edits(1)
    assert "问题上报" in draft.content
    assert texts.BUTTON_RECORD_HIGHLIGHT not in draft.button_texts
    if texts.BUTTON_CONFIRM not in draft.button_texts:  # the reader asks: pick its first choice
        await clerk.press(draft.button_texts[0])
        await clerk.edits(1)
    await clerk.press(texts.BUTTON_CONFIRM)
    (submitted,) = await clerk.edits(1)
    assert "已提交" in submitted.content
    assert await highlights(bot) == []
    (complaint,) = await complaints(bot)
    assert complaint.status is ComplaintStatus.OPEN and complaint.routed_at is not None


async def test_a_praising_photo_keeps_its_photo(bot: Harness) -> None:
    clerk = await bot.register("C001")  # 孙丽娜, 察素齐营业支局
    await clerk.send_photo(PHOTO, caption="非常感谢营业员耐心帮我办理，送上感谢信")
    (offer,) = await clerk.replies(1)
    assert "察素齐营业支局" in offer.content
    await clerk.press(texts.BUTTON_RECORD_HIGHLIGHT)
    await clerk.edits(1)
    (highlight,) = await highlights(bot)
    (complaint,) = await complaints(bot)
    assert highlight.photo_file_id == complaint.photo_file_id is not None


async def test_praise_offer_can_be_cancelled(bot: Harness) -> None:
    clerk = await bot.register("C002")
    await clerk.send(PRAISE)
    await clerk.replies(1)
    await clerk.press(texts.BUTTON_CANCEL)
    (cancelled,) = await clerk.edits(1)
    assert cancelled.content == texts.COMPLAINT_CANCELLED
    assert await highlights(bot) == []
    (complaint,) = await complaints(bot)
    assert complaint.status is ComplaintStatus.WITHDRAWN


# --- /highlight -----------------------------------------------------------------------------


async def test_highlight_text_for_the_own_unit_and_a_unit_in_scope(bot: Harness) -> None:
    inspector = await bot.register("I002")  # 郑丽, 土默特左旗局 (TZ)
    await inspector.send("/highlight 全局营业窗口本月零投诉，群众满意度高")
    assert "已记为 土默特左旗局 的服务亮点" in (await inspector.reply()).content
    await inspector.send("/highlight tz-d1 投递员李强雨天坚持按时投递\n用户送来感谢信")
    assert "已记为 察素齐投递部 的服务亮点" in (await inspector.reply()).content
    await inspector.send("/highlight 毕克齐营业所 营业员主动帮老人填写单据")
    assert "已记为 毕克齐营业所 的服务亮点" in (await inspector.reply()).content

    await inspector.send("/highlight EMS 投递员主动上门揽收")
    assert "已记为 土默特左旗局 的服务亮点" in (await inspector.reply()).content

    first, by_code, by_name, word = await highlights(bot)
    assert word.unit_id == first.unit_id and word.text == "EMS 投递员主动上门揽收"
    author = await bot.staff("I002")
    assert {h.author_id for h in (first, by_code, by_name)} == {author.id}
    assert {h.source for h in (first, by_code, by_name)} == {HighlightSource.COMMAND}
    assert first.unit_id == author.unit_id and first.text.startswith("全局营业窗口")
    assert by_code.unit_id == await unit_id(bot, "C002")
    assert by_code.text == "投递员李强雨天坚持按时投递\n用户送来感谢信"
    assert by_name.text == "营业员主动帮老人填写单据"


async def test_highlight_refusals_lose_nothing_and_say_why(bot: Harness) -> None:
    inspector = await bot.register("I003")  # 陈明, 察素齐投递部 (TZ-D1)
    await inspector.send("/highlight TK-D1 双河投递部服务很好")
    assert (await inspector.reply()).content == texts.HIGHLIGHT_OUT_OF_SCOPE
    await inspector.send("/highlight 双河投递部 服务很好，用户点赞")
    assert (await inspector.reply()).content == texts.HIGHLIGHT_OUT_OF_SCOPE
    await inspector.send("/highlight XX-9 服务很好")
    assert "找不到单位“XX-9”" in (await inspector.reply()).content
    await inspector.send("/highlight 好")
    assert (await inspector.reply()).content == texts.HIGHLIGHT_TOO_SHORT
    clerk = await bot.register("C001")
    await clerk.send("/highlight 我们营业厅服务好")
    assert (await clerk.reply()).content == texts.command_not_for_role(Role.COUNTER_STAFF)
    await clerk.send_photo(PHOTO, caption="/highlight 我们营业厅服务好")
    assert (await clerk.reply()).content == texts.command_not_for_role(Role.COUNTER_STAFF)
    assert await highlights(bot) == [] and await complaints(bot) == []


async def test_highlight_with_a_photo(bot: Harness) -> None:
    manager = await bot.register("M003")  # 张志强, 土默特左旗局
    await manager.send_photo(PHOTO, caption="/highlight TZ-C1 营业厅新设爱心座椅和老花镜")
    assert "已记为 察素齐营业支局 的服务亮点" in (await manager.reply()).content
    (highlight,) = await highlights(bot)
    assert highlight.photo_file_id and highlight.text == "营业厅新设爱心座椅和老花镜"
    assert highlight.unit_id == await unit_id(bot, "C001")


async def test_highlight_alone_asks_then_takes_a_photo_with_its_caption(bot: Harness) -> None:
    inspector = await bot.register("I004")  # 周晓燕, 察素齐营业支局
    await inspector.send("/highlight")
    assert (await inspector.reply()).content == texts.ASK_HIGHLIGHT_TEXT
    await inspector.send_sticker()
    assert (await inspector.reply()).content == texts.text_expected(texts.ASK_HIGHLIGHT_TEXT)
    await inspector.send_photo(PHOTO, caption="营业员孙丽娜帮用户找回遗失的身份证")
    assert "已记为 察素齐营业支局 的服务亮点" in (await inspector.reply()).content
    (highlight,) = await highlights(bot)
    assert highlight.photo_file_id and highlight.source is HighlightSource.COMMAND
    # The prompt is answered: the next text is a complaint report again.
    await inspector.send("东2段信件报刊积压三天了，用户多次打电话投诉")
    assert "问题上报" in (await inspector.reply()).content
