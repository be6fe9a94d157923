"""unit.open_days, unit.open_on_holidays: when a site opens (daily checks follow it);
unit.volume: items handled a month (the 通报 ranks per 10,000 items)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 07:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("open_days", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=True)
        )
        batch_op.add_column(sa.Column("open_on_holidays", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("volume", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.drop_column("volume")
        batch_op.drop_column("open_on_holidays")
        batch_op.drop_column("open_days")
