"""level smk

Vocational upper-secondary schools (SMK) as a level of their own.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-04 13:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TYPE level ADD VALUE IF NOT EXISTS 'smk'")


def downgrade() -> None:
    # PostgreSQL cannot drop an enum value; refuse rather than leave SMK rows behind an enum without it.
    op.execute(
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM periods WHERE level = 'smk') OR EXISTS "
        "(SELECT 1 FROM schools WHERE level = 'smk') THEN RAISE EXCEPTION 'SMK periods or schools exist'; END IF; "
        "END $$"
    )
