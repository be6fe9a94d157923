"""Our CallbackContext: typed access to the services and to the sender's staff record."""

from __future__ import annotations

from typing import Any, cast

from telegram.ext import CallbackContext, ExtBot

from bot.presses import PressAnswer
from bot.services import Services
from db.models import Staff

SERVICES_KEY = "services"


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    # PTB builds one context per update and passes it to every handler group, so the access
    # gate (group -1) can leave the sender's staff record here for the handlers after it.
    staff: Staff | None = None
    # Set by the access gate for a button press, before any database work.
    press: PressAnswer | None = None

    @property
    def services(self) -> Services:
        return cast(Services, self.application.bot_data[SERVICES_KEY])

    @property
    def registered_staff(self) -> Staff:
        """The sender's staff record; the access gate guarantees it outside /start."""
        assert self.staff is not None, "the access gate lets only registered staff through"
        return self.staff

    async def answer_press(self, text: str | None = None, *, alert: bool = False) -> None:
        """Answers the button press of this update (once; see PressAnswer)."""
        assert self.press is not None, "the access gate starts the answer of every press"
        await self.press.answer(text, alert=alert)
