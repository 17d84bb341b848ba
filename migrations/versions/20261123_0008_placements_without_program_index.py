"""placements without the (run_id, program) index

Every query on placements filters by run only, which the primary key (run_id, application_id) serves; the
second index was written 100,000 times by every re-solve of a large period and read by nothing.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 21:35:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_placements_run_program", table_name="placements")


def downgrade() -> None:
    op.create_index("ix_placements_run_program", "placements", ["run_id", "program"])
