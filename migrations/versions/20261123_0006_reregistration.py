"""reregistration

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 11:55:45.168038
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reregistrations",
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("publication_id", sa.Integer(), nullable=False),
        sa.Column("program", sa.String(length=80), nullable=False),
        sa.Column(
            "decision", sa.Enum("confirmed", "declined", "released", name="reregistration_decision"), nullable=False
        ),
        sa.Column(
            "decided_at", sa.DateTime(timezone=True), server_default=sa.text("clock_timestamp()"), nullable=False
        ),
        sa.Column("decided_by", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"], ["applications.id"], name=op.f("fk_reregistrations_application_id_applications")
        ),
        sa.ForeignKeyConstraint(["period_id"], ["periods.id"], name=op.f("fk_reregistrations_period_id_periods")),
        sa.ForeignKeyConstraint(
            ["publication_id"], ["publications.id"], name=op.f("fk_reregistrations_publication_id_publications")
        ),
        sa.PrimaryKeyConstraint("period_id", "application_id", name=op.f("pk_reregistrations")),
    )
    op.add_column("periods", sa.Column("reregistration_closes_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("selection_runs", sa.Column("round", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    op.drop_column("selection_runs", "round")
    op.drop_column("periods", "reregistration_closes_at")
    op.drop_table("reregistrations")
    op.execute("DROP TYPE reregistration_decision")
