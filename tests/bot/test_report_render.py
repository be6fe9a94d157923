"""The monthly report rendered: an .xlsx offices can open, a PNG chart without tofu."""

from __future__ import annotations

import gc
import struct
import warnings
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from openpyxl import load_workbook
from openpyxl.cell.cell import Cell

from bot.views import texts
from bot.views.report_render import FONT_PATH, display_width, render_chart_png, render_xlsx
from scheduler.monthly_report import CheckTally, MonthlyReport, ReportUnit, build_monthly_report
from scheduler.org import Level
from tests.scheduler.test_monthly_report import EXPRESS, OCTOBER, UNIT, sample_report

SHEETS = [
    "总览",
    "检查完成情况",
    "覆盖率",
    "发现问题",
    "整改",
    "投诉",
    "升级",
    "服务质量要素",
    "无人承担",
]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DEFAULT_COLUMN_WIDTH = 8.43  # Excel's width for a column nobody sized


@pytest.fixture(scope="module")
def report() -> MonthlyReport:
    return sample_report()


@pytest.fixture(scope="module")
def workbook(report: MonthlyReport) -> Any:
    return load_workbook(BytesIO(render_xlsx(report)))


def _rows(sheet: Any, first: int = 2) -> list[tuple[object, ...]]:
    return [tuple(row) for row in sheet.iter_rows(min_row=first, values_only=True)]


# --- workbook -------------------------------------------------------------------------------


def test_one_sheet_per_section_with_title_header_and_freeze(workbook: Any) -> None:
    assert workbook.sheetnames == SHEETS
    for name in SHEETS:
        sheet = workbook[name]
        assert sheet["A1"].value == f"呼和浩特市分公司 2026年10月检查报告书 — {name}"
        assert sheet.freeze_panes == "A3"  # title and header stay in view
        assert sheet["A2"].font.bold


def test_checks_sheet_numbers_are_numbers(workbook: Any) -> None:
    sheet = workbook["检查完成情况"]
    assert _rows(sheet)[0] == ("检查项目", "条款", "分组", "应检", "已检", "漏检", "完成率")
    assert [cell.value for cell in sheet[3]][:6] == [EXPRESS, "第十四条 1(1)", "投递", 22, 20, 2]
    for cell in sheet[3][3:7]:
        assert cell.data_type == "n"
    completion = sheet["G3"]
    assert completion.value == pytest.approx(20 / 22)
    assert completion.number_format == "0.0%"
    assert sheet["G6"].value == "—"  # nothing required, no ratio
    total = [cell.value for cell in sheet[7]]
    assert total[0] == "合计"
    assert total[3:6] == [64, 57, 5]


def test_columns_fit_chinese_text(workbook: Any) -> None:
    sheet = workbook["检查完成情况"]
    width = sheet.column_dimensions["A"].width
    assert width > DEFAULT_COLUMN_WIDTH
    assert width >= display_width(EXPRESS)  # CJK counts double: 17 characters, 34 columns
    assert sheet.column_dimensions["D"].width < 10  # a column of small numbers stays narrow


def test_display_width_counts_cjk_double() -> None:
    assert display_width("abc") == 3
    assert display_width("检查") == 4
    assert display_width("东2段（城市）") == 13


def test_quota_sheet(workbook: Any) -> None:
    sheet = workbook["覆盖率"]
    urban = [cell.value for cell in sheet[3]]
    assert urban[2:5] == ["城市投递部", 12, 30]
    assert urban[5] == pytest.approx(0.4)
    assert sheet["F3"].number_format == "0.0%"
    assert urban[6:] == ["≥ 30%", "✔ 达标", "城市投递部 抽查 12/30 = 40% ≥ 30% ✔"]
    rural = [cell.value for cell in sheet[4]]
    assert rural[7:] == ["✘ 未达标", "农村投递部 抽查 2/20 = 10% < 15% ✘"]


def test_findings_sheet_has_counts_and_the_list(workbook: Any) -> None:
    rows = _rows(workbook["发现问题"])
    assert rows[:6] == [
        ("问题类别", "数量", None, None),
        ("投递延误/积压", 2, None, None),
        ("破损", 1, None, None),
        ("强制搭售/违规加办", 1, None, None),
        ("其他", 1, None, None),
        ("合计", 5, None, None),
    ]
    assert ("检查项目", "数量", None, None) in rows
    header = rows.index(("日期", "网点", "检查项目", "问题类别"))
    first = rows[header + 1]
    assert first[0] == datetime(2026, 10, 9)
    assert first[1:] == ("新城区投递部", EXPRESS, "投递延误/积压")


def test_corrective_complaint_and_escalation_sheets(workbook: Any) -> None:
    corrective = {row[0]: row[1] for row in _rows(workbook["整改"], first=3)}
    assert corrective == {
        "本月新开整改": 5,
        "本月完成整改": 2,
        "其中逾期完成": 1,
        "月末未完成整改": 4,
        "其中已逾期": 2,
    }
    complaints = workbook["投诉"]
    rows = _rows(complaints, first=3)
    assert rows[0] == ("投递延误/积压", 5, 4, 1, 2.0, 8.0)
    assert ("合计", 9, 7, 2, 3.0, 12.0) in rows
    assert complaints["E3"].number_format == "0.0"
    assert texts.REPORT_RESPONSE_NOTE in [row[0] for row in rows]
    escalations = _rows(workbook["升级"], first=3)
    assert escalations == [("第1级", 4, 2), ("第2级", 2, 2), ("第3级", 1, 1)]


