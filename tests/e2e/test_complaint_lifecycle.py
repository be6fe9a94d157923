"""The paths real complaints take through the lifecycle, end to end on both databases:
return → 补充说明 → resubmit → escalation when ignored; 转办 then resubmission stays with the
new department; a department without a handler tells a manager at once; photos travel with
the cards, the alerts and the notices the reporter gets."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlmodel import col, select

from bot.clock import ManualClock
from bot.sandbox import SandboxUser
from bot.views import texts
from db.models import Complaint, ComplaintDetail, ComplaintEvent, ComplaintStatus, Staff
from scheduler.org import Department
from tests.conftest import SHANGHAI
from tests.e2e.harness import Harness

REPORT = "东2段信件报刊积压三天了，用户多次打电话投诉"
ATTITUDE = "察素齐营业支局营业员态度恶劣，顶撞用户，用户非常不满"
CREATED = datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)  # a Wednesday


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(CREATED)


@pytest.fixture
def bot(quiet_bot: Harness) -> Harness:
    return quiet_bot


async def the_complaint(bot: Harness) -> Complaint:
    async with bot.db.session() as session:
        (complaint,) = (await session.exec(select(Complaint))).all()
        return complaint


async def history(bot: Harness) -> list[str]:
    async with bot.db.session() as session:
        events = await session.exec(select(ComplaintEvent).order_by(col(ComplaintEvent.id)))
        return [e.kind for e in events.all()]


async def submit(clerk: SandboxUser, text: str = REPORT) -> None:
    await clerk.send(text)
    await clerk.replies(1)
    await clerk.press(texts.BUTTON_CONFIRM)
    (submitted,) = await clerk.edits(1)  # the draft turned into the submitted complaint
    assert "已提交" in submitted.content and not submitted.buttons


async def return_it(handler: SandboxUser, reason: str) -> None:
    await handler.press(texts.BUTTON_RETURN)
    assert (await handler.reply()).content == texts.ASK_RETURN_REASON
    await handler.send(reason)
    assert (await handler.reply()).content == texts.RETURN_SAVED


async def test_return_add_details_resubmit_and_escalate_when_ignored(bot: Harness) -> None:
    clerk, handler = await bot.register("C002"), await bot.register("H001")
    county = await bot.register("M003")
    await submit(clerk)
    await handler.replies(1)
    await return_it(handler, "信息不全，请补充用户地址")

    (notice,) = await clerk.replies(1)
    assert "请补充用户地址" in notice.content
    assert notice.button_texts == [
        texts.BUTTON_ADD_DETAILS,
        texts.BUTTON_CHANGE_CATEGORY,
        texts.BUTTON_RESUBMIT,
        texts.BUTTON_WITHDRAW,
    ]
    returned = await the_complaint(bot)
    assert returned.status is ComplaintStatus.RETURNED
    assert returned.next_escalation_at == returned.deadline  # it keeps escalating

    await clerk.press(texts.BUTTON_ADD_DETAILS)
    assert (await clerk.reply()).content == texts.ASK_DETAILS
    await clerk.send("用户地址：察素齐镇团结路12号3单元")
    (added,) = await clerk.replies(1)
    assert "共 1 条补充说明" in added.content
    await clerk.press(texts.BUTTON_RESUBMIT, message=added)
    (resubmitted,) = await clerk.replies(1)
    assert "已重新提交" in resubmitted.content and "马建军" in resubmitted.content

    (card,) = await handler.replies(1)
    assert "团结路12号" in card.content and "补充说明1" in card.content
    assert REPORT in card.content
    complaint = await the_complaint(bot)
    assert (complaint.status, complaint.owner_id) == (ComplaintStatus.OPEN, complaint.handler_id)
    assert complaint.deadline == returned.deadline

    bot.clock.set(at(11, 26, 10))  # the next working day at the same time: the deadline
    await bot.tick()
    (alert,) = await county.replies(1)
    assert "1 级升级" in alert.content and "团结路12号" in alert.content
    async with bot.db.session() as session:
        (detail,) = (await session.exec(select(ComplaintDetail))).all()
    assert detail.text == "用户地址：察素齐镇团结路12号3单元"
    assert await history(bot) == [
        "created",
        "routed",
        "returned",
        "details",
        "resubmitted",
        "level",
        "escalated",
    ]


async def test_a_returned_complaint_nobody_resubmits_still_escalates(bot: Harness) -> None:
    clerk, handler = await bot.register("C002"), await bot.register("H001")
    county = await bot.register("M003")
    await submit(clerk)
    await handler.replies(1)
    await return_it(handler, "请核实是哪个道段")
    await clerk.replies(1)
    bot.clock.set(at(11, 26, 10))
    await bot.tick()
    (alert,) = await county.replies(1)
    assert "1 级升级" in alert.content and "已退回上报人补充" in alert.content

    await county.send("/overdue")
    assert "已退回上报人补充" in (await county.reply()).content


async def test_withdrawing_a_returned_complaint_stops_it_and_tells_the_handler(
    bot: Harness,
) -> None:
    clerk, handler = await bot.register("C002"), await bot.register("H001")
    county = await bot.register("M003")
    await submit(clerk)
    await handler.replies(1)
    await return_it(handler, "用户已撤诉？请确认")
    await clerk.replies(1)
    await clerk.press(texts.BUTTON_WITHDRAW)
    (edited,) = await clerk.edits(1)
    assert edited.content == texts.COMPLAINT_WITHDRAWN
    (told,) = await handler.replies(1)
    assert "撤回" in told.content
    complaint = await the_complaint(bot)
    assert complaint.status is ComplaintStatus.WITHDRAWN and complaint.next_escalation_at is None
    bot.clock.set(at(11, 30, 10))
    await bot.tick()
    await county.no_reply()


async def test_resubmission_after_a_reroute_stays_with_the_new_department(bot: Harness) -> None:
    clerk, delivery = await bot.register("C002"), await bot.register("H001")
    finance = await bot.register("H003")
    await submit(clerk)
    await delivery.replies(1)
    await delivery.press(texts.BUTTON_REROUTE)
    await delivery.reply()
    await delivery.press("金融")
    await delivery.reply()
    await delivery.send("实际是代收款问题")
    await delivery.replies(1)
    await finance.replies(1)
    await return_it(finance, "请补充代收款的金额和日期")
    await clerk.replies(1)
    await clerk.press(texts.BUTTON_RESUBMIT)
    (resubmitted,) = await clerk.replies(1)
    assert "金融" in resubmitted.content and "何静" in resubmitted.content
    (card,) = await finance.replies(1)
    assert "投诉" in card.content
    await delivery.no_reply()
    complaint = await the_complaint(bot)
    assert complaint.department is Department.FINANCE and complaint.status is ComplaintStatus.OPEN


async def test_changing_the_category_of_a_returned_complaint_routes_by_the_new_one(
    bot: Harness,
) -> None:
    clerk, delivery = await bot.register("C002"), await bot.register("H001")
    finance = await bot.register("H003")
    await submit(clerk)
    await delivery.replies(1)
    await return_it(delivery, "这是代收款问题，不归投递部")
    await clerk.replies(1)
    await clerk.press(texts.BUTTON_CHANGE_CATEGORY)
    (choices,) = await clerk.edits(1)
    assert texts.BUTTON_CANCEL not in [label for row in choices.buttons for label, _ in row]
    await clerk.press("邮政金融/代收代付")
    (edited,) = await clerk.edits(1)
    assert "金融" in edited.content
    assert texts.BUTTON_RESUBMIT in [label for row in edited.buttons for label, _ in row]
    await clerk.press(texts.BUTTON_RESUBMIT)
    (resubmitted,) = await clerk.replies(1)
    assert "何静" in resubmitted.content
    await finance.replies(1)
    await delivery.no_reply()


async def test_no_handler_in_the_department_tells_the_nearest_manager_at_once(
    bot: Harness,
) -> None:
    """The sample organisation has no 监督检查部 handler: attitude complaints go there."""
    clerk, county = await bot.register("C001"), await bot.register("M003")
    await clerk.send(ATTITUDE)
    (draft,) = await clerk.replies(1)
    assert "服务态度" in draft.content
    await clerk.press(texts.BUTTON_CONFIRM)
    (submitted,) = await clerk.edits(1)
    assert "暂无处理人，已通知上级" in submitted.content
    (alert,) = await county.replies(1)
    assert "无人处理" in alert.content and "监督检查部" in alert.content
    assert alert.button_texts == [texts.BUTTON_CLAIM, texts.BUTTON_REROUTE, texts.BUTTON_ANSWERED]
    complaint = await the_complaint(bot)
    async with bot.db.session() as session:
        manager = (await session.exec(select(Staff).where(Staff.code == "M003"))).one()
    assert complaint.handler_id is None and complaint.owner_id == manager.id

    await county.press(texts.BUTTON_ANSWERED)
    assert (await county.reply()).content == texts.ASK_ANSWER
    await county.send("已约谈该营业员并向用户致歉。")
    assert (await county.reply()).content == texts.ANSWER_SAVED
    assert "已由 张志强 答复" in (await clerk.reply()).content


async def test_emoji_only_is_neither_a_report_nor_an_answer(bot: Harness) -> None:
    clerk, handler = await bot.register("C002"), await bot.register("H001")
    await clerk.send("😀😀😀😀😀")
    assert (await clerk.reply()).content == texts.NO_WORDS_REPORT
    await submit(clerk)
    await handler.replies(1)
    await handler.press(texts.BUTTON_ANSWER)
    await handler.reply()
    await handler.send("👍👍👍👍👍")
    assert (await handler.reply()).content == texts.NO_WORDS_REPLY
    await handler.send("已查明原因，今日补投并致歉。")
    assert (await handler.reply()).content == texts.ANSWER_SAVED
    complaint = await the_complaint(bot)
    assert complaint.answer == "已查明原因，今日补投并致歉。"


# As people type them: mobiles with dashes or spaces, full-width digits, +86 / 0086,
# landlines with the area code in brackets, with or without a separator, extensions.
WRITTEN_PHONES = [
    ("138-1234-5678", "1234"),
    ("138 1234 5678", "1234"),
    ("１３８１２３４５６７８", "１２３４"),
    ("(0471)1234567", "123"),
    ("（0471）1234567", "123"),
    ("04711234567", "123"),
    ("0471 1234567", "123"),
    ("0471-6961234转8021", "696"),
    ("+86 139 1234 5678", "1234"),
    ("0086-13912345678", "1234"),
]


@pytest.mark.parametrize(("written", "hidden"), WRITTEN_PHONES)
async def test_phone_numbers_are_masked_as_written_for_everyone_but_the_handler(
    bot: Harness, written: str, hidden: str
) -> None:
    clerk, handler = await bot.register("C002"), await bot.register("H001")
    county = await bot.register("M003")
    await clerk.send(f"东2段信件积压三天了，用户电话{written}，请尽快联系")
    (draft,) = await clerk.replies(1)
    await clerk.press(texts.BUTTON_CONFIRM)
    await clerk.edits(1)
    (card,) = await handler.replies(1)
    assert written in card.content  # the handler calls back
    bot.clock.set(at(11, 26, 10))
    await bot.tick()
    (alert,) = await county.replies(1)
    await county.send("/overdue")
    listing = await county.reply()
    for seen in (draft.content, alert.content, listing.content):
        assert written not in seen
        assert written.replace(hidden, "*" * len(hidden), 1) in seen


async def test_the_handler_still_answers_after_a_manager_claimed_it(bot: Harness) -> None:
    clerk, handler = await bot.register("C002"), await bot.register("H001")
    county = await bot.register("M003")
    await submit(clerk)
    (card,) = await handler.replies(1)
    bot.clock.set(at(11, 26, 10))
    await bot.tick()
    await county.replies(1)
    await county.press(texts.BUTTON_CLAIM)
    assert "您已认领" in (await county.reply()).content
    (told,) = await handler.replies(1)
    assert "张志强 认领" in told.content and "仍可" in told.content
    await handler.press(texts.BUTTON_ANSWER, card)
    assert (await handler.reply()).content == texts.ASK_ANSWER
    await handler.send("已查明：投递员病假，今日补投并致歉。")
    saved = await handler.reply()
    assert saved.content == texts.ANSWER_SAVED
    assert saved.button_texts == [texts.BUTTON_JUSTIFIED, texts.BUTTON_UNJUSTIFIED]
    assert "已由 马建军 答复" in (await clerk.reply()).content
    (closing,) = await county.replies(1)
    assert "已由 马建军 答复" in closing.content
    await handler.press(texts.BUTTON_JUSTIFIED)
    (verdict,) = await handler.edits(1)
    assert "有理" in verdict.content
    complaint = await the_complaint(bot)
    assert complaint.status is ComplaintStatus.ANSWERED and complaint.justified is True


async def answer(handler: SandboxUser, text: str = "已查明原因，已补投并向用户致歉。") -> None:
    await handler.press(texts.BUTTON_ANSWER)
    await handler.reply()
    await handler.send(text)
    assert (await handler.reply()).content == texts.ANSWER_SAVED


async def test_satisfied_closes_it(bot: Harness) -> None:
    clerk, handler = await bot.register("C002"), await bot.register("H001")
    await submit(clerk)
    await handler.replies(1)
    await answer(handler)
    (notice,) = await clerk.replies(1)
    assert notice.button_texts == [texts.BUTTON_SATISFIED, texts.BUTTON_DISSATISFIED]
    await clerk.press(texts.BUTTON_SATISFIED)
    assert (await clerk.reply()).content == texts.THANKS_SATISFIED
    complaint = await the_complaint(bot)
    assert (complaint.status, complaint.satisfaction) == (ComplaintStatus.CLOSED, "satisfied")


async def test_dissatisfied_reopens_to_the_handler_and_escalates_when_ignored(
    bot: Harness,
) -> None:
    clerk, handler = await bot.register("C002"), await bot.register("H001")
    county = await bot.register("M003")
    await submit(clerk)
    await handler.replies(1)
    await answer(handler)
    await clerk.replies(1)
    bot.clock.set(at(11, 26, 9))
    await clerk.press(texts.BUTTON_DISSATISFIED)
    assert (await clerk.reply()).content == texts.ASK_DISSATISFIED_REASON
    await clerk.send("👎👎")
    assert (await clerk.reply()).content == texts.NO_WORDS_REPLY
    await clerk.send("信件还是没有送到，用户又打电话了")
    (reopened,) = await clerk.replies(1)
    assert "重新处理" in reopened.content and "11月27日 09:00" in reopened.content
    (card,) = await handler.replies(1)
    assert "用户不满意" in card.content and "还是没有送到" in card.content
    assert card.button_texts == ["答复", "转办", "退回"]
    complaint = await the_complaint(bot)
    assert complaint.status is ComplaintStatus.REOPENED and complaint.reopened == 1
    assert complaint.urgent

    bot.clock.set(at(11, 27, 9))
    await bot.tick()
    (alert,) = await county.replies(1)
    assert "1 级升级" in alert.content and "不满意" in alert.content
    await county.send("/stats")
    stats = (await county.reply()).content
    assert "重复投诉 1 件" in stats and "不满意 1" in stats


async def test_a_complaint_about_the_same_tracking_number_is_a_linked_repeat(
    bot: Harness,
) -> None:
    clerk = await bot.register("C002")
    await submit(clerk, "东2段信件报刊积压三天了，用户多次打电话投诉，邮件号1123456789012")
    await clerk.send("东2段的邮件1123456789012积压好几天了还没投递，用户又来问")
    (draft,) = await clerk.replies(1)
    assert "重复投诉（前次 #1）" in draft.content and "紧急" in draft.content
    await clerk.send("用户电话13912345678反映东2段报纸没送到，请尽快处理")
    (other,) = await clerk.replies(1)
    assert "重复投诉" not in other.content


async def test_the_channel_is_read_from_the_text(bot: Harness) -> None:
    clerk, handler = await bot.register("C002"), await bot.register("H001")
    await submit(clerk, "用户打12345投诉东2段信件积压三天")
    (card,) = await handler.replies(1)
    assert "渠道：12345" in card.content
    assert (await the_complaint(bot)).channel == "12345"


async def test_a_photo_reaches_the_handler_and_the_escalation(bot: Harness) -> None:
    clerk, handler = await bot.register("C001"), await bot.register("H001")
    county = await bot.register("M003")
    await clerk.send_photo(b"\x89PNG one", caption="金桥小区包裹破损，内件损坏，用户要求赔偿")
    await clerk.replies(1)
    await clerk.press(texts.BUTTON_CONFIRM)
    await clerk.edits(1)
    photo, card = await handler.replies(2)
    assert photo.kind == "photo" and photo.file_bytes == b"\x89PNG one"
    assert "照片：1 张" in card.content
    bot.clock.set(at(11, 26, 10))
    await bot.tick()
    photo, alert = await county.replies(2)
    assert photo.kind == "photo" and "1 级升级" in alert.content
    await return_it(handler, "请补充用户的联系方式")
    photo, notice = await clerk.replies(2)
    assert photo.file_bytes == b"\x89PNG one" and "退回" in notice.content


@pytest.mark.parametrize("caption_on", [0, 2])
async def test_an_album_reaches_the_handler_whichever_photo_has_the_caption(
    bot: Harness, caption_on: int
) -> None:
    clerk, handler = await bot.register("C001"), await bot.register("H001")
    photos = [b"\x89PNG a", b"\x89PNG b", b"\x89PNG c"]
    await clerk.send_album(
        photos, "金桥小区包裹破损，内件损坏，用户要求赔偿", caption_on=caption_on
    )
    replies = await clerk.replies(2 if caption_on else 1)
    assert "破损" in replies[-1].content
    if caption_on:
        assert replies[0].content == texts.ALBUM_WAITING
    await clerk.no_reply()
    await clerk.press(texts.BUTTON_CONFIRM)
    await clerk.edits(1)
    *album, card = await handler.replies(4)
    assert [m.file_bytes for m in album] == photos
    assert "照片：3 张" in card.content


async def test_a_photo_added_to_a_returned_complaint_goes_with_the_resubmission(
    bot: Harness,
) -> None:
    clerk, handler = await bot.register("C002"), await bot.register("H001")
    await submit(clerk)
    await handler.replies(1)
    await return_it(handler, "请补充现场照片")
    await clerk.replies(1)
    await clerk.press(texts.BUTTON_ADD_DETAILS)
    await clerk.reply()
    await clerk.send_photo(b"\x89PNG scene")
    (added,) = await clerk.replies(1)
    assert added.content == texts.PHOTO_ADDED
    await clerk.press(texts.BUTTON_RESUBMIT, message=added)
    await clerk.replies(1)
    photo, card = await handler.replies(2)
    assert photo.file_bytes == b"\x89PNG scene" and "照片：1 张" in card.content


async def test_the_answer_reaches_the_reporter_with_the_photo(bot: Harness) -> None:
    clerk, handler = await bot.register("C001"), await bot.register("H001")
    await clerk.send_photo(b"\x89PNG one", caption="金桥小区包裹破损，内件损坏，用户要求赔偿")
    await clerk.replies(1)
    await clerk.press(texts.BUTTON_CONFIRM)
    await clerk.edits(1)
    await handler.replies(2)
    await answer(handler)
    photo, notice = await clerk.replies(2)
    assert photo.kind == "photo" and photo.file_bytes == b"\x89PNG one"
    assert "已由 马建军 答复" in notice.content
    assert notice.button_texts == [texts.BUTTON_SATISFIED, texts.BUTTON_DISSATISFIED]
    await clerk.no_reply()
