"""withdrawn applicant

A withdrawn application keeps the child's data as it stood when it was withdrawn: the applicant row is shared by
the NIK's applications and a later registration of the child rewrites it, which the withdrawn one must not show.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-04 12:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("applications", sa.Column("withdrawn_applicant", postgresql.JSONB()))
    # Withdrawn before: the applicant row as it is, if nothing has rewritten it since the withdrawal; otherwise
    # only what the withdrawing account typed itself (the NIK, and the birth date and sex the NIK encodes).
    op.execute(
        """
        UPDATE applications a SET withdrawn_applicant = CASE WHEN p.updated_at <= a.withdrawn_at THEN
            jsonb_build_object('nik', p.nik, 'nisn', p.nisn, 'name', p.name, 'sex', p.sex, 'birth_date', p.birth_date,
                'kk_number', p.kk_number, 'kk_issued_on', p.kk_issued_on, 'address', p.address,
                'kelurahan_code', p.kelurahan_code, 'rw', p.rw, 'rt', p.rt, 'latitude', p.latitude,
                'longitude', p.longitude, 'in_region', p.in_region,
                'coordinate_locked', p.coordinate_verified_at IS NOT NULL)
        ELSE
            jsonb_build_object('nik', p.nik, 'nisn', NULL, 'name', '-', 'sex', p.sex, 'birth_date', p.birth_date,
                'kk_number', '-', 'kk_issued_on', p.birth_date, 'address', '-', 'kelurahan_code', '-', 'rw', NULL,
                'rt', NULL, 'latitude', 0, 'longitude', 0, 'in_region', false, 'coordinate_locked', false)
        END
        FROM applicants p
        WHERE p.id = a.applicant_id AND a.status = 'withdrawn'
        """
    )
    op.create_check_constraint(
        op.f("ck_applications_withdrawn_keep_their_data"),
        "applications",
        "(status = 'withdrawn') = (withdrawn_applicant IS NOT NULL)",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_applications_withdrawn_keep_their_data"), "applications", type_="check")
    op.drop_column("applications", "withdrawn_applicant")
