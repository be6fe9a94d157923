"""The shipped catalog matches 第四篇, and every kind of bad entry is refused by name."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scheduler.catalog import (
    CatalogError,
    Doers,
    FrequencyKind,
    QuestionType,
    SampleKind,
    Span,
    load_catalog,
    parse_catalog,
)
from scheduler.org import Area, Level, SiteKind

CATALOG = load_catalog()


def test_shipped_catalog_covers_every_clause() -> None:
    clauses = {item.clause.split()[0] for item in CATALOG}
    assert clauses == {
        "第九条",
        "第十条",
        "第十一条",
        "第十四条",
        "第十五条",
        "第十六条",
        "第十七条",
        "第十八条",
    }
    assert len({item.id for item in CATALOG}) == len(CATALOG)
    for item in CATALOG:
        assert item.quote and item.title and item.questions
        assert any(question.finding is not None for question in item.questions), item.id


@pytest.mark.parametrize(
    ("item_id", "level", "site_kind", "area", "kind", "times"),
    [
        ("counter_video_review", Level.SITE, SiteKind.COUNTER, None, FrequencyKind.DAILY, 1),
        ("counter_tickets_meter", Level.SITE, SiteKind.COUNTER, None, FrequencyKind.MONTHLY, 1),
        ("counter_arrears_box", Level.SITE, SiteKind.COUNTER, None, FrequencyKind.WEEKLY, 1),
        ("delivery_express_signoff", Level.SITE, SiteKind.DELIVERY, None, FrequencyKind.DAILY, 1),
        (
            "delivery_parcel_check",
            Level.SITE,
            SiteKind.DELIVERY,
            Area.URBAN,
            FrequencyKind.WEEKLY,
            2,
        ),
        (
            "delivery_letters_urban",
            Level.SITE,
            SiteKind.DELIVERY,
            Area.URBAN,
            FrequencyKind.WEEKLY,
            2,
        ),
        (
            "delivery_letters_rural",
            Level.SITE,
            SiteKind.DELIVERY,
            Area.RURAL,
            FrequencyKind.MONTHLY,
            1,
        ),
        (
            "delivery_transfer_points_urban",
            Level.SITE,
            SiteKind.DELIVERY,
            Area.URBAN,
            FrequencyKind.WEEKLY,
            2,
        ),
        (
            "delivery_transfer_points_rural",
            Level.SITE,
            SiteKind.DELIVERY,
            Area.RURAL,
            FrequencyKind.WEEKLY,
            1,
        ),
        ("city_parcel_quarterly", Level.CITY, SiteKind.DELIVERY, None, FrequencyKind.QUARTERLY, 1),
        (
            "county_letters_record_audit",
            Level.COUNTY,
            SiteKind.DELIVERY,
            None,
            FrequencyKind.WEEKLY,
            1,
        ),
        ("region_counter_notice", Level.REGION, SiteKind.COUNTER, None, FrequencyKind.QUARTERLY, 1),
    ],
)
def test_shipped_frequencies(
    item_id: str,
    level: Level,
    site_kind: SiteKind,
    area: Area | None,
    kind: FrequencyKind,
    times: int,
) -> None:
    item = CATALOG.get(item_id)
    assert (item.level, item.site_kind, item.area) == (level, site_kind, area)
    assert (item.frequency.kind, item.frequency.times) == (kind, times)


def test_shipped_every_three_days_and_report_deadline() -> None:
    assert CATALOG.get("delivery_shortage_damage").frequency.days == 3
    assert CATALOG.get("city_counter_monthly_report").frequency.by_day == 9
    assert CATALOG.get("city_delivery_monthly_report").frequency.by_day == 9


def test_shipped_sample_rules() -> None:
    signoff = CATALOG.get("delivery_express_signoff").sample
    assert signoff is not None and (signoff.kind, signoff.percent) == (SampleKind.PERCENT, 10)
    returns = CATALOG.get("delivery_return_review").sample
    assert returns is not None and returns.percent == 100
    tracking = CATALOG.get("delivery_tracking_sample").sample
    assert tracking is not None and (tracking.kind, tracking.min) == (SampleKind.MIN_COUNT, 20)
    parcels = CATALOG.get("delivery_parcel_check").sample
    assert parcels is not None and (parcels.kind, parcels.min) == (SampleKind.MIN_COUNT_OR_ALL, 20)
    letters = CATALOG.get("delivery_letters_urban").sample
    assert letters is not None and [(p.label, p.min) for p in letters.parts] == [
        ("外埠平常商函", 6),
        ("本埠平常商函", 4),
    ]
    rural = CATALOG.get("delivery_letters_rural").sample
    assert rural is not None and rural.min == 5
    city_parcels = CATALOG.get("city_parcel_quarterly").sample
    assert city_parcels is not None and city_parcels.min == 20


def test_shipped_coverage_quotas() -> None:
    for item_id in (
        "county_counter_spot_check",
        "city_counter_spot_check",
        "county_delivery_spot_check",
        "city_delivery_spot_check",
    ):
        coverage = CATALOG.get(item_id).coverage
        assert coverage is not None
        assert (coverage.urban_percent, coverage.rural_percent) == (30, 15)
    city_parcels = CATALOG.get("city_parcel_quarterly").coverage
    assert city_parcels is not None
    assert (city_parcels.min_sites, city_parcels.counties_percent) == (5, 50)
    city_letters = CATALOG.get("city_letters_field_check").coverage
    assert city_letters is not None
    assert (city_letters.min_sites, city_letters.min_sites_area) == (2, Area.URBAN)
    assert city_letters.all_sites_every == Span.HALF_YEAR
    county_letters = CATALOG.get("county_letters_field_check").coverage
    assert county_letters is not None
    assert (county_letters.min_sites, county_letters.all_sites_every) == (2, Span.YEAR)
    county_points = CATALOG.get("county_transfer_points_check")
    assert county_points.coverage is not None and county_points.sample is not None
    assert county_points.coverage.all_sites_every == Span.MONTH
    assert county_points.sample.min == 5
    urban_points = CATALOG.get("delivery_transfer_points_urban")
    assert urban_points.sample is not None and urban_points.sample.min == 10
    assert urban_points.coverage is not None
    assert urban_points.coverage.transfer_points_per_month == 20
    rural_points = CATALOG.get("delivery_transfer_points_rural")
    assert rural_points.sample is not None and rural_points.sample.min == 5
    assert rural_points.coverage is not None and rural_points.coverage.all_transfer_points_monthly


def test_shipped_region_items_per_city() -> None:
    """第十一条 1–3 and 第十六条 2, 4 name every city; 11.4 and 16.1, 16.3 are the region's own."""
    per_city = {item.id for item in CATALOG if item.per_city}
    assert per_city == {
        "region_counter_special_inspection",
        "region_counter_report_review",
        "region_counter_video_review",
        "region_delivery_special_inspection",
        "region_delivery_report_review",
    }
    video = CATALOG.get("region_counter_video_review")
    assert video.area == Area.URBAN and video.coverage is not None
    assert video.coverage.min_sites == 2
    review = CATALOG.get("region_counter_report_review").sample
    assert review is not None and review.min == 5


