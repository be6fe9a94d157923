"""Sample-size rules, as tables: minimum per rule and volume, then answers → shortfall."""

from __future__ import annotations

import pytest

from scheduler.catalog import AnswerValue, SamplePart, SampleRule, load_catalog
from scheduler.catalog import SampleKind as K
from scheduler.sampling import SampleShortfall, ShortfallReason, check_sample, minimum_sample

CATALOG = load_catalog()


@pytest.mark.parametrize(
    ("rule", "volume", "expected"),
    [
        # ≥10% of the day's express lists, rounded up (第十四条 1(1)).
        (SampleRule(K.PERCENT, percent=10), 0, 0),
        (SampleRule(K.PERCENT, percent=10), 1, 1),
        (SampleRule(K.PERCENT, percent=10), 10, 1),
        (SampleRule(K.PERCENT, percent=10), 11, 2),
        (SampleRule(K.PERCENT, percent=10), 95, 10),
        (SampleRule(K.PERCENT, percent=10), 100, 10),
        (SampleRule(K.PERCENT, percent=10), 101, 11),
        (SampleRule(K.PERCENT, percent=100), 37, 37),  # 逐件审核
        (SampleRule(K.PERCENT, percent=15), 7, 2),  # 1.05 → 2
        # ≥20, 100% when fewer than 20 arrived (第十四条 2).
        (SampleRule(K.MIN_COUNT_OR_ALL, min=20), 0, 0),
        (SampleRule(K.MIN_COUNT_OR_ALL, min=20), 7, 7),
        (SampleRule(K.MIN_COUNT_OR_ALL, min=20), 20, 20),
        (SampleRule(K.MIN_COUNT_OR_ALL, min=20), 300, 20),
        # A plain minimum ignores the volume.
        (SampleRule(K.MIN_COUNT, min=20), None, 20),
        (SampleRule(K.MIN_COUNT, min=5), 3, 5),
        # Transfer points: the minimum, or all assigned when fewer.
        (SampleRule(K.TRANSFER_POINTS, min=10), None, 10),
        (SampleRule(K.TRANSFER_POINTS, min=10), 4, 4),
        (SampleRule(K.TRANSFER_POINTS, min=10), 25, 10),
        # ≥6 外埠 + ≥4 本埠.
        (
            SampleRule(
                K.SPLIT,
                parts=(SamplePart("外埠", 6, "out"), SamplePart("本埠", 4, "local")),
            ),
            None,
            10,
        ),
    ],
)
def test_minimum_sample(rule: SampleRule, volume: int | None, expected: int) -> None:
    assert minimum_sample(rule, volume) == expected


@pytest.mark.parametrize(
    "rule", [SampleRule(K.PERCENT, percent=10), SampleRule(K.MIN_COUNT_OR_ALL, min=20)]
)
def test_minimum_sample_needs_volume(rule: SampleRule) -> None:
    with pytest.raises(ValueError, match="volume"):
        minimum_sample(rule)


def test_minimum_sample_rejects_negative_volume() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        minimum_sample(SampleRule(K.PERCENT, percent=10), -1)


OK = None
TOO_FEW = ShortfallReason.TOO_FEW
TOO_MANY = ShortfallReason.MORE_THAN_VOLUME


