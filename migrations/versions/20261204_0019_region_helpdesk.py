"""region helpdesk

Where a region's families get help: contacts, WhatsApp, hours and the region's own FAQ.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("regions", sa.Column("helpdesk", postgresql.JSONB(), server_default="{}", nullable=False))


def downgrade() -> None:
    op.drop_column("regions", "helpdesk")
