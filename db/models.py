"""Tables. Every change here ships with an alembic migration under db/migrations/."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Index, LargeBinary, Text, text
from sqlmodel import Field, SQLModel

from db.types import AwareDateTime, enum_type
from scheduler.complaint_lifecycle import State
from scheduler.org import Area, Department, Level, Role, SiteKind

# A complaint's status is a state of the lifecycle (scheduler/complaint_lifecycle.py).
ComplaintStatus = State


class HighlightSource(StrEnum):
    PRAISE = "praise"  # a reported text the reader recognised as praise
    COMMAND = "command"  # written with /highlight


class Unit(SQLModel, table=True):
    """A node of the organisation: region, city branch, county bureau or site."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=100)
    level: Level = Field(sa_type=enum_type(Level))
    parent_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    site_kind: SiteKind | None = Field(default=None, sa_type=enum_type(SiteKind))
    area: Area | None = Field(default=None, sa_type=enum_type(Area))
    # Sites: when they open, as imported (ISO weekdays "123456"; None: the configuration's
    # default for the kind), and whether they also open on official holidays.
    open_days: str | None = Field(default=None, max_length=7)
    open_on_holidays: bool | None = None
    # Mail items handled in a month (any unit, optional): the 通报 ranks per 10,000 items.
    volume: int | None = None


class Segment(SQLModel, table=True):
    """A delivery segment (道段) of a delivery station, e.g. 东2段."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=100)
    site_id: int = Field(foreign_key="unit.id", index=True)


class TransferPoint(SQLModel, table=True):
    """A mail transfer point (单位收发室, 物业, 村邮站) served by a site."""

    __tablename__ = "transfer_point"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=100)
    site_id: int = Field(foreign_key="unit.id", index=True)


class Staff(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)  # 工号, the key of re-imports
    name: str = Field(max_length=50)
    role: Role = Field(sa_type=enum_type(Role))
    unit_id: int = Field(foreign_key="unit.id", index=True)
    department: Department | None = Field(default=None, sa_type=enum_type(Department))
    phone: str | None = Field(default=None, max_length=32)
    # The catalog duties held (comma-separated ids): which checks the person gets.
    duties: str = Field(default="", max_length=500)
    telegram_user_id: int | None = Field(default=None, unique=True, sa_type=BigInteger)
    registered_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    # Set when Telegram answers 403: the person blocked the bot; their manager is told once.
    blocked_bot_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    # Set by offboarding: no checks, routing or alerts any more; an invite brings them back.
    left_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class InviteCode(SQLModel, table=True):
    """A one-time registration code; the deep link t.me/<bot>?start=<code> carries it."""

    __tablename__ = "invite_code"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    created_at: datetime = Field(sa_type=AwareDateTime)
    expires_at: datetime = Field(sa_type=AwareDateTime)
    used_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class OutboxMessage(SQLModel, table=True):
    """A message the bot sends on its own initiative, written in the same transaction as the
    state change that causes it; the sender delivers it and marks it sent exactly once."""

    __tablename__ = "outbox"
    # The sender's scan: only undelivered rows, oldest first, however long the history.
    __table_args__ = (
        Index(
            "ix_outbox_pending",
            "id",
            postgresql_where=text("sent_at IS NULL AND failed_at IS NULL"),
            sqlite_where=text("sent_at IS NULL AND failed_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    chat_id: int = Field(sa_type=BigInteger, index=True)
    text: str = Field(sa_type=Text)
    buttons: str | None = Field(default=None, sa_type=Text)  # JSON: rows of [text, data]
    photo: bytes | None = Field(default=None, sa_type=LargeBinary)
    # Telegram file ids of photos to send (one: sendPhoto, several: sendMediaGroup).
    photo_file_ids: str | None = Field(default=None, sa_type=Text)  # JSON list
    document: bytes | None = Field(default=None, sa_type=LargeBinary)
    document_name: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(sa_type=AwareDateTime)
    attempts: int = 0
    # The sender instance delivering it (see db/outbox.py); a crashed one's claims are free.
    claimed_by: int | None = None
    sent_at: datetime | None = Field(default=None, sa_type=AwareDateTime, index=True)
    failed_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    last_error: str | None = Field(default=None, sa_type=Text)
    telegram_message_id: int | None = None


class InboxUpdate(SQLModel, table=True):
    """An update from Telegram, stored before it is acknowledged (the twin of the outbox):
    a worker handles it and marks it done in the handler's own transaction (db/inbox.py)."""

    __tablename__ = "inbox"
    __table_args__ = (
        # A chat's pending updates in order: its head is the one a worker may take.
        Index(
            "ix_inbox_pending",
            "chat_id",
            "update_id",
            postgresql_where=text("done_at IS NULL"),
            sqlite_where=text("done_at IS NULL"),
        ),
    )

    update_id: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    chat_id: int = Field(sa_type=BigInteger)
    payload: str = Field(sa_type=Text)  # the update's JSON, as Telegram sent it
    received_at: datetime = Field(sa_type=AwareDateTime)
    # Which chat's head goes next: heads wait in turn order, and a chat's next update takes
    # its turn behind everyone already waiting, so a flooding chat delays nobody else.
    turn: int = Field(sa_type=BigInteger)
    done_at: datetime | None = Field(default=None, sa_type=AwareDateTime, index=True)
    error: str | None = Field(default=None, sa_type=Text)  # the handler failed: why


