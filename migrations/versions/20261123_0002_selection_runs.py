"""selection runs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 11:13:39.754942
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "selection_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum("official", "provisional", name="run_kind"), nullable=False),
        sa.Column(
            "started_at", sa.DateTime(timezone=True), server_default=sa.text("clock_timestamp()"), nullable=False
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mechanism", sa.String(length=40), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("instance", sa.LargeBinary(), nullable=False),
        sa.Column("instance_sha256", sa.String(length=64), nullable=False),
        sa.Column("applicants", sa.Integer(), nullable=False),
        sa.Column("placed", sa.Integer(), nullable=False),
        sa.Column("seconds", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(["period_id"], ["periods.id"], name=op.f("fk_selection_runs_period_id_periods")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_selection_runs")),
    )
    op.create_index("ix_selection_runs_period_kind", "selection_runs", ["period_id", "kind", "id"], unique=False)
    op.create_table(
        "program_outcomes",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("program", sa.String(length=80), nullable=False),
        sa.Column("school_npsn", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=80), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("final_capacity", sa.Integer(), nullable=False),
        sa.Column("filled", sa.Integer(), nullable=False),
        sa.Column("cutoff", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "key_names", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["selection_runs.id"],
            name=op.f("fk_program_outcomes_run_id_selection_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "program", name=op.f("pk_program_outcomes")),
    )
    op.create_table(
        "placements",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("opaque_id", sa.String(length=40), nullable=False),
        sa.Column("program", sa.String(length=80), nullable=True),
        sa.Column("choice_rank", sa.Integer(), nullable=True),
        sa.Column("keys", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_placements_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["selection_runs.id"], name=op.f("fk_placements_run_id_selection_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "application_id", name=op.f("pk_placements")),
    )
    op.create_index("ix_placements_run_program", "placements", ["run_id", "program"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_placements_run_program", table_name="placements")
    op.drop_table("placements")
    op.drop_table("program_outcomes")
    op.drop_index("ix_selection_runs_period_kind", table_name="selection_runs")
    op.drop_table("selection_runs")
    op.execute("DROP TYPE run_kind")
