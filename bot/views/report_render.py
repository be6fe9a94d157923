"""Render a ``MonthlyReport``: the Excel workbook offices file, and a chart image for the chat.

Both return bytes and touch no global state: matplotlib is used through ``Figure`` and the
Agg canvas (no pyplot, no ``rcParams``), and every text that may hold Chinese gets the
bundled WenQuanYi Micro Hei font by path, so the chart renders the same on a machine with no
fonts installed. A missing glyph would be a matplotlib warning, which the tests turn into an
error. Rendering is CPU-bound (a few hundred ms): call it from a worker thread in async code.
"""

from __future__ import annotations

import logging
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from io import BytesIO
from pathlib import Path
from typing import Any, Final

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ticker import MaxNLocator
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from bot.views import texts
from scheduler.monthly_report import CheckGroupRow, MonthlyReport

logger = logging.getLogger(__name__)

# Site and segment names are arbitrary Chinese, so a subset would not do: the full font ships.
FONT_PATH: Final = Path(__file__).resolve().parent / "fonts" / "wqy-microhei.ttc"

_FREEZE: Final = "A3"  # keeps row 1, the title, and row 2, the header, in view
_MAX_WIDTH: Final = 60
_PERCENT: Final = "0.0%"
_HOURS: Final = "0.0"
_INTEGER: Final = "0"
_DATE: Final = "yyyy-mm-dd"
_HEADER_FILL: Final = PatternFill("solid", fgColor="DDEBF7")
_BOLD: Final = Font(bold=True)
_NOTE_FONT: Final = Font(italic=True)
_HEADER_ALIGNMENT: Final = Alignment(horizontal="center", vertical="center")
_TITLE_FONT: Final = Font(bold=True, size=14)

# Bars per panel: more would be unreadable at chat size; the workbook has every row.
_MAX_BARS: Final = 12
_LABEL_CHARS: Final = 10
_REQUIRED_COLOUR: Final = "#9ecae1"
_DONE_COLOUR: Final = "#31a354"
_MISSED_COLOUR: Final = "#de2d26"
_COMPLAINT_COLOUR: Final = "#3182bd"

# A cell value with an optional number format; None formats as text.
_Cell = tuple[Any, str | None]
# A table: its header row and its rows.
_Table = tuple[Sequence[str], Sequence[Sequence[_Cell]]]


# --- workbook -------------------------------------------------------------------------------


def render_xlsx(report: MonthlyReport) -> bytes:
    """The report as an .xlsx workbook, one sheet per section."""
    title = texts.report_title(report.unit.name, report.month.year, report.month.month)
    # Write-only: each row goes straight to the file and no cell object is kept (a region's
    # workbook is 21,000 cells), so writing is quicker and leaves nothing for a collection
    # to walk. Hence every sheet is laid out before its first row is written.
    workbook = Workbook(write_only=True)
    workbook.properties.title = title
    sections: tuple[tuple[str, list[_Table]], ...] = (
        (
            texts.REPORT_SHEET_OVERVIEW,
            [(texts.REPORT_OVERVIEW_HEADERS, _overview_rows(report))],
        ),
        (texts.REPORT_SHEET_CHECKS, [(texts.REPORT_CHECK_HEADERS, _check_rows(report))]),
        (texts.REPORT_SHEET_QUOTAS, [(texts.REPORT_QUOTA_HEADERS, _quota_rows(report))]),
        (texts.REPORT_SHEET_FINDINGS, _finding_tables(report)),
        (
            texts.REPORT_SHEET_CORRECTIVE,
            [(texts.REPORT_CORRECTIVE_HEADERS, _corrective_rows(report))],
        ),
        (
            texts.REPORT_SHEET_COMPLAINTS,
            [(texts.REPORT_COMPLAINT_HEADERS, _complaint_rows(report))],
        ),
        (
            texts.REPORT_SHEET_ESCALATIONS,
            [(texts.REPORT_ESCALATION_HEADERS, _escalation_rows(report))],
        ),
        (texts.REPORT_SHEET_ELEMENTS, [(texts.REPORT_ELEMENT_HEADERS, _element_rows(report))]),
        (
            texts.REPORT_SHEET_UNCOVERED,
            [(texts.REPORT_UNCOVERED_HEADERS, _uncovered_rows(report))],
        ),
    )
    notes = {
        texts.REPORT_SHEET_COMPLAINTS: texts.REPORT_RESPONSE_NOTE,
        texts.REPORT_SHEET_ELEMENTS: texts.REPORT_ELEMENT_NOTE,
        texts.REPORT_SHEET_UNCOVERED: texts.REPORT_UNCOVERED_NOTE,
    }
    for name, tables in sections:
        sheet = workbook.create_sheet(name)
        sheet.freeze_panes = _FREEZE
        _fit_columns(sheet, tables)
        sheet.append([_cell(sheet, f"{title} — {name}", font=_TITLE_FONT)])
        for index, (headers, rows) in enumerate(tables):
            if index:
                sheet.append([])  # a blank row between tables
            sheet.append([_header_cell(sheet, header) for header in headers])
            for values in rows:
                sheet.append(
                    [_cell(sheet, value, number_format) for value, number_format in values]
                )
        if name in notes:
            sheet.append([])
            sheet.append([_cell(sheet, notes[name], font=_NOTE_FONT)])
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _overview_rows(report: MonthlyReport) -> list[list[_Cell]]:
    labels = texts.REPORT_OVERVIEW_LABELS
    total = report.check_total
    complaints = report.complaint_total
    escalated = report.escalations[0].complaints if report.escalations else 0
    return [
        [(labels["unit"], None), (report.unit.name, None)],
        [(labels["level"], None), (texts.LEVEL_LABELS[report.unit.level], None)],
        [
            (labels["month"], None),
            (texts.report_month(report.month.year, report.month.month), None),
        ],
        [(labels["required"], None), (total.required, _INTEGER)],
        [(labels["done"], None), (total.done, _INTEGER)],
        [(labels["missed"], None), (total.missed, _INTEGER)],
        [(labels["uncovered"], None), (report.uncovered_required, _INTEGER)],
        [(labels["completion"], None), _ratio(total.completion)],
        [(labels["quotas"], None), (f"{report.quotas_met}/{len(report.quotas)}", None)],
        [(labels["findings"], None), (len(report.findings), _INTEGER)],
        [(labels["actions_open"], None), (report.corrective.open, _INTEGER)],
        [(labels["actions_overdue"], None), (report.corrective.overdue, _INTEGER)],
        [(labels["complaints"], None), (complaints.count, _INTEGER)],
        [(labels["unanswered"], None), (complaints.unanswered, _INTEGER)],
        [(labels["median"], None), _hours(complaints.median_hours)],
        [(labels["p90"], None), _hours(complaints.p90_hours)],
        [(labels["escalated"], None), (escalated, _INTEGER)],
        [(labels["repeats"], None), (complaints.repeats, _INTEGER)],
        [
            (labels["satisfaction"], None),
            (f"{complaints.satisfied} / {complaints.dissatisfied}", None),
        ],
        [(labels["justified"], None), _ratio(complaints.justified_rate)],
    ]


