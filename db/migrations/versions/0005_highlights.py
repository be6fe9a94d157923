"""highlight: 亮点 recorded for a unit (praise, /highlight)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 06:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import db.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "highlight",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("photo_file_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column(
            "source",
            sa.Enum("praise", "command", name="highlightsource", native_enum=False, length=7),
            nullable=False,
        ),
        sa.Column("created_at", db.types.AwareDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["staff.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("highlight", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_highlight_author_id"), ["author_id"], unique=False)
        batch_op.create_index("ix_highlight_unit_created", ["unit_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("highlight", schema=None) as batch_op:
        batch_op.drop_index("ix_highlight_unit_created")
        batch_op.drop_index(batch_op.f("ix_highlight_author_id"))
    op.drop_table("highlight")
