"""pins

A PIN per child (NIK) and period, issued by the Dinas or a school; only its digest is kept.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pins",
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("nik", sa.String(16), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("issued_by", sa.Integer()),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.SmallInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("period_id", "nik", name=op.f("pk_pins")),
        sa.ForeignKeyConstraint(
            ["period_id"], ["periods.id"], name=op.f("fk_pins_period_id_periods"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["issued_by"], ["users.id"], name=op.f("fk_pins_issued_by_users"), ondelete="SET NULL"),
        sa.CheckConstraint("nik ~ '^[0-9]{16}$'", name=op.f("ck_pins_nik_format")),
    )


def downgrade() -> None:
    op.drop_table("pins")
