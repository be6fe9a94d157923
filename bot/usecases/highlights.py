"""亮点: inspectors, site heads and managers record good service for a unit (/highlight,
text or a photo with its caption); a praising report becomes one too (see complaints)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services import Services
from bot.usecases.checks import FLOW_CHECK
from db.chat_state import clear_chat_state, get_chat_state, set_chat_state
from db.highlights import add_highlight
from db.models import HighlightSource, Staff, Unit
from db.reports import get_unit_by_code
from db.staff import get_unit, load_org_units
from scheduler.complaints import units_within

FLOW_HIGHLIGHT_TEXT = "highlight_text"

# Characters, as for complaints: shorter cannot say who did what; longer is refused, never cut.
MIN_TEXT = 4
MAX_TEXT = 1000

# A first word that looks like a unit code (TZ-D1, hh_c2: letters with digits, - or _)
# names a unit, found or not; a word like "EMS" is just the start of the text.
_CODE_LIKE = re.compile(r"(?=.*[A-Za-z])(?=.*[0-9_-])[A-Za-z0-9_-]+")


class Problem(Enum):
    UNKNOWN_UNIT = "unknown_unit"
    AMBIGUOUS_UNIT = "ambiguous_unit"
    OUT_OF_SCOPE = "out_of_scope"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"


@dataclass(frozen=True)
class Refusal:
    problem: Problem
    reference: str = ""  # the unit as written
    candidates: tuple[str, ...] = ()  # unit codes, when a name is ambiguous
    length: int = 0  # of the text, when too long


@dataclass(frozen=True)
class RecordedHighlight:
    highlight_id: int
    unit_name: str


@dataclass(frozen=True)
class _Target:
    unit: Unit
    text: str


async def store_highlight(
    session: AsyncSession,
    *,
    unit: Unit,
    author: Staff,
    text: str,
    source: HighlightSource,
    now: datetime,
    photo_file_id: str | None,
) -> RecordedHighlight:
    """Stores one highlight within the caller's unit of work."""
    assert unit.id is not None and author.id is not None
    highlight = await add_highlight(
        session=session,
        unit_id=unit.id,
        author_id=author.id,
        text=text,
        source=source,
        now=now,
        photo_file_id=photo_file_id,
    )
    assert highlight.id is not None
    return RecordedHighlight(highlight_id=highlight.id, unit_name=unit.name)


async def record_highlight(
    services: Services, author: Staff, words: str, photo_file_id: str | None = None
) -> RecordedHighlight | Refusal:
    """/highlight [unit] text: one highlight for the named unit (in the author's scope) or
    the author's own; also ends a pending /highlight prompt."""
    assert author.id is not None
    async with services.db.session() as session:
        target = await _target(session, author, words.strip())
        if isinstance(target, Refusal):
            return target
        if len(target.text) < MIN_TEXT:
            return Refusal(Problem.TOO_SHORT)
        if len(target.text) > MAX_TEXT:
            return Refusal(Problem.TOO_LONG, length=len(target.text))
        state = await get_chat_state(session=session, staff_id=author.id)
        if state is not None and state.flow == FLOW_HIGHLIGHT_TEXT:
            await clear_chat_state(session=session, staff_id=author.id)
        return await store_highlight(
            session,
            unit=target.unit,
            author=author,
            text=target.text,
            source=HighlightSource.COMMAND,
            now=services.clock.now(),
            photo_file_id=photo_file_id,
        )


async def begin_highlight(services: Services, author: Staff) -> bool:
    """/highlight alone: the author's next message is the highlight. Says whether a check
    was open (it is paused: its answers stay, /today resumes it)."""
    assert author.id is not None
    async with services.db.session() as session:
        state = await get_chat_state(session=session, staff_id=author.id)
        await set_chat_state(
            session=session, staff_id=author.id, flow=FLOW_HIGHLIGHT_TEXT, now=services.clock.now()
        )
    return state is not None and state.flow == FLOW_CHECK


async def _target(session: AsyncSession, author: Staff, words: str) -> _Target | Refusal:
    """The unit the first word names (a code, or a unit name within the author's scope),
    with the rest as the text; without one, the author's own unit and all the words."""
    first, *others = words.split(maxsplit=1)
    rest = others[0] if others else ""
    if rest:
        units = await load_org_units(session=session)
        scope = units_within(author.unit_id, units)
        by_code = await get_unit_by_code(session=session, code=first)
        if by_code is None and first != first.upper():
            by_code = await get_unit_by_code(session=session, code=first.upper())
        if by_code is not None and by_code.id is not None:
            if by_code.id not in scope:
                return Refusal(Problem.OUT_OF_SCOPE, first)
            return _Target(by_code, rest)
        named = sorted(uid for uid in scope if units[uid].name == first)
        if len(named) > 1:
            codes = [(await get_unit(session=session, unit_id=uid)).code for uid in named]
            return Refusal(Problem.AMBIGUOUS_UNIT, first, tuple(codes))
        if named:
            return _Target(await get_unit(session=session, unit_id=named[0]), rest)
        if any(unit.name == first for unit in units.values()):
            return Refusal(Problem.OUT_OF_SCOPE, first)
        if _CODE_LIKE.fullmatch(first):
            return Refusal(Problem.UNKNOWN_UNIT, first)
    return _Target(await get_unit(session=session, unit_id=author.unit_id), words)
