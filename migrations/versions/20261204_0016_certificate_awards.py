"""certificate awards

The points a destination school awards for an application's competition certificate, from the region's table.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "certificate_awards",
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("team", sa.Boolean(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("number", sa.String(100)),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("value", sa.Numeric(6, 2), nullable=False),
        sa.Column("entered_by", sa.Integer()),
        sa.Column("entered_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("application_id", name=op.f("pk_certificate_awards")),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_certificate_awards_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["entered_by"], ["users.id"], name=op.f("fk_certificate_awards_entered_by_users"), ondelete="SET NULL"
        ),
        sa.CheckConstraint("value >= 0 AND value <= 1000", name=op.f("ck_certificate_awards_value_range")),
        sa.CheckConstraint("rank >= 1", name=op.f("ck_certificate_awards_rank_positive")),
    )


def downgrade() -> None:
    op.drop_table("certificate_awards")
