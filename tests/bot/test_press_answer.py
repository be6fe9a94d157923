"""Every button press is answered once and in time, whatever the handler waits for."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, cast

from telegram import Bot, CallbackQuery, Chat, Message
from telegram.error import BadRequest

from bot.presses import PressAnswer


class FakeBot:
    """What Message.reply_text calls."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send_message(self, chat_id: int, text: str, **kwargs: Any) -> None:
        self.sent.append(text)


class FakeQuery:
    def __init__(self, refuse: str | None = None) -> None:
        self.id = "q1"
        self.bot = FakeBot()
        self.message = Message(1, datetime.now(UTC), Chat(7, Chat.PRIVATE))
        self.message.set_bot(cast(Bot, self.bot))
        self.answers: list[tuple[str | None, bool]] = []
        self._refuse = refuse

    async def answer(self, text: str | None = None, show_alert: bool = False) -> bool:
        if self._refuse:
            raise BadRequest(self._refuse)
        self.answers.append((text, show_alert))
        return True


def press(query: FakeQuery, within: float = 0.05) -> PressAnswer:
    return PressAnswer(cast(CallbackQuery, query), within=within)


async def test_a_quick_handler_answers_with_its_text() -> None:
    query = FakeQuery()
    answer = press(query)
    await answer.answer("已处理", alert=True)
    await asyncio.sleep(0.1)
    assert query.answers == [("已处理", True)]
    await answer.answer("再一次")
    assert query.answers == [("已处理", True)]


async def test_a_slow_handler_finds_the_press_answered_and_its_alert_goes_to_the_chat() -> None:
    query = FakeQuery()
    answer = press(query)
    await asyncio.sleep(0.1)
    assert query.answers == [(None, False)]
    await answer.answer("这不是您的检查", alert=True)
    await answer.answer("按钮已过期")  # a passing note is just dropped
    assert query.answers == [(None, False)]
    assert query.bot.sent == ["这不是您的检查"]


async def test_an_answer_refused_as_too_old_is_no_error() -> None:
    query = FakeQuery(refuse="Query is too old and response timeout expired or query id is invalid")
    await press(query).answer("已处理")
    other = FakeQuery(refuse="Message text is empty")
    try:
        await press(other).answer("x")
    except BadRequest:
        pass
    else:
        raise AssertionError("other refusals are errors")