def test_questions_and_findings() -> None:
    item = CATALOG.get("counter_illegal_acceptance")
    problem_type = item.question("problem_type")
    assert problem_type.type == QuestionType.CHOICE
    assert not item.is_asked(problem_type, {"problem_found": "no"})
    assert item.is_asked(problem_type, {"problem_found": "yes"})
    assert item.findings({"problem_found": "yes"}) == ("problem_found",)
    assert item.findings({"problem_found": "no"}) == ()
    signoff = CATALOG.get("delivery_express_signoff")
    assert signoff.findings({"lists_total": 50, "lists_checked": 5, "signoff_problems": 2}) == (
        "signoff_problems",
    )
    assert signoff.findings({"signoff_problems": 0}) == ()


def test_load_catalog_reports_file_problems(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot read"):
        load_catalog(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text('version = 1\n[[item]\nid = "x"\n', encoding="utf-8")
    with pytest.raises(CatalogError, match="not valid TOML"):
        load_catalog(bad)


# ───────────────────────── validation of bad entries ─────────────────────────


def _valid_item() -> dict[str, Any]:
    return {
        "id": "probe",
        "title": "检查",
        "clause": "第十四条 1(1)",
        "quote": "每日检查。",
        "level": "site",
        "site_kind": "delivery",
        "area": "any",
        "frequency": {"kind": "weekly", "times": 2},
        "sample": {"kind": "percent", "percent": 10, "volume": "total", "checked": "checked"},
        "questions": [
            {"id": "total", "text": "总数？", "type": "integer", "min": 0, "max": 100},
            {"id": "checked", "text": "检查数？", "type": "integer", "min": 0, "max": 100},
            {"id": "ok", "text": "是否合格？", "type": "yes_no", "finding": {"equals": ["no"]}},
            {
                "id": "detail",
                "text": "说明",
                "type": "text",
                "when": {"question": "ok", "equals": "no"},
            },
            {"id": "kind", "text": "类型", "type": "choice", "options": ["甲", "乙"]},
        ],
    }


def _document(item: dict[str, Any]) -> dict[str, Any]:
    return {"version": 1, "item": [item]}


def test_valid_probe_parses() -> None:
    catalog = parse_catalog(_document(_valid_item()))
    assert catalog.get("probe").sample is not None


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(item: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = item
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if last.isdigit():
            target[int(last)] = value
        else:
            target[last] = value

    return mutate


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(item: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = item
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        del target[last]

    return mutate


BAD_ENTRIES: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("times zero", _set("frequency.times", 0), "field 'frequency.times': must be >= 1"),
    ("times not int", _set("frequency.times", "2"), "field 'frequency.times': must be an integer"),
    ("times bool", _set("frequency.times", True), "field 'frequency.times': must be an integer"),
    ("unknown item key", _set("colour", "red"), "field 'colour': unknown key"),
    ("unknown frequency key", _set("frequency.every", 2), "field 'frequency.every': unknown key"),
    ("missing title", _delete("title"), "field 'title': missing"),
    ("title not string", _set("title", 5), "field 'title': must be a string"),
    ("empty quote", _set("quote", "  "), "field 'quote': must not be empty"),
    ("bad level", _set("level", "province"), "field 'level': must be one of"),
    ("bad site kind", _set("site_kind", "kiosk"), "field 'site_kind': must be one of"),
    ("bad area", _set("area", "suburb"), "field 'area': must be one of urban, rural, any"),
    ("bad frequency kind", _set("frequency.kind", "hourly"), "field 'frequency.kind'"),
    (
        "every_n without days",
        _set("frequency", {"kind": "every_n_days"}),
        "'frequency.days': missing",
    ),
    ("days on weekly", _set("frequency.days", 3), "field 'frequency.days': only allowed"),
    ("by_day on weekly", _set("frequency.by_day", 9), "field 'frequency.by_day': only allowed"),
    ("fix_days bool", _set("fix_days", True), "field 'fix_days': must be an integer"),
    ("fix_days zero", _set("fix_days", 0), "field 'fix_days': must be >= 1"),
    ("no questions", _set("questions", []), "field 'questions': at least one question"),
    ("bad question type", _set("questions.2.type", "date"), "field 'questions[2].type'"),
    ("duplicate question", _set("questions.1.id", "total"), "questions[1].id': duplicate"),
    ("integer without max", _delete("questions.0.max"), "field 'questions[0].max': missing"),
    ("min above max", _set("questions.0.min", 500), "field 'questions[0].max': must be >= min"),
    ("choice without options", _delete("questions.4.options"), "questions[4].options'"),
    ("options on yes_no", _set("questions.2.options", ["是"]), "questions[2].options': only"),
    (
        "when unknown question",
        _set("questions.3.when", {"question": "nope", "equals": "no"}),
        "field 'questions[3].when.question': 'nope' is not an earlier question",
    ),
    (
        "when later question",
        _set("questions.2.when", {"question": "detail", "equals": "x"}),
        "field 'questions[2].when.question': 'detail' is not an earlier question",
    ),
    (
        "when bad value",
        _set("questions.3.when", {"question": "ok", "equals": "maybe"}),
        "field 'questions[3].when.equals': must be 'yes' or 'no'",
    ),
    (
        "finding at_least on yes_no",
        _set("questions.2.finding", {"at_least": 1}),
        "field 'questions[2].finding.at_least': only for integer",
    ),
    (
        "finding bad option",
        _set("questions.4.finding", {"equals": ["丙"]}),
        "field 'questions[4].finding.equals': '丙' is not an option",
    ),
    (
        "sample unknown question",
        _set("sample.checked", "counted"),
        "field 'sample.checked': unknown question 'counted'",
    ),
    (
        "sample text question",
        _set("sample.volume", "detail"),
        "field 'sample.volume': question 'detail' must be an integer question",
    ),
    ("sample percent above 100", _set("sample.percent", 150), "field 'sample.percent': must be <="),
    ("sample kind", _set("sample.kind", "most"), "field 'sample.kind': must be one of"),
    (
        "transfer points on counter",
        lambda item: item.update(
            site_kind="counter",
            sample={"kind": "transfer_points", "min": 5, "checked": "checked"},
        ),
        "field 'sample.kind': transfer_points needs site_kind = delivery",
    ),
    (
        "site quota on a site item",
        _set("coverage", {"urban_percent": 30}),
        "field 'coverage': site quotas are for county, city or region items",
    ),
    (
        "coverage with weekly frequency",
        lambda item: item.update(level="county", coverage={"min_sites": 2}),
        "field 'frequency.kind': a site coverage quota needs a monthly or longer frequency",
    ),
    (
        "coverage with times 2",
        lambda item: item.update(
            level="county", coverage={"min_sites": 2}, frequency={"kind": "monthly", "times": 2}
        ),
        "field 'frequency.times': must be 1 with a coverage quota",
    ),
    (
        "all sites shorter than period",
        lambda item: item.update(
            level="city",
            coverage={"all_sites_every": "month"},
            frequency={"kind": "quarterly", "times": 1},
        ),
        "field 'coverage.all_sites_every': must be at least",
    ),
    (
        "counties percent at county level",
        lambda item: item.update(
            level="county",
            coverage={"counties_percent": 50},
            frequency={"kind": "quarterly", "times": 1},
        ),
        "field 'coverage.counties_percent': only for city or region items",
    ),
    ("per city at site level", _set("per_city", True), "field 'per_city': only for region"),
    (
        "per city daily",
        lambda item: item.update(level="region", per_city=True, frequency={"kind": "daily"}),
        "field 'per_city': needs a weekly or longer calendar frequency",
    ),
    (
        "per city not a boolean",
        lambda item: item.update(level="region", per_city="yes"),
        "field 'per_city': must be true or false",
    ),
    ("empty coverage", _set("coverage", {}), "coverage sets no quota"),
    ("unknown coverage key", _set("coverage", {"urban": 30}), "field 'coverage.urban': unknown"),
    ("bad id", _set("id", "Probe Item"), "field 'id': must match"),
]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [pytest.param(mutate, message, id=name) for name, mutate, message in BAD_ENTRIES],
)
def test_bad_entry_names_item_and_field(
    mutate: Callable[[dict[str, Any]], None], message: str
) -> None:
    item = copy.deepcopy(_valid_item())
    mutate(item)
    with pytest.raises(CatalogError) as raised:
        parse_catalog(_document(item))
    text = str(raised.value)
    assert text.startswith("catalog item '")
    assert message in text


def test_error_message_format_is_exact() -> None:
    item = _valid_item()
    item["id"] = "delivery_express_signoff"
    item["frequency"]["times"] = 0
    with pytest.raises(CatalogError) as raised:
        parse_catalog(_document(item))
    assert str(raised.value) == (
        "catalog item 'delivery_express_signoff': field 'frequency.times': must be >= 1"
    )


def test_item_without_id_is_named_by_position() -> None:
    item = _valid_item()
    del item["id"]
    with pytest.raises(CatalogError, match=r"catalog item #1: field 'id': missing"):
        parse_catalog(_document(item))


def test_duplicate_item_ids() -> None:
    with pytest.raises(CatalogError, match="catalog item 'probe': field 'id': duplicate id"):
        parse_catalog({"version": 1, "item": [_valid_item(), _valid_item()]})


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"item": [_valid_item()]}, "catalog: field 'version': missing"),
        ({"version": 2, "item": [_valid_item()]}, "catalog: field 'version': must be <= 1"),
        ({"version": 1}, "catalog: field 'item': at least one item"),
        ({"version": 1, "item": [_valid_item()], "items": []}, "field 'items': unknown key"),
    ],
)
def test_bad_document(document: dict[str, Any], message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        parse_catalog(document)


HEAD = {"id": "head", "name": "投递部主任", "levels": ["site"], "site_kind": "delivery"}


def test_every_shipped_item_names_a_duty_held_at_its_level() -> None:
    catalog = load_catalog()
    assert len(catalog.duties) >= 9
    for item in catalog:
        assert item.duty is not None, item.id
        assert catalog.duty(item.duty).fits(item.level, item.site_kind), item.id


def test_duty_parses_and_items_name_it() -> None:
    item = _valid_item() | {"duty": "head", "doers": "all"}
    catalog = parse_catalog({"version": 1, "duty": [HEAD], "item": [item]})
    assert catalog.duty("head").levels == (Level.SITE,)
    assert catalog.get("probe").duty == "head"
    assert catalog.get("probe").doers == Doers.ALL


@pytest.mark.parametrize(
    ("duties", "item_fields", "message"),
    [
        ([HEAD], {"duty": "boss"}, "catalog item 'probe': field 'duty': unknown duty 'boss'"),
        (
            [HEAD | {"site_kind": "counter"}],
            {"duty": "head"},
            "duty 'head' is not held at the site level of delivery sites",
        ),
        ([HEAD | {"levels": ["city"]}], {"duty": "head"}, "is not held at the site level"),
        ([HEAD | {"levels": []}], {}, "catalog duty 'head': field 'levels': must be a non-empty"),
        ([HEAD | {"levels": ["town"]}], {}, "field 'levels': must be a non-empty array"),
        ([HEAD, HEAD], {}, "catalog duty 'head': field 'id': duplicate id"),
        ([HEAD, HEAD | {"id": "other"}], {}, "field 'name': duplicate name '投递部主任'"),
        ([HEAD | {"boss": 1}], {}, "field 'boss': unknown key"),
        ([HEAD], {"doers": "some"}, "field 'doers': must be one of one, all"),
    ],
)
def test_bad_duties(
    duties: list[dict[str, Any]], item_fields: dict[str, Any], message: str
) -> None:
    item = _valid_item() | item_fields
    with pytest.raises(CatalogError, match=message):
        parse_catalog({"version": 1, "duty": duties, "item": [item]})
