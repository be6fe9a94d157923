"""complaint lifecycle: owner, claimer, reopen count, added details; returned and
withdrawn states

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 07:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reopened", sa.Integer(), nullable=False, server_default="0"))
        batch_op.create_foreign_key("fk_complaint_owner_id_staff", "staff", ["owner_id"], ["id"])
        batch_op.create_foreign_key(
            "fk_complaint_claimed_by_staff", "staff", ["claimed_by"], ["id"]
        )
        batch_op.create_index(batch_op.f("ix_complaint_owner_id"), ["owner_id"], unique=False)
    op.create_table(
        "complaint_detail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("added_at", db.types.AwareDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaint.id"]),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("complaint_detail", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_complaint_detail_complaint_id"), ["complaint_id"], unique=False
        )
    # The lifecycle's states for rows written before it: a cancelled draft is withdrawn; a
    # draft with a deadline was returned (it escalates again from its deadline); whoever
    # handles an open complaint owns it; a complaint past the top of its chain is reminded.
    op.execute("UPDATE complaint SET status = 'withdrawn' WHERE status = 'cancelled'")
    op.execute(
        "UPDATE complaint SET status = 'returned', next_escalation_at = deadline "
        "WHERE status = 'draft' AND deadline IS NOT NULL"
    )
    op.execute("UPDATE complaint SET owner_id = handler_id WHERE status IN ('open', 'returned')")
    op.execute(
        "UPDATE complaint SET next_escalation_at = deadline "
        "WHERE status = 'open' AND next_escalation_at IS NULL"
    )


def downgrade() -> None:
    op.execute("UPDATE complaint SET status = 'cancelled' WHERE status = 'withdrawn'")
    op.execute("UPDATE complaint SET status = 'draft' WHERE status = 'returned'")
    op.execute("UPDATE complaint SET status = 'open' WHERE status IN ('claimed', 'reopened')")
    op.execute("UPDATE complaint SET status = 'answered' WHERE status = 'closed'")
    with op.batch_alter_table("complaint_detail", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_detail_complaint_id"))
    op.drop_table("complaint_detail")
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_owner_id"))
        batch_op.drop_constraint("fk_complaint_claimed_by_staff", type_="foreignkey")
        batch_op.drop_constraint("fk_complaint_owner_id_staff", type_="foreignkey")
        batch_op.drop_column("reopened")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("owner_id")
