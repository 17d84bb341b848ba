"""result lookup failures

A published result is looked up by registration number and birth date; without a count of the misses, a
known number's birth date could be guessed in a thousand requests (and with it the child's school and path).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 23:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "result_lookup_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("registration_number", sa.String(length=24), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_result_lookup_failures")),
    )
    op.create_index("ix_result_lookup_failures_number_at", "result_lookup_failures", ["registration_number", "at"])
    op.create_index("ix_result_lookup_failures_address_at", "result_lookup_failures", ["address", "at"])


def downgrade() -> None:
    op.drop_table("result_lookup_failures")
