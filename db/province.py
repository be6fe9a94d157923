"""A generated province-sized organisation, for tests and benches at real size.

The shape follows 内蒙古邮政: one region, its 12 盟市分公司, their 103 旗县 (区/市/县/旗)
bureaus, and under each bureau urban and rural counters (营业支局/所) and delivery stations
(投递部/投递支局) with their segments (道段) and transfer points (接转点) — about 1,500
sites. Staff hold every role: admins and managers on every level, inspectors at the region,
the cities and the counties, a head at every site and, at urban delivery stations, a team
leader, clerks, and handlers of every department.

Everyone who performs checks holds their duties of the catalog (营业支局长, 投递部主任,
班组长/质检员, 县局检查员, 投递业务管理员, 市分公司检查员, 区公司检查员, 函件专业, 报刊专业).
A few units are left without the people who would check them, on purpose, so that the
无人承担 paths are exercised at size (see ``UNCOVERED``).

Same seed, same rows. The rows are what db/org_import.py imports (``OrgRow``), so the
province goes into a real database with import_org; ``write_csv`` writes the import file:

    .venv/bin/python -m db.province province.csv
"""

from __future__ import annotations

import argparse
import csv
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from db.org_import import COLUMNS, OrgRow
from scheduler.catalog import Duty
from scheduler.org import (
    Area,
    Department,
    Level,
    OperatingDays,
    OrgInspector,
    OrgSnapshot,
    OrgTransferPoint,
    OrgUnit,
    Role,
    SiteKind,
    parse_open_days,
)

REGION_CODE = "NM"

# 盟市 and their 旗县级 divisions (2026), one city a line.
_CITY_TABLE = """
呼和浩特市 新城区 回民区 玉泉区 赛罕区 土默特左旗 托克托县 和林格尔县 清水河县 武川县
包头市 东河区 昆都仑区 青山区 石拐区 白云鄂博矿区 九原区 土默特右旗 固阳县 达尔罕茂明安联合旗
乌海市 海勃湾区 海南区 乌达区
赤峰市 红山区 元宝山区 松山区 阿鲁科尔沁旗 巴林左旗 巴林右旗 林西县 克什克腾旗 翁牛特旗 喀喇沁旗 宁城县 敖汉旗
通辽市 科尔沁区 科尔沁左翼中旗 科尔沁左翼后旗 开鲁县 库伦旗 奈曼旗 扎鲁特旗 霍林郭勒市
鄂尔多斯市 东胜区 康巴什区 达拉特旗 准格尔旗 鄂托克前旗 鄂托克旗 杭锦旗 乌审旗 伊金霍洛旗
呼伦贝尔市 海拉尔区 扎赉诺尔区 阿荣旗 莫力达瓦达斡尔族自治旗 鄂伦春自治旗 鄂温克族自治旗 陈巴尔虎旗 新巴尔虎左旗 新巴尔虎右旗 满洲里市 牙克石市 扎兰屯市 额尔古纳市 根河市
巴彦淖尔市 临河区 五原县 磴口县 乌拉特前旗 乌拉特中旗 乌拉特后旗 杭锦后旗
乌兰察布市 集宁区 卓资县 化德县 商都县 兴和县 凉城县 察哈尔右翼前旗 察哈尔右翼中旗 察哈尔右翼后旗 四子王旗 丰镇市
兴安盟 乌兰浩特市 阿尔山市 科尔沁右翼前旗 科尔沁右翼中旗 扎赉特旗 突泉县
锡林郭勒盟 二连浩特市 锡林浩特市 阿巴嘎旗 苏尼特左旗 苏尼特右旗 东乌珠穆沁旗 西乌珠穆沁旗 太仆寺旗 镶黄旗 正镶白旗 正蓝旗 多伦县
阿拉善盟 阿拉善左旗 阿拉善右旗 额济纳旗
"""  # noqa: E501
CITIES: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
    (city, tuple(counties))
    for city, *counties in (line.split() for line in _CITY_TABLE.strip().splitlines())
)

_STREETS = (
    "人民路", "新华路", "建设路", "中山路", "解放路", "团结路", "胜利路", "北京路", "锡林路",
    "昭乌达路", "大学路", "站前", "东街", "西街", "南关", "北关", "开发区", "新区", "文化路",
    "工农路",
)  # fmt: skip
_SYLLABLES = (
    "巴", "彦", "乌", "兰", "哈", "达", "沙", "拉", "图", "呼", "和", "宝", "音", "额", "尔",
    "敦", "查", "干", "白", "塔", "新", "太", "平", "兴", "隆", "红", "旗", "双", "河", "阿",
)  # fmt: skip
_RURAL_SUFFIXES = ("镇", "乡", "苏木")
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"  # noqa: E501
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志海燕春梅晓东文斌宇浩鹏飞雪琳颖慧婷辉林波宁亮峰"  # noqa: E501

