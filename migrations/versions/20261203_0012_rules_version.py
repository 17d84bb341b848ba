"""rules version

A period's rule set gets a version of its own (1 for the preset's rules, one more with each change), and each
selection run records the version it used, so a published result can be traced to the rules it was run on.
`periods.version` stays the optimistic lock of the whole row.

Existing rows are numbered from the audit log, which has recorded every rules change (`period.rules`) since
the first migration: a period's version is one more than its changes, a run's one more than the changes
recorded before it started.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("periods", sa.Column("rules_version", sa.Integer(), server_default="1", nullable=False))
    op.add_column("selection_runs", sa.Column("rules_version", sa.Integer(), nullable=True))
    op.execute(
        """
        UPDATE periods p SET rules_version = 1 + (
            SELECT count(*) FROM audit_log a WHERE a.period_id = p.id AND a.action = 'period.rules')
        """
    )
    op.execute(
        """
        UPDATE selection_runs r SET rules_version = 1 + (
            SELECT count(*) FROM audit_log a
            WHERE a.period_id = r.period_id AND a.action = 'period.rules' AND a.at < r.started_at)
        """
    )
    op.alter_column("selection_runs", "rules_version", nullable=False)


def downgrade() -> None:
    op.drop_column("selection_runs", "rules_version")
    op.drop_column("periods", "rules_version")
