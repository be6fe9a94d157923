"""What the views render: the use cases fill these, texts and buttons show them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from db.models import Assignment, Complaint, DetailKind, Staff
from scheduler import check_flow
from scheduler.catalog import CatalogItem, Question, Span
from scheduler.monthly_report import MonthlyReport


@dataclass(frozen=True)
class CheckView:
    """Where a check conversation stands, for the handler to render."""

    assignment: Assignment
    item: CatalogItem
    site: str
    answers: dict[str, str | int | None]
    question: Question | None  # None: all answered, the summary is shown
    rejected: check_flow.Rejected | None = None


@dataclass(frozen=True)
class TodayLine:
    assignment: Assignment
    title: str
    site: str
    answered: int
    total: int


@dataclass(frozen=True)
class ComplaintCard:
    """A complaint with names resolved, ready for texts.* to render."""

    complaint: Complaint
    reporter: Staff
    reporter_unit: str
    site: str | None
    segment: str | None
    transfer_point: str | None
    handler: Staff | None
    # What the reporter added after a return, or why they were not satisfied, oldest first.
    details: tuple[tuple[DetailKind, str], ...] = ()
    photos: tuple[str, ...] = ()  # Telegram file ids, in the order sent


@dataclass(frozen=True)
class MonthFigures:
    """A month's report; ``as_of`` is today when the month is still running."""

    report: MonthlyReport
    as_of: date | None = None


@dataclass(frozen=True)
class InspectorProgress:
    name: str
    unit: str
    planned: int
    in_progress: int
    done: int
    missed: int


@dataclass(frozen=True)
class CityCoverage:
    """A per-city region item in its current period: the cities done so far."""

    title: str
    span: Span
    covered: int
    cities: int
    missing: tuple[str, ...]  # the cities not yet covered, by unit id


@dataclass(frozen=True)
class Progress:
    day: date
    unit: str
    inspectors: tuple[InspectorProgress, ...]
    uncovered_checks: int = 0  # unit x item in the scope with nobody holding the duty
    uncovered_units: int = 0
    cities: tuple[CityCoverage, ...] = ()
