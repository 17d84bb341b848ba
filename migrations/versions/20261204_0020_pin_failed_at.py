"""pin failed_at

When the last wrong PIN was given: a NIK's lock after too many expires.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 08:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("pins", sa.Column("failed_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("pins", "failed_at")
