"""rapor sums

Each graduate's rapor sum and number of grades, kept by the database beside the rapor itself (generated
columns): an origin school's average is then a sum over its graduates' rows, not over every grade of them,
which each operator's applicant list asks for (the `rapor_jump` flag).

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-05 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GRADES = "FROM jsonb_each(rapor) AS s(subject, semesters), jsonb_each_text(s.semesters) AS g(semester, grade)"


def upgrade() -> None:
    for name, returns, over in (
        ("rapor_grades_sum", "numeric", "sum(grade::numeric)"),
        ("rapor_grades_count", "integer", "count(grade)::integer"),
    ):
        op.execute(
            f"CREATE FUNCTION {name}(rapor jsonb) RETURNS {returns} LANGUAGE sql IMMUTABLE PARALLEL SAFE "
            f"AS $$ SELECT coalesce({over}, 0) {GRADES} $$"
        )
    op.add_column(
        "graduates",
        sa.Column("rapor_sum", sa.Numeric(), sa.Computed("rapor_grades_sum(rapor)", persisted=True), nullable=False),
    )
    op.add_column(
        "graduates",
        sa.Column(
            "rapor_count", sa.Integer(), sa.Computed("rapor_grades_count(rapor)", persisted=True), nullable=False
        ),
    )


def downgrade() -> None:
    op.drop_column("graduates", "rapor_count")
    op.drop_column("graduates", "rapor_sum")
    op.execute("DROP FUNCTION rapor_grades_count(jsonb)")
    op.execute("DROP FUNCTION rapor_grades_sum(jsonb)")
