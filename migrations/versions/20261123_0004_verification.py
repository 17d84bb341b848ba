"""verification

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 11:48:19.668595
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("applicants", sa.Column("coordinate_verified_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("applicants", sa.Column("coordinate_verified_by", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("fk_applicants_coordinate_verified_by_users"), "applicants", "users", ["coordinate_verified_by"], ["id"]
    )
    op.add_column("applications", sa.Column("status_reason", sa.String(length=500), nullable=True))
    op.add_column("documents", sa.Column("decided_by", sa.Integer(), nullable=True))
    op.add_column("documents", sa.Column("reason", sa.String(length=500), nullable=True))
    op.create_foreign_key(op.f("fk_documents_decided_by_users"), "documents", "users", ["decided_by"], ["id"])


def downgrade() -> None:
    op.drop_constraint(op.f("fk_documents_decided_by_users"), "documents", type_="foreignkey")
    op.drop_column("documents", "reason")
    op.drop_column("documents", "decided_by")
    op.drop_column("applications", "status_reason")
    op.drop_constraint(op.f("fk_applicants_coordinate_verified_by_users"), "applicants", type_="foreignkey")
    op.drop_column("applicants", "coordinate_verified_by")
    op.drop_column("applicants", "coordinate_verified_at")