@pytest.mark.parametrize(
    ("item_id", "answers", "reason", "question", "required", "label"),
    [
        # Not answered yet: nothing to refuse.
        ("delivery_express_signoff", {}, OK, None, None, None),
        ("delivery_express_signoff", {"lists_total": 120}, OK, None, None, None),
        ("delivery_express_signoff", {"lists_checked": 3}, OK, None, None, None),
        # ≥10%: 120 lists need 12.
        (
            "delivery_express_signoff",
            {"lists_total": 120, "lists_checked": 12},
            OK,
            None,
            None,
            None,
        ),
        (
            "delivery_express_signoff",
            {"lists_total": 120, "lists_checked": 11},
            TOO_FEW,
            "lists_checked",
            12,
            None,
        ),
        (
            "delivery_express_signoff",
            {"lists_total": 120, "lists_checked": 121},
            TOO_MANY,
            "lists_checked",
            120,
            None,
        ),
        ("delivery_express_signoff", {"lists_total": 0, "lists_checked": 0}, OK, None, None, None),
        # 逐件: all returns.
        (
            "delivery_return_review",
            {"returns_total": 4, "returns_checked": 4},
            OK,
            None,
            None,
            None,
        ),
        (
            "delivery_return_review",
            {"returns_total": 4, "returns_checked": 3},
            TOO_FEW,
            "returns_checked",
            4,
            None,
        ),
        # ≥20 or all when fewer arrived.
        (
            "delivery_parcel_check",
            {"parcels_arrived": 12, "parcels_checked": 12},
            OK,
            None,
            None,
            None,
        ),
        (
            "delivery_parcel_check",
            {"parcels_arrived": 12, "parcels_checked": 11},
            TOO_FEW,
            "parcels_checked",
            12,
            None,
        ),
        (
            "delivery_parcel_check",
            {"parcels_arrived": 80, "parcels_checked": 20},
            OK,
            None,
            None,
            None,
        ),
        (
            "delivery_parcel_check",
            {"parcels_arrived": 80, "parcels_checked": 19},
            TOO_FEW,
            "parcels_checked",
            20,
            None,
        ),
        # A plain minimum: ≥20 tracked items.
        ("delivery_tracking_sample", {"items_checked": 20}, OK, None, None, None),
        (
            "delivery_tracking_sample",
            {"items_checked": 8},
            TOO_FEW,
            "items_checked",
            20,
            None,
        ),
        # Split: ≥6 外埠 and ≥4 本埠, each on its own.
        (
            "delivery_letters_urban",
            {"out_of_town_checked": 6, "local_checked": 4},
            OK,
            None,
            None,
            None,
        ),
        (
            "delivery_letters_urban",
            {"out_of_town_checked": 5},
            TOO_FEW,
            "out_of_town_checked",
            6,
            "外埠平常商函",
        ),
        (
            "delivery_letters_urban",
            {"out_of_town_checked": 9, "local_checked": 3},
            TOO_FEW,
            "local_checked",
            4,
            "本埠平常商函",
        ),
        # An item without a sample rule never refuses.
        ("counter_video_review", {"acceptance_inspection_ok": "yes"}, OK, None, None, None),
    ],
)
def test_check_sample(
    item_id: str,
    answers: dict[str, AnswerValue],
    reason: ShortfallReason | None,
    question: str | None,
    required: int | None,
    label: str | None,
) -> None:
    item = CATALOG.get(item_id)
    shortfall = check_sample(item, answers)
    if reason is None:
        assert shortfall is None
        return
    assert shortfall is not None
    assert (shortfall.reason, shortfall.question_id, shortfall.required, shortfall.label) == (
        reason,
        question,
        required,
        label,
    )
    assert shortfall.quote == item.quote
    assert shortfall.item_id == item_id


@pytest.mark.parametrize(
    ("assigned", "given", "required"),
    [(25, 10, None), (25, 9, 10), (4, 4, None), (4, 3, 4), (None, 9, 10)],
)
def test_transfer_points_sample(assigned: int | None, given: int, required: int | None) -> None:
    item = CATALOG.get("delivery_transfer_points_urban")
    shortfall = check_sample(item, {"points_checked": given}, assigned_transfer_points=assigned)
    if required is None:
        assert shortfall is None
    else:
        assert shortfall == SampleShortfall(
            item_id=item.id,
            question_id="points_checked",
            reason=ShortfallReason.TOO_FEW,
            required=required,
            given=given,
            volume=None,
            quote=item.quote,
        )


def test_every_shipped_sample_rule_is_checkable() -> None:
    """Answering every count with 0 volume and a huge count never crashes the checker."""
    for item in CATALOG:
        if item.sample is None:
            continue
        answers: dict[str, AnswerValue] = dict.fromkeys(item.sample.question_ids(), 0)
        check_sample(item, answers)
        assert minimum_sample(item.sample, 0) >= 0
