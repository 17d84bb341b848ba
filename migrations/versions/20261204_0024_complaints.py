"""complaints

Complaints (pengaduan, sanggah) with each step of their handling, their evidence files, and the corrections an
upheld one leads to (taken in by a correction run).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 12:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

category = postgresql.ENUM(
    "registration", "verification", "result", "fraud", name="complaint_category", create_type=False
)
status = postgresql.ENUM("received", "in_review", "upheld", "rejected", name="complaint_status", create_type=False)


def upgrade() -> None:
    category.create(op.get_bind())
    status.create(op.get_bind())
    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("number", sa.String(16), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("category", category, nullable=False),
        sa.Column("status", status, nullable=False),
        sa.Column("application_id", sa.Integer()),
        sa.Column("school_id", sa.Integer()),
        sa.Column("filed_by", sa.Integer()),
        sa.Column("code_sha256", sa.String(64)),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("text", sa.String(2000), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "filed_by IS NOT NULL OR category = 'fraud'", name=op.f("ck_complaints_only_fraud_anonymous")
        ),
        sa.CheckConstraint(
            "filed_by IS NOT NULL OR code_sha256 IS NOT NULL", name=op.f("ck_complaints_anonymous_have_code")
        ),
        sa.ForeignKeyConstraint(["period_id"], ["periods.id"], name=op.f("fk_complaints_period_id_periods")),
        sa.ForeignKeyConstraint(
            ["application_id"], ["applications.id"], name=op.f("fk_complaints_application_id_applications")
        ),
        sa.ForeignKeyConstraint(["school_id"], ["schools.id"], name=op.f("fk_complaints_school_id_schools")),
        sa.ForeignKeyConstraint(["filed_by"], ["users.id"], name=op.f("fk_complaints_filed_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
        sa.UniqueConstraint("number", name=op.f("uq_complaints_number")),
    )
    op.create_index("ix_complaints_period_status", "complaints", ["period_id", "status"])
    op.create_index("ix_complaints_address_filed_at", "complaints", ["address", "filed_at"])
    op.create_index(op.f("ix_complaints_application_id"), "complaints", ["application_id"])
    op.create_index(op.f("ix_complaints_school_id"), "complaints", ["school_id"])
    op.create_index(op.f("ix_complaints_filed_by"), "complaints", ["filed_by"])

    op.create_table(
        "complaint_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("status", status, nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("reason", sa.String(1000)),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.clock_timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaints.id"],
            name=op.f("fk_complaint_events_complaint_id_complaints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_events")),
    )
    op.create_index(op.f("ix_complaint_events_complaint_id"), "complaint_events", ["complaint_id"])

    op.create_table(
        "complaint_files",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(40), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("storage_name", sa.String(80), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaints.id"],
            name=op.f("fk_complaint_files_complaint_id_complaints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_files")),
    )
    op.create_index(op.f("ix_complaint_files_complaint_id"), "complaint_files", ["complaint_id"])

    op.create_table(
        "complaint_corrections",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.clock_timestamp(), nullable=False),
        sa.Column("run_id", sa.Integer()),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_complaint_corrections_complaint_id_complaints")
        ),
        sa.ForeignKeyConstraint(
            ["application_id"], ["applications.id"], name=op.f("fk_complaint_corrections_application_id_applications")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["selection_runs.id"], name=op.f("fk_complaint_corrections_run_id_selection_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_corrections")),
    )
    op.create_index(
        "ix_complaint_corrections_pending",
        "complaint_corrections",
        ["complaint_id"],
        postgresql_where=sa.text("run_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("complaint_corrections")
    op.drop_table("complaint_files")
    op.drop_table("complaint_events")
    op.drop_table("complaints")
    status.drop(op.get_bind())
    category.drop(op.get_bind())
