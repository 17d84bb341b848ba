"""period status without unused values

`verification` and `closed` were never entered by any step (verification happens while registration is
open or closed; a period has no end step). PostgreSQL cannot drop an enum value, so the type is rebuilt.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 07:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEPT = ("draft", "registration_open", "registration_closed", "selected", "published", "reregistration", "vacancy")


def upgrade() -> None:
    # Refuses (cannot cast) if a period were somehow in a dropped status, rather than guessing a new one.
    values = ", ".join(f"'{v}'" for v in KEPT)
    op.execute("ALTER TYPE period_status RENAME TO period_status_old")
    op.execute(f"CREATE TYPE period_status AS ENUM ({values})")
    op.execute("ALTER TABLE periods ALTER COLUMN status TYPE period_status USING status::text::period_status")
    op.execute("DROP TYPE period_status_old")


def downgrade() -> None:
    op.execute("ALTER TYPE period_status ADD VALUE 'verification' AFTER 'registration_closed'")
    op.execute("ALTER TYPE period_status ADD VALUE 'closed' AFTER 'vacancy'")
