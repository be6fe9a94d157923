"""Sample-size rules of 第四篇: how many items the inspector must check, and whether the answers
given so far meet the rule, so that the bot can refuse a too-small sample with the rule quoted.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from scheduler.catalog import AnswerValue, CatalogItem, SampleKind, SampleRule

logger = logging.getLogger(__name__)


class ShortfallReason(StrEnum):
    TOO_FEW = "too_few"  # fewer checked than the rule requires
    MORE_THAN_VOLUME = "more_than_volume"  # more checked than arrived: a typo, not a sample


@dataclass(frozen=True)
class SampleShortfall:
    """Why the sample answers are refused: re-ask ``question_id``, quoting ``quote``."""

    item_id: str
    question_id: str  # the "number checked" question to ask again
    reason: ShortfallReason
    required: int  # the minimum (TOO_FEW) or the volume (MORE_THAN_VOLUME)
    given: int
    volume: int | None
    quote: str
    label: str | None = None  # the part of a split sample, e.g. "外埠平常商函"


def minimum_sample(rule: SampleRule, volume: int | None = None) -> int:
    """The smallest acceptable number checked.

    ``volume`` is the day's volume (percent and min_count_or_all need it) or, for a
    transfer_points rule, the number of transfer points assigned (fewer than ``min`` means
    all of them). A split rule returns the sum of its parts' minimums.
    """
    if volume is not None and volume < 0:
        raise ValueError(f"volume must be >= 0, not {volume}")
    match rule.kind:
        case SampleKind.MIN_COUNT:
            return rule.min
        case SampleKind.PERCENT:
            if volume is None:
                raise ValueError("a percent rule needs the day's volume")
            # Integer ceiling: float rounding must never let 9.999…% pass for 10%.
            return -(-rule.percent * volume // 100)
        case SampleKind.MIN_COUNT_OR_ALL:
            if volume is None:
                raise ValueError("a min_count_or_all rule needs the day's volume")
            return min(rule.min, volume)
        case SampleKind.TRANSFER_POINTS:
            return rule.min if volume is None else min(rule.min, volume)
        case SampleKind.SPLIT:
            return sum(part.min for part in rule.parts)
    raise AssertionError(rule.kind)  # pragma: no cover - exhaustive match


def check_sample(
    item: CatalogItem,
    answers: Mapping[str, AnswerValue],
    *,
    assigned_transfer_points: int | None = None,
) -> SampleShortfall | None:
    """Check the sample answers given so far; None when fine or not yet answered.

    A count that has not been answered yet is not a shortfall: the bot calls this after each
    answer and only the answer that completes a rule can break it.
    """
    rule = item.sample
    if rule is None:
        return None
    if rule.kind == SampleKind.SPLIT:
        for part in rule.parts:
            part_volume = _count(answers, part.volume)
            shortfall = _check_count(
                item,
                question_id=part.checked,
                given=_count(answers, part.checked),
                volume=part_volume,
                required=part.min,
                label=part.label,
            )
            if shortfall is not None:
                return shortfall
        return None

    assert rule.checked is not None  # validated at load for every non-split rule
    given = _count(answers, rule.checked)
    if given is None:
        return None
    volume = _count(answers, rule.volume)
    if rule.kind == SampleKind.TRANSFER_POINTS:
        required = minimum_sample(rule, assigned_transfer_points)
    elif rule.kind in (SampleKind.PERCENT, SampleKind.MIN_COUNT_OR_ALL):
        if volume is None:
            return None
        required = minimum_sample(rule, volume)
    else:
        required = minimum_sample(rule)
    return _check_count(
        item, question_id=rule.checked, given=given, volume=volume, required=required
    )


def _count(answers: Mapping[str, AnswerValue], question_id: str | None) -> int | None:
    if question_id is None:
        return None
    value = answers.get(question_id)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _check_count(
    item: CatalogItem,
    *,
    question_id: str,
    given: int | None,
    volume: int | None,
    required: int,
    label: str | None = None,
) -> SampleShortfall | None:
    if given is None:
        return None
    if volume is not None and given > volume:
        return SampleShortfall(
            item_id=item.id,
            question_id=question_id,
            reason=ShortfallReason.MORE_THAN_VOLUME,
            required=volume,
            given=given,
            volume=volume,
            quote=item.quote,
            label=label,
        )
    if given < required:
        logger.debug("sample of %s too small: %d < %d", item.id, given, required)
        return SampleShortfall(
            item_id=item.id,
            question_id=question_id,
            reason=ShortfallReason.TOO_FEW,
            required=required,
            given=given,
            volume=volume,
            quote=item.quote,
            label=label,
        )
    return None