def _check_rows(report: MonthlyReport) -> list[list[_Cell]]:
    rows: list[list[_Cell]] = [
        [
            (row.title, None),
            (row.clause, None),
            (row.group, None),
            (row.required, _INTEGER),
            (row.done, _INTEGER),
            (row.missed, _INTEGER),
            _ratio(row.completion),
        ]
        for row in report.checks
    ]
    total = report.check_total
    rows.append(
        [
            (texts.REPORT_TOTAL, None),
            ("", None),
            ("", None),
            (total.required, _INTEGER),
            (total.done, _INTEGER),
            (total.missed, _INTEGER),
            _ratio(total.completion),
        ]
    )
    return rows


def _uncovered_rows(report: MonthlyReport) -> list[list[_Cell]]:
    return [
        [
            (gap.unit, None),
            (gap.title, None),
            (gap.clause, None),
            (gap.duty, None),
            (gap.required, _INTEGER),
            (gap.quotas, _INTEGER),
        ]
        for gap in report.uncovered
    ]


def _quota_rows(report: MonthlyReport) -> list[list[_Cell]]:
    return [
        [
            (quota.title, None),
            (quota.clause, None),
            (quota.label, None),
            (quota.checked, _INTEGER),
            (quota.total, _INTEGER),
            _ratio(quota.ratio),
            (texts.report_quota_requirement(quota.threshold_percent, quota.minimum), None),
            (texts.REPORT_MET if quota.met else texts.REPORT_NOT_MET, None),
            (
                texts.report_quota_line(
                    quota.label,
                    quota.checked,
                    quota.total,
                    quota.threshold_percent,
                    quota.minimum,
                    quota.met,
                ),
                None,
            ),
        ]
        for quota in report.quotas
    ]


def _finding_category_rows(report: MonthlyReport) -> list[list[_Cell]]:
    rows: list[list[_Cell]] = [
        [(texts.REPORT_CATEGORY_LABELS[row.key], None), (row.count, _INTEGER)]
        for row in report.findings_by_category
    ]
    rows.append([(texts.REPORT_TOTAL, None), (len(report.findings), _INTEGER)])
    return rows


