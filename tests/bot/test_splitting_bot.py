"""Replies sent straight to Telegram (not through the outbox) fit too: the application's Bot
splits what it is given, against the sandbox, which refuses what Telegram refuses."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.app.splitting_bot import SplittingBot
from bot.sandbox import SandboxServer
from bot.sandbox.formatting import utf16_len
from bot.sandbox.samples import png

USER_ID = 1001


async def test_a_long_reply_with_a_big_keyboard_arrives_whole(
    sandbox: SandboxServer, splitting_bot: SplittingBot
) -> None:
    user = sandbox.user(USER_ID, "张志强")
    lines = [f"#{i} 投递延误 · 察素齐投递部" for i in range(900)]
    text = "<b>超时未答复的投诉</b>\n" + "\n".join(lines)
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton(f"#{i}", callback_data=f"hclm:{i}")] for i in range(230)]
    )
    returned = await splitting_bot.send_message(USER_ID, text, reply_markup=keyboard)
    # All sent before send_message returns: 5 text parts, then 2 more for the keyboard.
    messages = await user.replies(7, timeout=1)
    await user.no_reply(within=0.1)
    assert all(utf16_len(m.content) <= 4096 for m in messages)
    assert all(sum(map(len, m.buttons)) <= 100 for m in messages)
    said = [line for m in messages if "续" not in m.content for line in m.content.split("\n")]
    assert said == ["超时未答复的投诉", *lines]
    assert [b for m in messages for row in m.buttons for _, b in row] == [
        f"hclm:{i}" for i in range(230)
    ]
    carrying = next(m for m in messages if m.buttons)
    assert returned.message_id == carrying.message_id


async def test_a_long_caption_continues_after_the_file(
    sandbox: SandboxServer, splitting_bot: SplittingBot
) -> None:
    user = sandbox.user(USER_ID, "张志强")
    await splitting_bot.send_photo(USER_ID, png(8, 8), caption="<i>" + "图" * 3000 + "</i>")
    photo, rest = await user.replies(2)
    assert utf16_len(photo.content) == 1024
    assert photo.content + rest.content == "图" * 3000
