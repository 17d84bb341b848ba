"""Users, their sessions, and login attempts (for throttling across every app process)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from ppdb.db.base import Base, pg_enum


class Role(enum.StrEnum):
    AGENCY_ADMIN = "agency_admin"
    SCHOOL_OPERATOR = "school_operator"
    PARENT = "parent"


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role <> 'agency_admin' OR region_id IS NOT NULL", name="admin_has_region"),
        CheckConstraint(
            "role <> 'school_operator' OR (school_id IS NOT NULL AND region_id IS NOT NULL)", name="operator_has_school"
        ),
        CheckConstraint("email IS NOT NULL OR role = 'parent'", name="staff_have_email"),
        CheckConstraint("phone ~ '^628[0-9]{7,12}$'", name="phone_format"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    """Stored lower-case. None: a family's account opened with a child's NIK and PIN (`pin_login`)."""
    phone: Mapped[str | None] = mapped_column(String(16), unique=True)
    """A parent's mobile number for SMS/WhatsApp (and a password reset), stored as 628…."""
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str]
    role: Mapped[Role] = mapped_column(pg_enum(Role, "role"))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class AuthSession(Base):
    __tablename__ = "auth_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    """SHA-256 of the bearer token; the token itself is never stored."""
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]


class PasswordReset(Base):
    """A request to reset a password: its token's digest (the token itself is only in the message sent), used
    once, before it expires. A request for an unknown address is kept too (no user, no token): requests are
    throttled per account and per client address, and nobody learns which addresses have accounts."""

    __tablename__ = "password_resets"
    __table_args__ = (Index("ix_password_resets_address_at", "address", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class LoginAttempt(Base):
    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_at", "email", "at"),
        Index("ix_login_attempts_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(server_default=func.now())
    success: Mapped[bool]
