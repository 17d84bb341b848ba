"""kelurahan without centroid

Kelurahan loaded from the open wilayah dataset (`ppdb wilayah load`) have a code, a name and a kecamatan
but no centroid: the coordinates become optional (the far-from-kelurahan flag is only raised where one is
known).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 01:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("kelurahan", "latitude", nullable=True)
    op.alter_column("kelurahan", "longitude", nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM kelurahan WHERE latitude IS NULL OR longitude IS NULL")
    op.alter_column("kelurahan", "latitude", nullable=False)
    op.alter_column("kelurahan", "longitude", nullable=False)
