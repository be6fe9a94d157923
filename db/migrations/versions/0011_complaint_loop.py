"""complaints: channel, repeat link, 有理/无理, satisfaction; kinds of added details;
photos of a complaint (albums too); outbox messages of photos by file id

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 07:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("channel", sa.String(length=12), nullable=False, server_default="window")
        )
        batch_op.add_column(sa.Column("repeat_of_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("justified", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("satisfaction", sa.String(length=12), nullable=True))
        batch_op.create_foreign_key(
            "fk_complaint_repeat_of_id_complaint", "complaint", ["repeat_of_id"], ["id"]
        )
    with op.batch_alter_table("complaint_detail", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "kind",
                sa.Enum("details", "dissatisfied", name="detailkind", native_enum=False, length=12),
                nullable=False,
                server_default="details",
            )
        )
    op.create_table(
        "complaint_photo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=True),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.String(length=200), nullable=False),
        sa.Column("media_group_id", sa.String(length=64), nullable=True),
        sa.Column("added_at", db.types.AwareDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaint.id"]),
        sa.ForeignKeyConstraint(["reporter_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("complaint_photo", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_complaint_photo_complaint_id"), ["complaint_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_complaint_photo_media_group_id"), ["media_group_id"], unique=False
        )
    # Photos stored with complaints so far become their first photo.
    op.execute(
        "INSERT INTO complaint_photo (complaint_id, reporter_id, file_id, added_at) "
        "SELECT id, reporter_id, photo_file_id, created_at FROM complaint "
        "WHERE photo_file_id IS NOT NULL"
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("photo_file_ids", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("photo_file_ids")
    with op.batch_alter_table("complaint_photo", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_photo_media_group_id"))
        batch_op.drop_index(batch_op.f("ix_complaint_photo_complaint_id"))
    op.drop_table("complaint_photo")
    with op.batch_alter_table("complaint_detail", schema=None) as batch_op:
        batch_op.drop_column("kind")
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_constraint("fk_complaint_repeat_of_id_complaint", type_="foreignkey")
        batch_op.drop_column("satisfaction")
        batch_op.drop_column("justified")
        batch_op.drop_column("repeat_of_id")
        batch_op.drop_column("channel")
