"""Inline buttons: the Chinese label from texts, the callback data from one codec.

Callback data is `<action>:<id>[:<value>]`, short enough for Telegram's 64 bytes. It is
never trusted: every handler re-checks that the presser may do this to this record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from bot.views import texts
from nlp.categories import Category
from scheduler.catalog import Question, QuestionType
from scheduler.org import Department

if TYPE_CHECKING:
    from bot.views.cards import TodayLine

Button = tuple[str, str]
Keyboard = list[list[Button]]
# Record ids are PostgreSQL integers; a larger forged one must not reach a query.
MAX_RECORD_ID = 2**31 - 1


class Action(StrEnum):
    # reporter, on a draft complaint
    CONFIRM = "cok"
    CHANGE_CATEGORY = "ccat"
    SET_CATEGORY = "cset"
    CANCEL = "cno"
    RECORD_HIGHLIGHT = "chl"  # a praising text becomes a 亮点 of the unit
    KEEP_AS_COMPLAINT = "ckeep"  # … or stays a complaint after all
    # reporter, on a returned complaint
    ADD_DETAILS = "cadd"
    RESUBMIT = "cre"
    WITHDRAW = "cwd"
    # reporter, on an answered complaint
    SATISFIED = "csat"
    DISSATISFIED = "cdis"
    # handler or alerted manager, on an open complaint
    ANSWER = "hans"
    REROUTE = "hfwd"
    REROUTE_TO = "hdep"
    RETURN = "hret"
    CLAIM = "hclm"
    VERDICT = "hver"  # 有理 / 无理, by whoever answered
    # inspector, on a check
    OPEN_CHECK = "kopen"
    ANSWER_CHECK = "kans"
    CONFIRM_CHECK = "kok"
    REDO_CHECK = "kredo"


@dataclass(frozen=True)
class CallbackData:
    action: Action
    record_id: int
    value: str = ""


def encode(action: Action, record_id: int, value: str = "") -> str:
    return f"{action}:{record_id}:{value}" if value else f"{action}:{record_id}"


def decode(data: str | None) -> CallbackData | None:
    """The parsed payload, or None for anything malformed (old, forged or foreign data)."""
    if not data:
        return None
    action, _, rest = data.partition(":")
    record, _, value = rest.partition(":")
    if action not in Action._value2member_map_ or not _is_number(record, MAX_RECORD_ID):
        return None
    return CallbackData(Action(action), int(record), value)


def _is_number(text: str, maximum: int) -> bool:
    """ASCII digits only ("²" and "١" are digits to str.isdigit, not to int) and in range."""
    return (
        text.isascii()
        and text.isdigit()
        and len(text) <= len(str(maximum))
        and int(text) <= maximum
    )


def question_index(value: str) -> int | None:
    """The question index of a check button's value (see answer_value), if well formed."""
    index, _, _ = value.partition("-")
    return int(index) if _is_number(index, 999) else None


def _rows(buttons: list[Button], per_row: int) -> Keyboard:
    return [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]


def draft_buttons(complaint_id: int) -> Keyboard:
    return [
        [
            (texts.BUTTON_CONFIRM, encode(Action.CONFIRM, complaint_id)),
            (texts.BUTTON_CHANGE_CATEGORY, encode(Action.CHANGE_CATEGORY, complaint_id)),
        ],
        [(texts.BUTTON_CANCEL, encode(Action.CANCEL, complaint_id))],
    ]


def returned_buttons(complaint_id: int) -> Keyboard:
    """On a returned complaint: add details, change the category, resubmit or withdraw."""
    return [
        [
            (texts.BUTTON_ADD_DETAILS, encode(Action.ADD_DETAILS, complaint_id)),
            (texts.BUTTON_CHANGE_CATEGORY, encode(Action.CHANGE_CATEGORY, complaint_id)),
        ],
        [
            (texts.BUTTON_RESUBMIT, encode(Action.RESUBMIT, complaint_id)),
            (texts.BUTTON_WITHDRAW, encode(Action.WITHDRAW, complaint_id)),
        ],
    ]


def satisfaction_buttons(complaint_id: int) -> Keyboard:
    return [
        [
            (texts.BUTTON_SATISFIED, encode(Action.SATISFIED, complaint_id)),
            (texts.BUTTON_DISSATISFIED, encode(Action.DISSATISFIED, complaint_id)),
        ]
    ]