class JobRun(SQLModel, table=True):
    """A once-only piece of scheduled work (e.g. the morning push of one day), claimed by the
    first instance that inserts its key."""

    __tablename__ = "job_run"

    key: str = Field(max_length=100, primary_key=True)
    started_at: datetime = Field(sa_type=AwareDateTime)


class SendBudget(SQLModel, table=True):
    """One row per running instance (PostgreSQL): how many messages a second it would send,
    from which each instance works out its part of Telegram's overall limit (bot/budget.py).
    Times are the database's clock, so instances on several hosts agree on who is alive."""

    __tablename__ = "send_budget"

    instance: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    seen_at: datetime = Field(sa_type=AwareDateTime)
    demand: float


class ChatState(SQLModel, table=True):
    """What a person's next message answers (a check question, a complaint reply …), kept in
    the database so that a restart or a second instance resumes the same conversation."""

    __tablename__ = "chat_state"

    staff_id: int = Field(foreign_key="staff.id", primary_key=True)
    flow: str = Field(max_length=40)
    ref_id: int | None = None
    data: str | None = Field(default=None, max_length=200)
    updated_at: datetime = Field(sa_type=AwareDateTime)


class Complaint(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    reporter_id: int = Field(foreign_key="staff.id", index=True)
    text: str = Field(sa_type=Text)
    photo_file_id: str | None = Field(default=None, max_length=200)
    # Written only by db/complaints.py (the lifecycle's transitions).
    status: ComplaintStatus = Field(
        default=State.DRAFT, sa_type=enum_type(ComplaintStatus), index=True
    )
    category: str = Field(max_length=20)
    categories: str = Field(max_length=200)  # comma-separated codes, primary first
    confidence: float
    site_id: int | None = Field(default=None, foreign_key="unit.id")
    segment_id: int | None = Field(default=None, foreign_key="segment.id")
    transfer_point_id: int | None = Field(default=None, foreign_key="transfer_point.id")
    tracking_numbers: str = Field(default="", max_length=500)  # comma-separated
    phones: str = Field(default="", max_length=500)  # comma-separated, unmasked: handlers call back
    urgent: bool = False
    urgency_cues: str = Field(default="", max_length=200)
    department: Department | None = Field(default=None, sa_type=enum_type(Department))
    handler_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    # Where the handler sits when routed: the escalation chain and /overdue scopes start here.
    handler_unit_id: int | None = Field(default=None, foreign_key="unit.id")
    # Who must act now: the handler, a manager who claimed it, or (no handler) a manager.
    owner_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    claimed_by: int | None = Field(default=None, foreign_key="staff.id")
    reopened: int = 0  # times a dissatisfied reporter reopened it
    channel: str = Field(default="window", max_length=12)  # nlp.channels.Channel
    # An earlier complaint about the same tracking number or customer phone (30 days).
    repeat_of_id: int | None = Field(default=None, foreign_key="complaint.id")
    justified: bool | None = None  # 有理 / 无理, recorded by whoever answered
    satisfaction: str | None = Field(default=None, max_length=12)  # satisfied / dissatisfied
    created_at: datetime = Field(sa_type=AwareDateTime)
    routed_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    deadline: datetime | None = Field(default=None, sa_type=AwareDateTime)
    escalation_level: int = 0
    next_escalation_at: datetime | None = Field(default=None, sa_type=AwareDateTime, index=True)
    answered_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    answered_by: int | None = Field(default=None, foreign_key="staff.id")
    answer: str | None = Field(default=None, sa_type=Text)


class ComplaintPhoto(SQLModel, table=True):
    """A photo of a complaint, in the order sent. An album arrives as one message per photo
    with a shared media_group_id, its caption on any one of them: photos that arrive before
    the captioned one wait here without a complaint, then join it."""

    __tablename__ = "complaint_photo"

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int | None = Field(default=None, foreign_key="complaint.id", index=True)
    reporter_id: int = Field(foreign_key="staff.id")
    file_id: str = Field(max_length=200)
    media_group_id: str | None = Field(default=None, max_length=64, index=True)
    added_at: datetime = Field(sa_type=AwareDateTime)


class DetailKind(StrEnum):
    DETAILS = "details"  # 补充说明 after a return
    DISSATISFIED = "dissatisfied"  # why the reporter was not satisfied with the answer


class ComplaintDetail(SQLModel, table=True):
    """What the reporter added to a complaint after it was returned (补充说明), or why they
    were not satisfied with the answer."""

    __tablename__ = "complaint_detail"

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    staff_id: int = Field(foreign_key="staff.id")
    kind: DetailKind = Field(default=DetailKind.DETAILS, sa_type=enum_type(DetailKind))
    text: str = Field(sa_type=Text)
    added_at: datetime = Field(sa_type=AwareDateTime)


class ComplaintEvent(SQLModel, table=True):
    """The history of a complaint: created, routed, re-routed, escalated, claimed, answered."""

    __tablename__ = "complaint_event"

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    kind: str = Field(max_length=20)
    actor_id: int | None = Field(default=None, foreign_key="staff.id")
    detail: str = Field(default="", sa_type=Text)
    at: datetime = Field(sa_type=AwareDateTime)


class Highlight(SQLModel, table=True):
    """亮点: good service recorded for a unit (a customer's praise, an inspector's note); the
    monthly scorecard counts them."""

    # The scorecard counts a scope's highlights in a month.
    __table_args__ = (Index("ix_highlight_unit_created", "unit_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id")
    author_id: int = Field(foreign_key="staff.id", index=True)
    text: str = Field(sa_type=Text)
    photo_file_id: str | None = Field(default=None, max_length=200)
    source: HighlightSource = Field(sa_type=enum_type(HighlightSource))
    created_at: datetime = Field(sa_type=AwareDateTime)


class LabelledExample(SQLModel, table=True):
    """A complaint text whose category a reporter chose: more training data for the classifier."""

    __tablename__ = "labelled_example"

    id: int | None = Field(default=None, primary_key=True)
    text: str = Field(sa_type=Text)
    category: str = Field(max_length=20)
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    created_at: datetime = Field(sa_type=AwareDateTime)


class OrgImport(SQLModel, table=True):
    """One row per successful organisation import: a running bot reloads names when it sees
    a newer one (the import may run in another process)."""

    __tablename__ = "org_import"

    id: int | None = Field(default=None, primary_key=True)
    imported_at: datetime = Field(sa_type=AwareDateTime)


class AssignmentStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    MISSED = "missed"


class Assignment(SQLModel, table=True):
    """One check an inspector must do on one day; its answers so far live here too, so a
    half-answered check survives restarts."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)  # the planner's key: planning twice is a no-op
    day: date = Field(index=True)
    item_id: str = Field(max_length=80)
    inspector_id: int = Field(foreign_key="staff.id", index=True)
    unit_id: int = Field(foreign_key="unit.id")
    target_site_id: int | None = Field(default=None, foreign_key="unit.id")
    transfer_point_ids: str = Field(default="", max_length=500)  # comma-separated
    status: AssignmentStatus = Field(sa_type=enum_type(AssignmentStatus), index=True)
    is_recheck: bool = False  # 复查 of a finding; its corrective action points here
    answers: str = Field(default="{}", sa_type=Text)  # JSON: question id → value (null = skipped)
    started_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class Finding(SQLModel, table=True):
    """A problem found during a check (问题)."""

    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="assignment.id", index=True)
    item_id: str = Field(max_length=80)
    site_id: int | None = Field(default=None, foreign_key="unit.id")
    question_id: str = Field(max_length=80)
    description: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(sa_type=AwareDateTime)


class CorrectiveAction(SQLModel, table=True):
    """整改: who must fix a finding by when; a re-check (复查) follows the deadline."""

    __tablename__ = "corrective_action"

    id: int | None = Field(default=None, primary_key=True)
    finding_id: int = Field(foreign_key="finding.id", unique=True)
    owner_id: int | None = Field(default=None, foreign_key="staff.id")
    deadline: datetime = Field(sa_type=AwareDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    recheck_assignment_id: int | None = Field(default=None, foreign_key="assignment.id")