def _finding_tables(report: MonthlyReport) -> list[_Table]:
    """The counts by category, then by check item, then the list itself, so that the level
    above sees which site had which problem."""
    by_item: list[list[_Cell]] = [
        [(item.key, None), (item.count, _INTEGER)] for item in report.findings_by_item
    ]
    details: list[list[_Cell]] = [
        [
            (finding.found_on, _DATE),
            (finding.site, None),
            (finding.item_title, None),
            (texts.REPORT_CATEGORY_LABELS[finding.category], None),
        ]
        for finding in report.findings
    ]
    return [
        (texts.REPORT_FINDING_CATEGORY_HEADERS, _finding_category_rows(report)),
        (texts.REPORT_FINDING_ITEM_HEADERS, by_item),
        (texts.REPORT_FINDING_DETAIL_HEADERS, details),
    ]


def _corrective_rows(report: MonthlyReport) -> list[list[_Cell]]:
    summary = report.corrective
    counts = {
        "opened": summary.opened,
        "closed": summary.closed,
        "closed_late": summary.closed_late,
        "open": summary.open,
        "overdue": summary.overdue,
    }
    return [
        [(texts.REPORT_CORRECTIVE_LABELS[key], None), (value, _INTEGER)]
        for key, value in counts.items()
    ]


def _complaint_rows(report: MonthlyReport) -> list[list[_Cell]]:
    rows: list[list[_Cell]] = []
    for stats in (*report.complaints_by_category, report.complaint_total):
        name = (
            texts.REPORT_TOTAL
            if stats.category is None
            else texts.REPORT_CATEGORY_LABELS[stats.category]
        )
        rows.append(
            [
                (name, None),
                (stats.count, _INTEGER),
                (stats.answered, _INTEGER),
                (stats.unanswered, _INTEGER),
                _hours(stats.median_hours),
                _hours(stats.p90_hours),
            ]
        )
    return rows


def _escalation_rows(report: MonthlyReport) -> list[list[_Cell]]:
    if not report.escalations:
        return [[(texts.REPORT_NONE_THIS_MONTH, None)]]
    return [
        [
            (texts.report_level_label(row.level), None),
            (row.complaints, _INTEGER),
            (row.unanswered, _INTEGER),
        ]
        for row in report.escalations
    ]


def _element_rows(report: MonthlyReport) -> list[list[_Cell]]:
    rows: list[list[_Cell]] = []
    for score in report.scorecard:
        issues: _Cell = (
            (texts.REPORT_NO_DATA, None) if score.issues is None else (score.issues, _INTEGER)
        )
        rows.append(
            [
                (texts.REPORT_ELEMENT_LABELS[score.element], None),
                issues,
                (score.complaints, _INTEGER),
                (score.findings, _INTEGER),
                (score.overdue_actions, _INTEGER),
                (texts.report_element_basis(score.element, list(score.categories)), None),
            ]
        )
    rows.append(
        [
            (texts.REPORT_UNMAPPED, None),
            (report.unmapped_issues, _INTEGER),
            ("", None),
            ("", None),
            ("", None),
            (texts.REPORT_CATEGORY_LABELS["other"], None),
        ]
    )
    return rows


def _ratio(value: float | None) -> _Cell:
    return (texts.REPORT_NOT_APPLICABLE, None) if value is None else (value, _PERCENT)


def _hours(value: float | None) -> _Cell:
    return (texts.REPORT_NOT_APPLICABLE, None) if value is None else (value, _HOURS)


