"""programs

SMK programs (kompetensi keahlian) with their own capacity; a choice of an SMK names its program; a school's
finding that a child does not meet a program's requirements, kept for the child and the program.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-05 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


WIDENED = (  # columns holding a program id, which now may end in `@<program>` (widening rewrites nothing)
    ("placements", "program"),
    ("program_outcomes", "program"),
    ("program_outcomes", "path"),
    ("publication_entries", "path"),
    ("reregistrations", "program"),
)


def upgrade() -> None:
    for table, column in WIDENED:
        op.alter_column(table, column, type_=sa.String(100), existing_type=sa.String(80))
    op.create_table(
        "programs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(10), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("requirements", postgresql.ARRAY(sa.String(40)), server_default="{}", nullable=False),
        sa.Column("partner", sa.String(200), nullable=True),
        sa.CheckConstraint("capacity >= 0", name=op.f("ck_programs_capacity_nonnegative")),
        sa.CheckConstraint("code ~ '^[A-Z0-9-]{1,10}$'", name=op.f("ck_programs_code_format")),
        sa.ForeignKeyConstraint(
            ["period_id"], ["periods.id"], name=op.f("fk_programs_period_id_periods"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_programs_school_id_schools"), ondelete="RESTRICT"
        ),
        sa.UniqueConstraint("period_id", "school_id", "code", name=op.f("uq_programs_period_id_school_id_code")),
    )
    op.create_index(op.f("ix_programs_period_id"), "programs", ["period_id"])
    op.add_column("choices", sa.Column("program_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("fk_choices_program_id_programs"), "choices", "programs", ["program_id"], ["id"], ondelete="RESTRICT"
    )
    op.create_index(
        op.f("ix_choices_program_id"), "choices", ["program_id"], postgresql_where=sa.text("program_id IS NOT NULL")
    )
    op.create_table(
        "program_findings",
        sa.Column("admission_id", sa.Integer(), primary_key=True),
        sa.Column("nik", sa.String(16), primary_key=True),
        sa.Column("school_id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(10), primary_key=True),
        sa.Column("unmet", postgresql.ARRAY(sa.String(40)), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("nik ~ '^[0-9]{16}$'", name=op.f("ck_program_findings_nik_format")),
        sa.ForeignKeyConstraint(
            ["admission_id"],
            ["periods.id"],
            name=op.f("fk_program_findings_admission_id_periods"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_program_findings_school_id_schools"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["users.id"], name=op.f("fk_program_findings_decided_by_users"), ondelete="SET NULL"
        ),
    )
    op.drop_constraint(op.f("uq_choices_application_id_school_id"), "choices", type_="unique")
    op.create_unique_constraint(
        op.f("uq_choices_application_id_school_id_program_id"),
        "choices",
        ["application_id", "school_id", "program_id"],
        postgresql_nulls_not_distinct=True,
    )


def downgrade() -> None:
    # Refuse rather than lose the programs families chose.
    op.execute("DO $$ BEGIN IF EXISTS (SELECT 1 FROM programs) THEN RAISE EXCEPTION 'programs exist'; END IF; END $$")
    op.drop_constraint(op.f("uq_choices_application_id_school_id_program_id"), "choices", type_="unique")
    op.create_unique_constraint(op.f("uq_choices_application_id_school_id"), "choices", ["application_id", "school_id"])
    op.drop_table("program_findings")
    op.drop_index(op.f("ix_choices_program_id"), table_name="choices")
    op.drop_constraint(op.f("fk_choices_program_id_programs"), "choices", type_="foreignkey")
    op.drop_column("choices", "program_id")
    op.drop_index(op.f("ix_programs_period_id"), table_name="programs")
    op.drop_table("programs")
    for table, column in WIDENED:
        op.alter_column(table, column, type_=sa.String(80), existing_type=sa.String(100))
