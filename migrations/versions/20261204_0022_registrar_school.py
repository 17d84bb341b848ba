"""registrar school

The school whose operator registered a family in person (walk-in) keeps seeing the registration.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 09:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("applications", sa.Column("registrar_school_id", sa.Integer()))
    op.create_foreign_key(
        op.f("fk_applications_registrar_school_id_schools"), "applications", "schools", ["registrar_school_id"], ["id"]
    )
    # Walk-ins registered before: the school of the operator named in their audit entry.
    op.execute(
        """
        UPDATE applications a SET registrar_school_id = u.school_id
        FROM audit_log l JOIN users u ON l.actor = 'school_operator:' || u.id
        WHERE l.action = 'application.create' AND l.entity = 'application' AND l.entity_id = a.registration_number
        """
    )


def downgrade() -> None:
    op.drop_constraint(op.f("fk_applications_registrar_school_id_schools"), "applications", type_="foreignkey")
    op.drop_column("applications", "registrar_school_id")
