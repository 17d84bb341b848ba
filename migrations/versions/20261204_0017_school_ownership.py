"""school ownership

Schools are negeri (state) or swasta (private); a region's choice rules may limit the private choices.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("schools", sa.Column("ownership", sa.String(6), server_default="negeri", nullable=False))
    op.create_check_constraint(op.f("ck_schools_ownership"), "schools", "ownership IN ('negeri', 'swasta')")


def downgrade() -> None:
    op.drop_constraint(op.f("ck_schools_ownership"), "schools", type_="check")
    op.drop_column("schools", "ownership")
