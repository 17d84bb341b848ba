"""publication entry numbers

A registration number appears once in a publication: unique on (publication, number), in place of the index
on the number alone. A result lookup reads one entry by both, through this index even before the new
publication's rows are in the statistics (docs/benchmarks.md, issue 27).

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-05 16:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_unique_constraint(
        op.f("uq_publication_entries_publication_id_registration_number"),
        "publication_entries",
        ["publication_id", "registration_number"],
    )
    op.drop_index(op.f("ix_publication_entries_registration_number"), table_name="publication_entries")


def downgrade() -> None:
    op.create_index(op.f("ix_publication_entries_registration_number"), "publication_entries", ["registration_number"])
    op.drop_constraint(
        op.f("uq_publication_entries_publication_id_registration_number"), "publication_entries", type_="unique"
    )
