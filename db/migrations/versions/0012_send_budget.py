"""send_budget: each instance's demand, to share Telegram's overall limit (PostgreSQL)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 03:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "send_budget",
        sa.Column("instance", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("seen_at", db.types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("demand", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("instance"),
    )


def downgrade() -> None:
    op.drop_table("send_budget")