# Departments a city branch has handlers in; counties have the first three.
_CITY_DEPARTMENTS = (
    Department.DELIVERY,
    Department.MARKET,
    Department.SUPERVISION,
    Department.LETTERS,
    Department.PERIODICALS,
    Department.EXPRESS,
    Department.FINANCE,
)


@dataclass(frozen=True)
class Uncovered:
    """Units left, on purpose, without the staff who would check them."""

    sites_without_head: tuple[str, ...]  # site codes: no 支局长 / 投递部主任 (no site staff)
    counties_without_inspector: tuple[str, ...]  # county codes
    city_without_inspector: str  # a city code


UNCOVERED = Uncovered(
    sites_without_head=("C03-01-C2", "C07-05-D3", "C12-03-C1"),
    counties_without_inspector=("C05-04", "C09-07"),
    city_without_inspector="C03",
)


@dataclass(frozen=True)
class ProvinceSize:
    """What was generated, for assertions and bench output."""

    cities: int
    counties: int
    sites: int
    segments: int
    transfer_points: int
    staff: int


class _Province:
    """Accumulates the import rows; line numbers as a CSV file would have them (header = 1)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        # A second stream for volumes, so that adding them left the organisation as it was.
        self.volumes = random.Random(seed + 1)
        self.rows: list[OrgRow] = []
        self._staff_numbers = iter(range(1, 1_000_000))

    def add(self, **values: str) -> None:
        self.rows.append(OrgRow(len(self.rows) + 2, dict.fromkeys(COLUMNS, "") | values))

    def unit(self, code: str, name: str, parent: str, level: Level, **site: str) -> None:
        self.add(type="unit", code=code, name=name, parent=parent, level=level.value, **site)

    def staff(
        self,
        parent: str,
        role: Role,
        department: Department | None = None,
        duties: tuple[str, ...] = (),
    ) -> None:
        number = next(self._staff_numbers)
        self.add(
            type="staff",
            code=f"E{number:06d}",
            name=self.person(),
            parent=parent,
            role=role.value,
            department=department.value if department else "",
            phone=f"139{number:08d}",
            duties="、".join(duties),
        )

    def person(self) -> str:
        given = "".join(self.rng.choice(_GIVEN) for _ in range(self.rng.choice((1, 2, 2))))
        return self.rng.choice(_SURNAMES) + given

    def town(self) -> str:
        syllables = "".join(self.rng.choice(_SYLLABLES) for _ in range(2))
        return syllables + self.rng.choice(_RURAL_SUFFIXES)

    def region(self) -> None:
        self.unit(REGION_CODE, "内蒙古邮政区公司", "", Level.REGION)
        self.staff(REGION_CODE, Role.ADMIN)
        self.staff(REGION_CODE, Role.MANAGER)
        for _ in range(3):
            self.staff(REGION_CODE, Role.INSPECTOR, Department.SUPERVISION, ("区公司检查员",))
        for department in _CITY_DEPARTMENTS:
            self.staff(REGION_CODE, Role.HANDLER, department)

    def city(self, city: str, name: str) -> None:
        self.unit(city, f"{name}分公司", REGION_CODE, Level.CITY)
        self.staff(city, Role.ADMIN)
        self.staff(city, Role.MANAGER)
        if city != UNCOVERED.city_without_inspector:
            for _ in range(2):
                self.staff(city, Role.INSPECTOR, Department.SUPERVISION, ("市分公司检查员",))
            self.staff(city, Role.INSPECTOR, Department.DELIVERY, ("市分公司检查员",))
        self.staff(city, Role.INSPECTOR, Department.LETTERS, ("函件专业",))
        self.staff(city, Role.INSPECTOR, Department.PERIODICALS, ("报刊专业",))
        for department in _CITY_DEPARTMENTS:
            self.staff(city, Role.HANDLER, department)

    def county(self, county: str, name: str, city: str) -> None:
        self.unit(county, f"{name}局", city, Level.COUNTY)
        self.staff(county, Role.MANAGER)
        if county not in UNCOVERED.counties_without_inspector:
            self.staff(county, Role.INSPECTOR, Department.SUPERVISION, ("县局检查员",))
        self.staff(county, Role.INSPECTOR, Department.LETTERS, ("函件专业",))
        self.staff(county, Role.INSPECTOR, Department.PERIODICALS, ("报刊专业",))
        # The delivery department's handler is also its 投递业务管理员 (第十五条 4①):
        # a duty, not a role.
        self.staff(county, Role.HANDLER, Department.DELIVERY, ("投递业务管理员",))
        for department in _CITY_DEPARTMENTS[1:3]:
            self.staff(county, Role.HANDLER, department)
        rng = self.rng
        urban = _is_urban_district(name)
        counts = {
            (SiteKind.COUNTER, Area.URBAN): rng.randint(4, 7) if urban else rng.randint(1, 3),
            (SiteKind.COUNTER, Area.RURAL): rng.randint(0, 3) if urban else rng.randint(6, 10),
            (SiteKind.DELIVERY, Area.URBAN): rng.randint(2, 4) if urban else 1,
            (SiteKind.DELIVERY, Area.RURAL): rng.randint(0, 2) if urban else rng.randint(4, 6),
        }
        numbers = dict.fromkeys(SiteKind, 0)
        short = name.removesuffix("旗").removesuffix("县").removesuffix("区")
        for (kind, area), count in counts.items():
            for _ in range(count):
                numbers[kind] += 1
                letter = "C" if kind is SiteKind.COUNTER else "D"
                code = f"{county}-{letter}{numbers[kind]}"
                if area is Area.URBAN:
                    site_name = f"{short}{rng.choice(_STREETS)}{_SITE_SUFFIX[kind, area]}"
                else:
                    site_name = f"{self.town()}{_SITE_SUFFIX[kind, area]}"
                self.site(code, site_name, county, kind, area)

    def site(self, code: str, name: str, county: str, kind: SiteKind, area: Area) -> None:
        # Most sites keep the configuration's default days; some say otherwise, as in life:
        # rural counters open on weekdays only, some town counters every day.
        opening = self.rng.choice(_OPENING[kind, area])
        self.unit(
            code,
            name,
            county,
            Level.SITE,
            kind=kind.value,
            area=area.value,
            open_days=opening[0],
            open_on_holidays=opening[1],
            volume=str(self.volumes.randint(*_VOLUME[area])),
        )
        if kind is SiteKind.DELIVERY:
            self.places(code, area)
        if code in UNCOVERED.sites_without_head:
            return
        head = "营业支局长" if kind is SiteKind.COUNTER else "投递部主任"
        self.staff(code, Role.INSPECTOR, duties=(head,))
        if kind is SiteKind.DELIVERY and area is Area.URBAN:
            self.staff(code, Role.INSPECTOR, Department.DELIVERY, ("班组长/质检员",))
        for _ in range(self.rng.randint(1, 3)):
            self.staff(code, Role.COUNTER_STAFF)

    def places(self, site: str, area: Area) -> None:
        """Segments and transfer points of a delivery station (14.4: urban ≥ 20 a month)."""
        rng = self.rng
        segments = rng.randint(4, 8) if area is Area.URBAN else rng.randint(2, 4)
        for number in range(1, segments + 1):
            name = f"{'东西南北'[number % 4]}{number}段"
            self.add(type="segment", code=f"{site}-S{number}", name=name, parent=site)
        points = rng.randint(22, 30) if area is Area.URBAN else rng.randint(5, 12)
        for number in range(1, points + 1):
            if area is Area.URBAN:
                name = f"{rng.choice(_STREETS)}{number}号{rng.choice(_URBAN_POINTS)}"
            else:
                name = f"{self.town()[:2]}村邮站"
            self.add(type="transfer_point", code=f"{site}-T{number}", name=name, parent=site)


_SITE_SUFFIX = {
    (SiteKind.COUNTER, Area.URBAN): "营业支局",
    (SiteKind.COUNTER, Area.RURAL): "营业所",
    (SiteKind.DELIVERY, Area.URBAN): "投递部",
    (SiteKind.DELIVERY, Area.RURAL): "投递支局",
}
# (open_days, open_on_holidays) choices per kind and area; "" = the configured default.
_OPENING: dict[tuple[SiteKind, Area], tuple[tuple[str, str], ...]] = {
    (SiteKind.COUNTER, Area.URBAN): (("", ""),) * 3 + (("每天", "是"),),
    (SiteKind.COUNTER, Area.RURAL): (("", ""), ("", ""), ("1-5", "否")),
    (SiteKind.DELIVERY, Area.URBAN): (("", ""),),
    (SiteKind.DELIVERY, Area.RURAL): (("", ""), ("", ""), ("1-6", "否")),
}
# Mail items a site handles a month.
_VOLUME = {Area.URBAN: (20_000, 200_000), Area.RURAL: (1_000, 20_000)}
_URBAN_POINTS = ("小区物业", "收发室", "写字楼前台", "学校收发室", "医院收发室")


def _is_urban_district(county: str) -> bool:
    """区 and 县级市 are mostly urban; 旗 and 县 mostly rural."""
    return county.endswith(("区", "市"))


def generate_province(seed: int = 2026) -> list[OrgRow]:
    """The rows of a province-sized import file, parents before children."""
    province = _Province(seed)
    province.region()
    for city_number, (city_name, counties) in enumerate(CITIES, start=1):
        city = f"C{city_number:02d}"
        province.city(city, city_name)
        for county_number, county_name in enumerate(counties, start=1):
            province.county(f"{city}-{county_number:02d}", county_name, city)
    return province.rows


def size_of(rows: Sequence[OrgRow]) -> ProvinceSize:
    def count(kind: str, level: Level | None = None) -> int:
        return sum(
            1
            for row in rows
            if row.get("type") == kind and (level is None or row.get("level") == level.value)
        )

    return ProvinceSize(
        cities=count("unit", Level.CITY),
        counties=count("unit", Level.COUNTY),
        sites=count("unit", Level.SITE),
        segments=count("segment"),
        transfer_points=count("transfer_point"),
        staff=count("staff"),
    )


def snapshot_of(
    rows: Sequence[OrgRow],
    duties: Sequence[Duty],
    opening: Mapping[SiteKind, OperatingDays] | None = None,
) -> OrgSnapshot:
    """The planner's view of imported rows without a database: ids numbered in row order,
    as a fresh import would give them; duty names as ``duties`` (the catalog's) name them;
    sites open as their row says, else as ``opening`` says for their kind."""
    duty_ids = {duty.name: duty.id for duty in duties} | {duty.id: duty.id for duty in duties}
    ids = {(row.get("type"), row.get("code")): number for number, row in enumerate(rows, start=1)}
    units: list[OrgUnit] = []
    points: list[OrgTransferPoint] = []
    inspectors: list[OrgInspector] = []
    for row in rows:
        number = ids[row.get("type"), row.get("code")]
        parent = ids.get(("unit", row.get("parent")))
        match row.get("type"):
            case "unit":
                kind, area = row.get("kind"), row.get("area")
                units.append(
                    OrgUnit(
                        id=number,
                        name=row.get("name"),
                        level=Level(row.get("level")),
                        parent_id=parent,
                        site_kind=SiteKind(kind) if kind else None,
                        area=Area(area) if area else None,
                        operating=_operating(row, opening or {}),
                    )
                )
            case "transfer_point":
                assert parent is not None
                points.append(OrgTransferPoint(number, row.get("name"), parent))
            case "staff":
                held = frozenset(duty_ids[name] for name in row.get("duties").split("、") if name)
                if held or row.get("role") == Role.INSPECTOR:
                    assert parent is not None
                    inspectors.append(OrgInspector(number, parent, held))
    return OrgSnapshot(tuple(units), tuple(points), tuple(inspectors))


def _operating(row: OrgRow, opening: Mapping[SiteKind, OperatingDays]) -> OperatingDays | None:
    if not row.get("kind"):
        return None
    default = opening.get(SiteKind(row.get("kind")))
    if not row.get("open_days"):
        return default
    weekdays = parse_open_days(row.get("open_days"))
    assert weekdays is not None, row
    return OperatingDays(weekdays, row.get("open_on_holidays") == "是")


def _csv_lines(rows: Sequence[OrgRow]) -> Iterator[list[str]]:
    yield list(COLUMNS)
    for row in rows:
        yield [row.values.get(column, "") for column in COLUMNS]


def write_csv(rows: Sequence[OrgRow], path: Path) -> None:
    """The import file (UTF-8 CSV) with these rows."""
    with path.open("w", encoding="utf-8", newline="") as file:
        csv.writer(file).writerows(_csv_lines(rows))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write a generated province as an import CSV.")
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    rows = generate_province(args.seed)
    write_csv(rows, args.out)
    print(f"{args.out}: {size_of(rows)}")


if __name__ == "__main__":
    main()
