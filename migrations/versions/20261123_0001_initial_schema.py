"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 10:55:51.254010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotent_responses",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_idempotent_responses")),
    )
    op.create_table(
        "regions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=13), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_regions")),
        sa.UniqueConstraint("code", name=op.f("uq_regions_code")),
    )
    op.create_table(
        "kelurahan",
        sa.Column("code", sa.String(length=13), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kecamatan", sa.String(), nullable=False),
        sa.Column("latitude", sa.Double(), nullable=False),
        sa.Column("longitude", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["region_id"], ["regions.id"], name=op.f("fk_kelurahan_region_id_regions"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_kelurahan")),
    )
    op.create_index(op.f("ix_kelurahan_region_id"), "kelurahan", ["region_id"], unique=False)
    op.create_table(
        "periods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("school_year", sa.String(length=9), nullable=False),
        sa.Column("level", sa.Enum("sd", "smp", "sma", name="level"), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "registration_open",
                "registration_closed",
                "verification",
                "selected",
                "published",
                "reregistration",
                "vacancy",
                "closed",
                name="period_status",
            ),
            nullable=False,
        ),
        sa.Column("registration_opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registration_closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rules", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("registration_closes_at > registration_opens_at", name=op.f("ck_periods_schedule_order")),
        sa.ForeignKeyConstraint(
            ["region_id"], ["regions.id"], name=op.f("fk_periods_region_id_regions"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_periods")),
        sa.UniqueConstraint("region_id", "school_year", "level", name=op.f("uq_periods_region_id_school_year_level")),
    )
    op.create_index(op.f("ix_periods_region_id"), "periods", ["region_id"], unique=False)
    op.create_table(
        "schools",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("npsn", sa.String(length=8), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("level", sa.Enum("sd", "smp", "sma", name="level"), nullable=False),
        sa.Column("latitude", sa.Double(), nullable=False),
        sa.Column("longitude", sa.Double(), nullable=False),
        sa.Column("kelurahan_code", sa.String(length=13), nullable=True),
        sa.CheckConstraint(
            "latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180", name=op.f("ck_schools_coordinate")
        ),
        sa.ForeignKeyConstraint(
            ["region_id"], ["regions.id"], name=op.f("fk_schools_region_id_regions"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schools")),
        sa.UniqueConstraint("npsn", name=op.f("uq_schools_npsn")),
    )
    op.create_index(op.f("ix_schools_region_id"), "schools", ["region_id"], unique=False)
    op.create_table(
        "applicants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("nik", sa.String(length=16), nullable=False),
        sa.Column("nisn", sa.String(length=10), nullable=True),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("kk_number", sa.String(length=16), nullable=False),
        sa.Column("kk_issued_on", sa.Date(), nullable=False),
        sa.Column("address", sa.String(), nullable=False),
        sa.Column("kelurahan_code", sa.String(length=13), nullable=False),
        sa.Column("latitude", sa.Double(), nullable=False),
        sa.Column("longitude", sa.Double(), nullable=False),
        sa.Column("in_region", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kk_number ~ '^[0-9]{16}$'", name=op.f("ck_applicants_kk_format")),
        sa.CheckConstraint("nik ~ '^[0-9]{16}$'", name=op.f("ck_applicants_nik_format")),
        sa.CheckConstraint("nisn IS NULL OR nisn ~ '^[0-9]{10}$'", name=op.f("ck_applicants_nisn_format")),
        sa.CheckConstraint("sex IN ('L', 'P')", name=op.f("ck_applicants_sex")),
        sa.ForeignKeyConstraint(
            ["period_id"], ["periods.id"], name=op.f("fk_applicants_period_id_periods"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applicants")),
        sa.UniqueConstraint("period_id", "nik", name=op.f("uq_applicants_period_id_nik")),
    )
    op.create_index(op.f("ix_applicants_kk_number"), "applicants", ["kk_number"], unique=False)
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("clock_timestamp()"), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=40), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=True),
        sa.Column("old", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("new", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.ForeignKeyConstraint(["period_id"], ["periods.id"], name=op.f("fk_audit_log_period_id_periods")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_action"), "audit_log", ["action"], unique=False)
    op.create_index(op.f("ix_audit_log_period_id"), "audit_log", ["period_id"], unique=False)
    op.create_table(
        "period_schools",
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.CheckConstraint("capacity >= 0", name=op.f("ck_period_schools_capacity_nonnegative")),
        sa.ForeignKeyConstraint(
            ["period_id"], ["periods.id"], name=op.f("fk_period_schools_period_id_periods"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_period_schools_school_id_schools"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("period_id", "school_id", name=op.f("pk_period_schools")),
    )
    op.create_table(
        "zone_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("kelurahan_code", sa.String(length=13), nullable=True),
        sa.Column("radius_m", sa.Double(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "(kelurahan_code IS NULL) <> (radius_m IS NULL)", name=op.f("ck_zone_entries_kelurahan_xor_radius")
        ),
        sa.CheckConstraint("priority >= 1", name=op.f("ck_zone_entries_priority_positive")),
        sa.CheckConstraint("radius_m IS NULL OR radius_m > 0", name=op.f("ck_zone_entries_radius_positive")),
        sa.ForeignKeyConstraint(
            ["period_id"], ["periods.id"], name=op.f("fk_zone_entries_period_id_periods"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_zone_entries_school_id_schools"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zone_entries")),
        sa.UniqueConstraint(
            "period_id", "school_id", "kelurahan_code", name=op.f("uq_zone_entries_period_id_school_id_kelurahan_code")
        ),
    )
    op.create_index(op.f("ix_zone_entries_period_id"), "zone_entries", ["period_id"], unique=False)
    op.create_index(
        "uq_zone_entries_radius",
        "zone_entries",
        ["period_id", "school_id", "radius_m"],
        unique=True,
        postgresql_where=sa.text("radius_m IS NOT NULL"),
    )
    op.create_table(
        "applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("applicant_id", sa.Integer(), nullable=False),
        sa.Column("registration_number", sa.String(length=24), nullable=False),
        sa.Column("access_token_hash", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=True),
        sa.Column("score", sa.Numeric(precision=7, scale=2), nullable=True),
        sa.Column("kk_exception", sa.String(length=40), nullable=True),
        sa.Column(
            "status",
            sa.Enum("submitted", "verified", "rejected", "disqualified", "withdrawn", name="application_status"),
            nullable=False,
        ),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("score IS NULL OR (score >= 0 AND score <= 1000)", name=op.f("ck_applications_score_range")),
        sa.ForeignKeyConstraint(
            ["applicant_id"],
            ["applicants.id"],
            name=op.f("fk_applications_applicant_id_applicants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["period_id"], ["periods.id"], name=op.f("fk_applications_period_id_periods"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
        sa.UniqueConstraint("registration_number", name=op.f("uq_applications_registration_number")),
    )
    op.create_index(op.f("ix_applications_period_id"), "applications", ["period_id"], unique=False)
    op.create_index(
        "uq_applications_active_applicant",
        "applications",
        ["applicant_id"],
        unique=True,
        postgresql_where=sa.text("status <> 'withdrawn'"),
    )
    op.create_table(
        "choices",
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("distance_m", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("in_zone", sa.Boolean(), nullable=False),
        sa.Column("zone_priority", sa.Integer(), nullable=True),
        sa.CheckConstraint("distance_m >= 0", name=op.f("ck_choices_distance_nonnegative")),
        sa.CheckConstraint("rank >= 1", name=op.f("ck_choices_rank_positive")),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_choices_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_choices_school_id_schools"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("application_id", "rank", name=op.f("pk_choices")),
        sa.UniqueConstraint("application_id", "school_id", name=op.f("uq_choices_application_id_school_id")),
    )
    op.create_index("ix_choices_school_id", "choices", ["school_id"], unique=False)
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column(
            "status", sa.Enum("declared", "uploaded", "verified", "rejected", name="document_status"), nullable=False
        ),
        sa.Column("content_type", sa.String(length=40), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("storage_name", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_documents_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint("application_id", "kind", name=op.f("uq_documents_application_id_kind")),
    )

    # The audit log is append-only, enforced by the database, not by convention.
    op.execute("""
        CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_log is append-only';
        END $$;
    """)
    op.execute("""
        CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
    """)
    op.execute("""
        CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log")
    op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
    op.execute("DROP FUNCTION audit_log_append_only()")
    op.drop_table("documents")
    op.drop_index("ix_choices_school_id", table_name="choices")
    op.drop_table("choices")
    op.drop_index(
        "uq_applications_active_applicant", table_name="applications", postgresql_where=sa.text("status <> 'withdrawn'")
    )
    op.drop_index(op.f("ix_applications_period_id"), table_name="applications")
    op.drop_table("applications")
    op.drop_index("uq_zone_entries_radius", table_name="zone_entries", postgresql_where=sa.text("radius_m IS NOT NULL"))
    op.drop_index(op.f("ix_zone_entries_period_id"), table_name="zone_entries")
    op.drop_table("zone_entries")
    op.drop_table("period_schools")
    op.drop_index(op.f("ix_audit_log_period_id"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_action"), table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index(op.f("ix_applicants_kk_number"), table_name="applicants")
    op.drop_table("applicants")
    op.drop_index(op.f("ix_schools_region_id"), table_name="schools")
    op.drop_table("schools")
    op.drop_index(op.f("ix_periods_region_id"), table_name="periods")
    op.drop_table("periods")
    op.drop_index(op.f("ix_kelurahan_region_id"), table_name="kelurahan")
    op.drop_table("kelurahan")
    op.drop_table("regions")
    op.drop_table("idempotent_responses")
    for enum in ("document_status", "application_status", "period_status", "level"):
        op.execute(f"DROP TYPE {enum}")
