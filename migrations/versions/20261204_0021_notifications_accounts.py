"""notifications outbox, phone numbers, password resets, PIN accounts

The outbox of messages to families; a parent's phone number (SMS/WhatsApp); password reset requests; accounts
opened with a child's NIK and PIN (no e-mail), linked from the PIN.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 09:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

channel = postgresql.ENUM("email", "phone", name="notification_channel", create_type=False)


def upgrade() -> None:
    channel.create(op.get_bind())
    op.create_table(
        "notifications",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("channel", channel, nullable=False),
        sa.Column("recipient", sa.String(254), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("params", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("attempts", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("failed_at", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.String(200)),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_notifications_attempts_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("key", name=op.f("uq_notifications_key")),
    )
    op.create_index(
        "ix_notifications_due",
        "notifications",
        ["due_at"],
        postgresql_where=sa.text("sent_at IS NULL AND failed_at IS NULL"),
    )

    op.alter_column("users", "email", existing_type=sa.String(254), nullable=True)
    op.add_column("users", sa.Column("phone", sa.String(16)))
    op.create_unique_constraint(op.f("uq_users_phone"), "users", ["phone"])
    op.create_check_constraint(op.f("ck_users_staff_have_email"), "users", "email IS NOT NULL OR role = 'parent'")
    op.create_check_constraint(op.f("ck_users_phone_format"), "users", "phone ~ '^628[0-9]{7,12}$'")

    op.create_table(
        "password_resets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer()),
        sa.Column("token_hash", sa.String(64)),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_password_resets_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_resets")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_resets_token_hash")),
    )
    op.create_index(op.f("ix_password_resets_user_id"), "password_resets", ["user_id"])
    op.create_index("ix_password_resets_address_at", "password_resets", ["address", "at"])

    op.add_column("pins", sa.Column("user_id", sa.Integer()))
    op.create_foreign_key(op.f("fk_pins_user_id_users"), "pins", "users", ["user_id"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    op.drop_constraint(op.f("fk_pins_user_id_users"), "pins", type_="foreignkey")
    op.drop_column("pins", "user_id")
    op.drop_table("password_resets")
    op.execute("UPDATE applications SET parent_id = NULL WHERE parent_id IN (SELECT id FROM users WHERE email IS NULL)")
    op.execute("DELETE FROM users WHERE email IS NULL")
    op.drop_constraint(op.f("ck_users_phone_format"), "users", type_="check")
    op.drop_constraint(op.f("ck_users_staff_have_email"), "users", type_="check")
    op.drop_constraint(op.f("uq_users_phone"), "users", type_="unique")
    op.drop_column("users", "phone")
    op.alter_column("users", "email", existing_type=sa.String(254), nullable=False)
    op.drop_table("notifications")
    channel.drop(op.get_bind())