def verdict_buttons(complaint_id: int) -> Keyboard:
    return [
        [
            (texts.BUTTON_JUSTIFIED, encode(Action.VERDICT, complaint_id, "y")),
            (texts.BUTTON_UNJUSTIFIED, encode(Action.VERDICT, complaint_id, "n")),
        ]
    ]


def category_buttons(complaint_id: int, *, returned: bool = False) -> Keyboard:
    """The categories; a draft's last row cancels it (a returned complaint has 撤回 on its
    notice, not here: "cancel" must not withdraw it)."""
    buttons = [(c.label, encode(Action.SET_CATEGORY, complaint_id, c.value)) for c in Category]
    if returned:
        return _rows(buttons, 2)
    return [*_rows(buttons, 2), [(texts.BUTTON_CANCEL, encode(Action.CANCEL, complaint_id))]]


def choice_buttons(complaint_id: int, choices: Sequence[Category]) -> Keyboard:
    """When the reader is unsure: the likeliest categories first, one a row, then the way to
    all twelve."""
    return [
        *([(c.label, encode(Action.SET_CATEGORY, complaint_id, c.value))] for c in choices),
        [
            (texts.BUTTON_MORE_CATEGORIES, encode(Action.CHANGE_CATEGORY, complaint_id)),
            (texts.BUTTON_CANCEL, encode(Action.CANCEL, complaint_id)),
        ],
    ]


def praise_buttons(complaint_id: int) -> Keyboard:
    return [
        [(texts.BUTTON_RECORD_HIGHLIGHT, encode(Action.RECORD_HIGHLIGHT, complaint_id))],
        [
            (texts.BUTTON_KEEP_AS_COMPLAINT, encode(Action.KEEP_AS_COMPLAINT, complaint_id)),
            (texts.BUTTON_CANCEL, encode(Action.CANCEL, complaint_id)),
        ],
    ]


def handler_buttons(complaint_id: int) -> Keyboard:
    return [
        [
            (texts.BUTTON_ANSWER, encode(Action.ANSWER, complaint_id)),
            (texts.BUTTON_REROUTE, encode(Action.REROUTE, complaint_id)),
            (texts.BUTTON_RETURN, encode(Action.RETURN, complaint_id)),
        ]
    ]


def escalation_buttons(complaint_id: int) -> Keyboard:
    return [
        [
            (texts.BUTTON_CLAIM, encode(Action.CLAIM, complaint_id)),
            (texts.BUTTON_REROUTE, encode(Action.REROUTE, complaint_id)),
            (texts.BUTTON_ANSWERED, encode(Action.ANSWER, complaint_id)),
        ]
    ]


def department_buttons(complaint_id: int) -> Keyboard:
    buttons = [
        (texts.DEPARTMENT_LABELS[d], encode(Action.REROUTE_TO, complaint_id, d.value))
        for d in Department
    ]
    return _rows(buttons, 3)


def check_list_buttons(lines: Sequence[TodayLine]) -> Keyboard:
    """One button per check of the day, to open (or resume) it."""
    keyboard: Keyboard = []
    for number, line in enumerate(lines, start=1):
        assert line.assignment.id is not None
        label = texts.check_button(number, line.site, line.title, line.assignment.status)
        keyboard.append([(label, encode(Action.OPEN_CHECK, line.assignment.id))])
    return keyboard


def answer_value(question_index: int, value: str) -> str:
    """The answer part of a check button: which question it answers and with what."""
    return f"{question_index}-{value}"


def question_buttons(assignment_id: int, question: Question, index: int) -> Keyboard:
    """Buttons for yes/no and choice questions; other types are answered by a message."""
    if question.type is QuestionType.YES_NO:
        answers = [(texts.YES, "yes"), (texts.NO, "no")]
    elif question.type is QuestionType.CHOICE:
        answers = [(option, str(n)) for n, option in enumerate(question.options, start=1)]
    else:
        return []
    buttons = [
        (label, encode(Action.ANSWER_CHECK, assignment_id, answer_value(index, value)))
        for label, value in answers
    ]
    return _rows(buttons, 2)


def summary_buttons(assignment_id: int) -> Keyboard:
    return [
        [
            (texts.BUTTON_SUBMIT_CHECK, encode(Action.CONFIRM_CHECK, assignment_id)),
            (texts.BUTTON_REDO_CHECK, encode(Action.REDO_CHECK, assignment_id)),
        ]
    ]
