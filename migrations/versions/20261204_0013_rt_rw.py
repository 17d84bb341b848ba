"""rt rw

A child's RT and RW beside the kelurahan, and zone entries that name an RW (or one RT of it) inside a
kelurahan, so a region can rank by domicile tier down to the neighbourhood (Kota Tangerang: same RT, same
RW, surrounding RT/RW, same zone, outside). An entry is unique per school and area, RW and RT included.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("applicants", "zone_entries"):
        op.add_column(table, sa.Column("rw", sa.SmallInteger(), nullable=True))
        op.add_column(table, sa.Column("rt", sa.SmallInteger(), nullable=True))
        op.create_check_constraint(
            op.f(f"ck_{table}_rt_rw_range"), table, "rw BETWEEN 1 AND 999 AND rt BETWEEN 1 AND 999"
        )
    op.create_check_constraint(
        op.f("ck_zone_entries_rt_within_rw"),
        "zone_entries",
        "(rt IS NULL OR rw IS NOT NULL) AND (rw IS NULL OR kelurahan_code IS NOT NULL)",
    )
    op.drop_constraint(op.f("uq_zone_entries_period_id_school_id_kelurahan_code"), "zone_entries", type_="unique")
    op.create_unique_constraint(
        op.f("uq_zone_entries_period_id_school_id_kelurahan_code_rw_rt"),
        "zone_entries",
        ["period_id", "school_id", "kelurahan_code", "rw", "rt"],
        postgresql_nulls_not_distinct=True,
    )


def downgrade() -> None:
    op.drop_constraint(op.f("uq_zone_entries_period_id_school_id_kelurahan_code_rw_rt"), "zone_entries", type_="unique")
    op.execute("DELETE FROM zone_entries WHERE rw IS NOT NULL")
    op.create_unique_constraint(
        op.f("uq_zone_entries_period_id_school_id_kelurahan_code"),
        "zone_entries",
        ["period_id", "school_id", "kelurahan_code"],
    )
    op.drop_constraint(op.f("ck_zone_entries_rt_within_rw"), "zone_entries", type_="check")
    for table in ("applicants", "zone_entries"):
        op.drop_constraint(op.f(f"ck_{table}_rt_rw_range"), table, type_="check")
        op.drop_column(table, "rt")
        op.drop_column(table, "rw")
