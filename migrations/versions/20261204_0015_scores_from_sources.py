"""scores from their sources

Graduates with their rapor (entered by the origin school), test results and school indexes (imported by
the Dinas). The parent-typed `applications.score` goes: a path that ranks by score gets a score rule, the
national default (rapor average of semesters 1–5) in rule sets stored before.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 04:00:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RAPOR_ONLY = {"components": [{"name": "rapor", "source": "rapor", "weight": 100.0, "semesters": [1, 2, 3, 4, 5]}]}


def upgrade() -> None:
    op.create_table(
        "graduates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("nik", sa.String(16), nullable=False),
        sa.Column("nisn", sa.String(10), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("origin_npsn", sa.String(8), nullable=False),
        sa.Column("rapor", postgresql.JSONB(), nullable=False),
        sa.Column("entered_by", sa.Integer()),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_graduates")),
        sa.ForeignKeyConstraint(
            ["period_id"], ["periods.id"], name=op.f("fk_graduates_period_id_periods"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["entered_by"], ["users.id"], name=op.f("fk_graduates_entered_by_users"), ondelete="SET NULL"
        ),
        sa.UniqueConstraint("period_id", "nik", name=op.f("uq_graduates_period_id_nik")),
        sa.UniqueConstraint("period_id", "nisn", name=op.f("uq_graduates_period_id_nisn")),
        sa.CheckConstraint("nik ~ '^[0-9]{16}$' AND nisn ~ '^[0-9]{10}$'", name=op.f("ck_graduates_identity_numbers")),
    )
    op.create_index(op.f("ix_graduates_origin_npsn"), "graduates", ["origin_npsn"])
    op.create_table(
        "test_results",
        sa.Column("graduate_id", sa.Integer(), nullable=False),
        sa.Column("component", sa.String(30), nullable=False),
        sa.Column("value", sa.Numeric(6, 2), nullable=False),
        sa.Column("entered_by", sa.Integer()),
        sa.Column("entered_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("graduate_id", "component", name=op.f("pk_test_results")),
        sa.ForeignKeyConstraint(
            ["graduate_id"], ["graduates.id"], name=op.f("fk_test_results_graduate_id_graduates"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["entered_by"], ["users.id"], name=op.f("fk_test_results_entered_by_users"), ondelete="SET NULL"
        ),
        sa.CheckConstraint("value >= 0 AND value <= 1000", name=op.f("ck_test_results_value_range")),
    )
    op.create_table(
        "school_indexes",
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("npsn", sa.String(8), nullable=False),
        sa.Column("value", sa.Numeric(6, 2), nullable=False),
        sa.Column("entered_by", sa.Integer()),
        sa.Column("entered_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("period_id", "npsn", name=op.f("pk_school_indexes")),
        sa.ForeignKeyConstraint(
            ["period_id"], ["periods.id"], name=op.f("fk_school_indexes_period_id_periods"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["entered_by"], ["users.id"], name=op.f("fk_school_indexes_entered_by_users"), ondelete="SET NULL"
        ),
        sa.CheckConstraint("value >= 0 AND value <= 1000", name=op.f("ck_school_indexes_value_range")),
    )
    op.drop_column("applications", "score")
    periods = op.get_bind().execute(sa.text("SELECT id, rules FROM periods")).all()
    for period_id, rules in periods:
        for path in rules["paths"]:
            if "score" in path["keys"] and not path.get("score"):
                path["score"] = RAPOR_ONLY
        op.get_bind().execute(
            sa.text("UPDATE periods SET rules = CAST(:rules AS jsonb) WHERE id = :id"),
            {"rules": json.dumps(rules), "id": period_id},
        )


def downgrade() -> None:
    op.add_column("applications", sa.Column("score", sa.Numeric(7, 2)))
    op.create_check_constraint(
        op.f("ck_applications_score_range"), "applications", "score IS NULL OR (score >= 0 AND score <= 1000)"
    )
    op.execute(
        "UPDATE periods SET rules = jsonb_set(rules, '{paths}', (SELECT jsonb_agg(p - 'score') FROM jsonb_array_elements(rules->'paths') p))"
    )
    op.drop_table("school_indexes")
    op.drop_table("test_results")
    op.drop_index(op.f("ix_graduates_origin_npsn"), "graduates")
    op.drop_table("graduates")
