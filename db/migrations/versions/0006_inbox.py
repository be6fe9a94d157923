"""inbox: updates stored before they are acknowledged, handled once each, in chat order

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 06:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = "done_at IS NULL"


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", db.types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("turn", sa.BigInteger(), nullable=False),
        sa.Column("done_at", db.types.AwareDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("update_id"),
    )
    op.create_index("ix_inbox_done_at", "inbox", ["done_at"], unique=False)
    op.create_index(
        "ix_inbox_pending",
        "inbox",
        ["chat_id", "update_id"],
        unique=False,
        postgresql_where=sa.text(PENDING),
        sqlite_where=sa.text(PENDING),
    )


def downgrade() -> None:
    op.drop_index("ix_inbox_pending", table_name="inbox")
    op.drop_index("ix_inbox_done_at", table_name="inbox")
    op.drop_table("inbox")