# What makes a spreadsheet read a cell as a formula (or, on export to CSV, a formula again):
# a unit named =HYPERLINK("http://x","点我") must stay those characters.
_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def _cell(
    sheet: Any, value: Any, number_format: str | None = None, font: Font | None = None
) -> Any:
    """One cell's value as the sheet appends it: the bare value unless it needs a style, or
    is text that openpyxl would take for a formula (any str beginning with "=")."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        cell = WriteOnlyCell(sheet, value)
        cell.data_type = "s"
        # Excel keeps it text even when someone edits the cell (the apostrophe prefix).
        cell.quotePrefix = True
    elif number_format is None and font is None:
        return value
    else:
        cell = WriteOnlyCell(sheet, value)
    if number_format is not None:
        cell.number_format = number_format
    if font is not None:
        cell.font = font
    return cell


def _header_cell(sheet: Any, header: str) -> Any:
    cell = _cell(sheet, header, font=_BOLD)
    cell.fill = _HEADER_FILL
    cell.alignment = _HEADER_ALIGNMENT
    return cell


def display_width(text: str) -> int:
    """Columns the text takes in a monospace sense: CJK and full-width characters count two."""
    if text.isascii():  # numbers, dates: every character narrow
        return len(text)
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _shown(value: Any, number_format: str | None) -> str:
    if isinstance(value, float) and number_format == _PERCENT:
        return f"{value * 100:.1f}%"
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _fit_columns(sheet: Any, tables: Sequence[_Table]) -> None:
    """Widths from the headers and rows only: the long title and notes overflow into empty
    cells to their right and must not widen column A."""
    # Each distinct text measured once: a column repeats its sites, items and categories.
    shown: defaultdict[int, set[str]] = defaultdict(set)
    for headers, rows in tables:
        for values in ([(header, None) for header in headers], *rows):
            for column, (value, number_format) in enumerate(values, start=1):
                if value is not None:  # an empty cell
                    shown[column].add(_shown(value, number_format))
    for column, column_texts in shown.items():
        width = max(map(display_width, column_texts))
        # +2 for the cell padding and the bold header being a little wider.
        sheet.column_dimensions[get_column_letter(column)].width = min(width + 2, _MAX_WIDTH)


# --- chart ----------------------------------------------------------------------------------


def render_chart_png(report: MonthlyReport) -> bytes:
    """A PNG with checks required/done/missed per item group and complaints by category."""
    if not FONT_PATH.is_file():
        raise FileNotFoundError(f"bundled CJK font missing: {FONT_PATH}")
    groups = _shown_groups(report)
    complaints = min(len(report.complaints_by_category), _MAX_BARS)
    # Room for two-line labels: about 0.8 inch per group of three bars (a complaint category
    # has one bar and needs half that), never below 6 inches.
    rows = max(len(groups), complaints / 2)
    figure = Figure(figsize=(11, max(6.0, 1.5 + 0.8 * rows)), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    checks_axes, complaints_axes = figure.subplots(1, 2, width_ratios=(3, 2))
    _draw_checks(checks_axes, groups)
    _draw_complaints(complaints_axes, report)
    figure.suptitle(
        texts.report_title(report.unit.name, report.month.year, report.month.month),
        fontproperties=_font(15),
    )
    buffer = BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _font(size: float) -> FontProperties:
    return FontProperties(fname=FONT_PATH, size=size)


def _wrap(label: str) -> str:
    return "\n".join(
        label[start : start + _LABEL_CHARS] for start in range(0, len(label), _LABEL_CHARS)
    )


def _shown_groups(report: MonthlyReport) -> list[CheckGroupRow]:
    # A group with nothing required, done or missed would only be an empty row of bars.
    groups = [g for g in report.check_groups if g.required or g.done or g.missed]
    return sorted(groups, key=lambda g: g.required, reverse=True)[:_MAX_BARS]


def _draw_checks(axes: Axes, groups: Sequence[CheckGroupRow]) -> None:
    axes.set_title(texts.REPORT_CHART_CHECKS, fontproperties=_font(12))
    if not groups:
        _empty(axes, texts.REPORT_CHART_NO_CHECKS)
        return
    height = 0.27
    positions = range(len(groups))
    series = (
        (texts.REPORT_CHART_REQUIRED, [g.required for g in groups], _REQUIRED_COLOUR, -height),
        (texts.REPORT_CHART_DONE, [g.done for g in groups], _DONE_COLOUR, 0.0),
        (texts.REPORT_CHART_MISSED, [g.missed for g in groups], _MISSED_COLOUR, height),
    )
    for label, values, colour, shift in series:
        bars = axes.barh(
            [p + shift for p in positions], values, height=height, color=colour, label=label
        )
        axes.bar_label(bars, padding=2, fontproperties=_font(8))
    labels = [texts.report_chart_group(_wrap(g.group), g.completion) for g in groups]
    axes.set_yticks(list(positions), labels=labels, fontproperties=_font(9))
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.invert_yaxis()  # largest group on top, reading order
    axes.margins(x=0.12)
    axes.legend(prop=_font(9), loc="best")
    axes.spines[["top", "right"]].set_visible(False)


def _draw_complaints(axes: Axes, report: MonthlyReport) -> None:
    axes.set_title(texts.REPORT_CHART_COMPLAINTS, fontproperties=_font(12))
    stats = sorted(report.complaints_by_category, key=lambda s: s.count, reverse=True)
    stats = stats[:_MAX_BARS]
    if not stats:
        _empty(axes, texts.REPORT_CHART_NO_COMPLAINTS)
        return
    positions = list(range(len(stats)))
    bars = axes.barh(positions, [s.count for s in stats], color=_COMPLAINT_COLOUR)
    axes.bar_label(bars, padding=2, fontproperties=_font(9))
    labels = [_wrap(texts.REPORT_CATEGORY_LABELS[s.category or "other"]) for s in stats]
    axes.set_yticks(positions, labels=labels, fontproperties=_font(9))
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.invert_yaxis()
    axes.margins(x=0.15)
    axes.spines[["top", "right"]].set_visible(False)


def _empty(axes: Axes, message: str) -> None:
    axes.set_axis_off()
    axes.text(
        0.5,
        0.5,
        message,
        transform=axes.transAxes,
        ha="center",
        va="center",
        fontproperties=_font(12),
        color="grey",
    )
