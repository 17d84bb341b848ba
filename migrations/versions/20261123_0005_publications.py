"""publications

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 11:52:56.088785
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "publications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column(
            "published_at", sa.DateTime(timezone=True), server_default=sa.text("clock_timestamp()"), nullable=False
        ),
        sa.Column("published_by", sa.Integer(), nullable=False),
        sa.Column("snapshot", sa.LargeBinary(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["period_id"], ["periods.id"], name=op.f("fk_publications_period_id_periods")),
        sa.ForeignKeyConstraint(["published_by"], ["users.id"], name=op.f("fk_publications_published_by_users")),
        sa.ForeignKeyConstraint(["run_id"], ["selection_runs.id"], name=op.f("fk_publications_run_id_selection_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publications")),
        sa.UniqueConstraint("period_id", "version", name=op.f("uq_publications_period_id_version")),
    )
    op.create_index(op.f("ix_publications_period_id"), "publications", ["period_id"], unique=False)
    op.create_table(
        "publication_entries",
        sa.Column("publication_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("registration_number", sa.String(length=24), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("npsn", sa.String(length=8), nullable=True),
        sa.Column("path", sa.String(length=80), nullable=True),
        sa.Column("choice_rank", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"], ["applications.id"], name=op.f("fk_publication_entries_application_id_applications")
        ),
        sa.ForeignKeyConstraint(
            ["publication_id"], ["publications.id"], name=op.f("fk_publication_entries_publication_id_publications")
        ),
        sa.PrimaryKeyConstraint("publication_id", "application_id", name=op.f("pk_publication_entries")),
    )
    op.create_index(
        op.f("ix_publication_entries_registration_number"), "publication_entries", ["registration_number"], unique=False
    )

    # Publications are immutable: a correction is a new version, never an edit (same function as the audit log).
    for table in ("publications", "publication_entries"):
        op.execute(
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
        )


def downgrade() -> None:
    for table in ("publications", "publication_entries"):
        op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        op.execute(f"DROP TRIGGER {table}_immutable ON {table}")
    op.drop_index(op.f("ix_publication_entries_registration_number"), table_name="publication_entries")
    op.drop_table("publication_entries")
    op.drop_index(op.f("ix_publications_period_id"), table_name="publications")
    op.drop_table("publications")
