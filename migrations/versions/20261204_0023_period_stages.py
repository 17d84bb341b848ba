"""period stages

An admission in stages (tahap): each stage is a period of its own, numbered, pointing at the first; one
period per region, school year, level and stage.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 09:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("periods", sa.Column("stage", sa.SmallInteger(), server_default="1", nullable=False))
    op.add_column("periods", sa.Column("first_period_id", sa.Integer()))
    op.create_foreign_key(
        op.f("fk_periods_first_period_id_periods"),
        "periods",
        "periods",
        ["first_period_id"],
        ["id"],
        ondelete="RESTRICT",
    )
    op.drop_constraint("uq_periods_region_id_school_year_level", "periods", type_="unique")
    op.create_unique_constraint(
        op.f("uq_periods_region_id_school_year_level_stage"), "periods", ["region_id", "school_year", "level", "stage"]
    )


def downgrade() -> None:
    op.drop_constraint(op.f("uq_periods_region_id_school_year_level_stage"), "periods", type_="unique")
    op.execute("DELETE FROM periods WHERE stage > 1")
    op.create_unique_constraint(
        "uq_periods_region_id_school_year_level", "periods", ["region_id", "school_year", "level"]
    )
    op.drop_constraint(op.f("fk_periods_first_period_id_periods"), "periods", type_="foreignkey")
    op.drop_column("periods", "first_period_id")
    op.drop_column("periods", "stage")