def test_scorecard_sheet(workbook: Any) -> None:
    rows = {row[0]: row for row in _rows(workbook["服务质量要素"], first=3)}
    assert list(rows)[:8] == ["态度", "技术", "责任心", "硬件", "管理", "亮点", "投诉", "差错"]
    assert rows["责任心"][1:5] == (7, 5, 2, 0)
    # 管理: a complaint, a finding, 2 overdue actions, 5 missed checks and 1 unmet quota.
    assert rows["管理"][1:5] == (10, 1, 1, 2)
    assert "漏检" in str(rows["管理"][5])
    assert rows["亮点"][1] == 0
    assert rows["差错"][5] == "投诉和检查发现：丢失/短少、破损、邮政金融/代收代付"
    assert rows["未归入要素（其他类）"][1] == 2


def test_overview_sheet(workbook: Any) -> None:
    sheet = workbook["总览"]
    values = {row[0]: row[1] for row in _rows(sheet, first=3)}
    assert values["单位"] == "呼和浩特市分公司"
    assert values["单位级别"] == "盟市分公司"
    assert values["报告月份"] == "2026年10月"
    assert values["检查完成率"] == pytest.approx(57 / 64)
    assert values["覆盖率达标项"] == "1/2"
    assert values["升级投诉"] == 4


def test_empty_month_renders() -> None:
    empty = build_monthly_report(UNIT, OCTOBER)
    workbook = load_workbook(BytesIO(render_xlsx(empty)))
    assert workbook["升级"]["A3"].value == "本月无记录"
    assert render_chart_png(empty).startswith(PNG_SIGNATURE)


@pytest.mark.parametrize(
    "name",
    ['=HYPERLINK("http://x","点我")', "+86 4710", "-1+2", "@SUM(A1)", "\t=1+1", "\r=1+1"],
)
def test_text_that_looks_like_a_formula_is_written_as_text(name: str) -> None:
    unit = ReportUnit(7, name, Level.CITY)
    workbook = load_workbook(BytesIO(render_xlsx(build_monthly_report(unit, OCTOBER))))
    for sheet in workbook.worksheets:
        title = sheet["A1"]
        # XML reads a carriage return back as a line feed.
        assert title.value.startswith(name.replace("\r", "\n")) and title.data_type == "s"
        assert title.quotePrefix
    formulas = [
        cell.coordinate
        for sheet in workbook.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]
    assert not formulas


# --- chart ----------------------------------------------------------------------------------


def _png_size(data: bytes) -> tuple[int, int]:
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_chart_is_a_png_with_chinese_and_no_missing_glyphs(
    report: MonthlyReport, tmp_path: Path
) -> None:
    with warnings.catch_warnings():
        # A CJK label drawn in a font without the glyph warns "Glyph … missing from font".
        warnings.simplefilter("error")
        data = render_chart_png(report)
    assert data.startswith(PNG_SIGNATURE)
    assert _png_size(data) == (1210, 660)  # two groups: the smallest size
    (tmp_path / "report_chart.png").write_bytes(data)


def test_chart_grows_with_the_number_of_groups() -> None:
    checks = [
        CheckTally(f"item{i}", f"项目{i}", "第十四条", 10, 8, 1, group=f"东{i}段投递部")
        for i in range(20)
    ]
    data = render_chart_png(build_monthly_report(UNIT, OCTOBER, checks=checks))
    width, height = _png_size(data)
    assert width == 1210
    assert height > 1000  # twelve groups shown (the workbook has all twenty), none squeezed


def test_without_the_bundled_font_chinese_would_be_tofu() -> None:
    """Guards the test above: the warning it relies on does fire for CJK in the default font."""
    figure = Figure()
    FigureCanvasAgg(figure)
    figure.text(0.5, 0.5, "检查报告书")
    with pytest.warns(UserWarning, match="missing from font"):
        figure.savefig(BytesIO(), format="png")


def test_font_ships_with_its_license() -> None:
    assert FONT_PATH.is_file()
    assert FONT_PATH.stat().st_size > 4_000_000  # the full font, not a subset
    assert (FONT_PATH.parent / "LICENSE-Apache-2.0.txt").is_file()
    assert (FONT_PATH.parent / "COPYRIGHT-wqy-microhei.txt").is_file()


def test_the_workbooks_cells_are_freed_without_a_collection() -> None:
    """Written write-only, no cell outlives its row: a cell kept by its sheet refers to it,
    and only a collection would free the pair, walking a region's 21,000 cells with the GIL
    held (bench/report_at_size.py)."""

    def cells() -> int:
        return sum(1 for found in gc.get_objects() if isinstance(found, Cell))

    gc.collect()
    before = cells()
    gc.disable()
    try:
        render_xlsx(sample_report())
        assert cells() == before
    finally:
        gc.enable()
