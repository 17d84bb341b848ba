"""placements without a foreign key to applications

Every re-solve writes one placement per applicant (a provisional one every minute while registration is
open): with the key, each COPY'd row ran a lookup of its application, a third of PostgreSQL's work in the
write. Placements are written from the applications read in the same transaction, and applications are
never deleted (withdrawal is a status; deleting a period removes its runs, and with them their placements).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 21:05:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint("fk_placements_application_id_applications", "placements", type_="foreignkey")


def downgrade() -> None:
    op.create_foreign_key(
        "fk_placements_application_id_applications",
        "placements",
        "applications",
        ["application_id"],
        ["id"],
        ondelete="CASCADE",
    )
