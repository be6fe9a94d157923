"""The channel a complaint came by (窗口, 11185, 12305, 12345, 报刊社转来, 其他), read from
the text when it names one; a complaint that names none came to the counter (窗口)."""

from __future__ import annotations

import re
from enum import StrEnum

from nlp.numbers import fold_digits


class Channel(StrEnum):
    WINDOW = "window"  # 窗口: the customer came to the counter (or told the clerk)
    HOTLINE = "11185"  # China Post's own hotline
    REGULATOR = "12305"  # the postal regulator's complaint line (邮政管理局)
    CITIZEN = "12345"  # the government's citizen hotline (市长热线)
    PRESS = "press"  # forwarded by a newspaper or magazine office (报刊社转来)
    OTHER = "other"  # online, social media, a letter to the leadership …


# Most binding first: a regulator's work order outranks the others it may mention.
_CUES: tuple[tuple[Channel, re.Pattern[str]], ...] = (
    (Channel.REGULATOR, re.compile(r"(?<!\d)12305(?!\d)|邮政管理局|邮管局|国家邮政局|申诉中心")),
    (Channel.CITIZEN, re.compile(r"(?<!\d)12345(?!\d)|市长热线|政务热线|便民热线|市民热线")),
    (Channel.HOTLINE, re.compile(r"(?<!\d)11185(?!\d)|客服热线|客服电话")),
    (Channel.PRESS, re.compile(r"报刊社|报社|杂志社|编辑部")),
    (Channel.OTHER, re.compile(r"微博|抖音|微信公众号|网上投诉|留言板|媒体|记者|领导信箱|来信")),
)


def find_channel(text: str) -> Channel:
    folded = fold_digits(text)
    for channel, cue in _CUES:
        if cue.search(folded):
            return channel
    return Channel.WINDOW
