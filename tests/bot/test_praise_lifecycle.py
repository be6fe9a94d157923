"""Drafts under random reports (praise and complaints) and presses by the reporter and by
someone else, on both databases: after every step each draft is in the state a model of
the rules says, a praising draft became at most one highlight, and a highlighted draft was
never routed."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import delete
from sqlmodel import col, select

from bot.usecases import complaints
from bot.usecases.highlights import RecordedHighlight
from bot.views import texts
from db.models import (
    ChatState,
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
    Highlight,
    HighlightSource,
    LabelledExample,
    OutboxMessage,
    Staff,
)
from db.org_import import import_org, read_org_file
from nlp.categories import Category
from nlp.reader import ComplaintReader
from tests.bot.services import services_for
from tests.conftest import SAMPLE_ORG
from tests.stateful import run_seeded

T = TypeVar("T")
TEXTS = st.sampled_from(
    [
        "用户王大爷今天送来锦旗，表扬东2段投递员李强风雨无阻按时投递",
        "非常感谢营业员耐心帮我办理，送上感谢信",
        "东2段信件报刊积压三天了，用户多次打电话投诉",
        "用户反映邮件有问题，让我们查一下",
        "营业员态度恶劣，还骂人",
    ]
)
PRESSERS = st.sampled_from(["C002", "C001"])  # the reporter, and someone else


@dataclass
class Draft:
    praise: bool
    state: str = "draft"  # draft / open / cancelled / highlighted
    highlight_id: int | None = None


@pytest.fixture(scope="module")
def reader() -> ComplaintReader:
    return ComplaintReader.create()


class DraftMachine(RuleBasedStateMachine):
    database_url = ""
    reader: ComplaintReader | None = None

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.services = services_for(self.database_url)
        assert self.reader is not None
        self.services.complaint_reader = self.reader
        self.staff = self.run(self._fresh())
        self.drafts: dict[int, Draft] = {}

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    async def _fresh(self) -> dict[str, Staff]:
        async with self.services.db.session() as session:
            for table in (
                ComplaintEvent,
                Highlight,
                OutboxMessage,
                ChatState,
                LabelledExample,
                Complaint,
            ):
                await session.exec(delete(table))
            await import_org(
                read_org_file(SAMPLE_ORG),
                labels=texts.IMPORT_LABELS,
                session=session,
                now=self.services.clock.now(),
            )
            people = (await session.exec(select(Staff))).all()
            return {s.code: s for s in people}

    def teardown(self) -> None:
        self.run(self.services.db.close())
        self.loop.close()

    def _draft_id(self, data: st.DataObject) -> int:
        return data.draw(st.sampled_from(sorted(self.drafts)))

    def _expect_refusal(self, result: object, draft: Draft, presser: str) -> bool:
        """Whether the press must be refused, and that it was, as the model says."""
        if presser != "C002":
            assert result is complaints.Refusal.NOT_YOURS
            return True
        if draft.state != "draft":
            assert result is complaints.Refusal.WRONG_STATE
            return True
        assert not isinstance(result, complaints.Refusal)
        return False

    # -- rules -----------------------------------------------------------------------------

    @rule(text=TEXTS)
    def reports(self, text: str) -> None:
        assert self.reader is not None
        report = self.run(
            complaints.report_complaint(
                self.services, self.reader, self.staff["C002"], text, photo_file_id=None
            )
        )
        assert report.praise == self.reader.read(text).praise
        assert 2 <= len(report.choices) <= 3 and report.card.complaint.id is not None
        self.drafts[report.card.complaint.id] = Draft(praise=report.praise)

    @precondition(lambda self: bool(self.drafts))
    @rule(data=st.data(), presser=PRESSERS)
    def records_praise(self, data: st.DataObject, presser: str) -> None:
        draft_id = self._draft_id(data)
        draft = self.drafts[draft_id]
        result = self.run(complaints.record_praise(self.services, draft_id, self.staff[presser]))
        if not self._expect_refusal(result, draft, presser):
            assert isinstance(result, RecordedHighlight)
            draft.state, draft.highlight_id = "highlighted", result.highlight_id

    @precondition(lambda self: bool(self.drafts))
    @rule(data=st.data(), presser=PRESSERS)
    def keeps_as_complaint(self, data: st.DataObject, presser: str) -> None:
        draft_id = self._draft_id(data)
        assert self.reader is not None
        result = self.run(
            complaints.keep_as_complaint(self.services, self.reader, draft_id, self.staff[presser])
        )
        if not self._expect_refusal(result, self.drafts[draft_id], presser):
            assert isinstance(result, complaints.DraftReport) and not result.praise

    @precondition(lambda self: bool(self.drafts))
    @rule(data=st.data(), presser=PRESSERS, category=st.sampled_from(list(Category)))
    def chooses_a_category(self, data: st.DataObject, presser: str, category: Category) -> None:
        draft_id = self._draft_id(data)
        result = self.run(
            complaints.choose_category(self.services, draft_id, self.staff[presser], category)
        )
        self._expect_refusal(result, self.drafts[draft_id], presser)

    @precondition(lambda self: bool(self.drafts))
    @rule(data=st.data(), presser=PRESSERS)
    def confirms(self, data: st.DataObject, presser: str) -> None:
        draft_id = self._draft_id(data)
        draft = self.drafts[draft_id]
        result = self.run(
            complaints.confirm_complaint(self.services, draft_id, self.staff[presser])
        )
        if not self._expect_refusal(result, draft, presser):
            draft.state = "open"

    @precondition(lambda self: bool(self.drafts))
    @rule(data=st.data(), presser=PRESSERS)
    def cancels(self, data: st.DataObject, presser: str) -> None:
        draft_id = self._draft_id(data)
        draft = self.drafts[draft_id]
        result = self.run(complaints.cancel_draft(self.services, draft_id, self.staff[presser]))
        if not self._expect_refusal(result, draft, presser):
            draft.state = "cancelled"

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def drafts_are_the_model(self) -> None:
        stored, highlights, events, routed_keys = self.run(self._read())
        status = {
            "draft": ComplaintStatus.DRAFT,
            "open": ComplaintStatus.OPEN,
            "cancelled": ComplaintStatus.WITHDRAWN,
            "highlighted": ComplaintStatus.WITHDRAWN,
        }
        assert {i: c.status for i, c in stored.items()} == {
            i: status[d.state] for i, d in self.drafts.items()
        }
        # One highlight per highlighted draft, of its text and reporter; no other.
        highlighted = {i: d for i, d in self.drafts.items() if d.state == "highlighted"}
        assert sorted(h.id or 0 for h in highlights) == sorted(
            d.highlight_id or 0 for d in highlighted.values()
        )
        for draft_id, draft in highlighted.items():
            (highlight,) = [h for h in highlights if h.id == draft.highlight_id]
            complaint = stored[draft_id]
            assert highlight.source is HighlightSource.PRAISE
            assert highlight.text == complaint.text
            assert highlight.author_id == complaint.reporter_id
            assert highlight.unit_id == (complaint.site_id or self.staff["C002"].unit_id)
            # Never routed: no handler, no routing event, no card queued.
            assert complaint.routed_at is None and complaint.handler_id is None
            assert "routed" not in [kind for kind, _ in events[draft_id]]
            assert events[draft_id][-1] == ("cancelled", f"highlight={highlight.id}")
            assert not any(key.startswith(f"complaint:{draft_id}:route") for key in routed_keys)

    async def _read(
        self,
    ) -> tuple[dict[int, Complaint], list[Highlight], dict[int, list[tuple[str, str]]], list[str]]:
        async with self.services.db.session() as session:
            stored = {
                c.id: c for c in (await session.exec(select(Complaint))).all() if c.id is not None
            }
            highlights = list((await session.exec(select(Highlight))).all())
            events: dict[int, list[tuple[str, str]]] = {}
            rows = await session.exec(select(ComplaintEvent).order_by(col(ComplaintEvent.id)))
            for event in rows.all():
                events.setdefault(event.complaint_id, []).append((event.kind, event.detail))
            keys = list((await session.exec(select(OutboxMessage.key))).all())
        return stored, highlights, events, keys


def run_machine(database_url: str, reader: ComplaintReader, examples: int) -> None:
    run_seeded(
        DraftMachine,
        examples=examples,
        steps=20,
        database_url=database_url,
        reader=reader,
    )


def test_drafts_hold_their_invariants(database_url: str, reader: ComplaintReader) -> None:
    run_machine(database_url, reader, examples=6)


@pytest.mark.slow
def test_drafts_hold_their_invariants_at_length(database_url: str, reader: ComplaintReader) -> None:
    run_machine(database_url, reader, examples=200)
