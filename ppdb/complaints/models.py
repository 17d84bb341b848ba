"""Complaints, each step of their handling, their evidence files, and the corrections they lead to."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from ppdb.db.base import Base, pg_enum


class Category(enum.StrEnum):
    REGISTRATION = "registration"
    """The family's own registration: its data, a refusal."""
    VERIFICATION = "verification"
    """A verifier's decision on the family's documents or coordinate."""
    RESULT = "result"
    """The published result (within the masa sanggah)."""
    FRAUD = "fraud"
    """A suspected fraud by someone else (a borrowed KK, a false coordinate, a bought seat): may be anonymous."""


class Status(enum.StrEnum):
    RECEIVED = "received"
    IN_REVIEW = "in_review"
    UPHELD = "upheld"
    REJECTED = "rejected"


class Complaint(Base):
    """One complaint about a period. A family's is about its own registration; a fraud report names a school
    and, once the Dinas has found it, the registration concerned (`application_id`)."""

    __tablename__ = "complaints"
    __table_args__ = (
        CheckConstraint("filed_by IS NOT NULL OR category = 'fraud'", name="only_fraud_anonymous"),
        CheckConstraint("filed_by IS NOT NULL OR code_sha256 IS NOT NULL", name="anonymous_have_code"),
        Index("ix_complaints_period_status", "period_id", "status"),
        Index("ix_complaints_address_filed_at", "address", "filed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    """What the complainant and the staff call it, e.g. `ADU-7K3M9Q2X`."""
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"))
    category: Mapped[Category] = mapped_column(pg_enum(Category, "complaint_category"))
    status: Mapped[Status] = mapped_column(pg_enum(Status, "complaint_status"), default=Status.RECEIVED)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"), index=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), index=True)
    filed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    """None: an anonymous report, followed with its number and `code`."""
    code_sha256: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    """The filer's network address: anonymous reports are counted by it."""
    text: Mapped[str] = mapped_column(String(2000))
    filed_at: Mapped[datetime] = mapped_column(server_default=func.now())
    due_at: Mapped[datetime]
    """When the Dinas must have decided (`ComplaintRules.decision_days` after filing)."""
    decided_at: Mapped[datetime | None]


class Event(Base):
    """A step of a complaint's handling: who moved it to which status, when, and why. Never updated."""

    __tablename__ = "complaint_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"), index=True)
    status: Mapped[Status] = mapped_column(pg_enum(Status, "complaint_status"))
    actor: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str | None] = mapped_column(String(1000))
    at: Mapped[datetime] = mapped_column(server_default=func.clock_timestamp())


class Evidence(Base):
    """A file the complainant attached (checked like a document: PDF, JPEG or PNG by content)."""

    __tablename__ = "complaint_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"), index=True)
    content_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    storage_name: Mapped[str] = mapped_column(String(80))
    uploaded_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Correction(Base):
    """A data correction made for an upheld complaint (a coordinate, a document decision, a disqualification),
    until a correction run takes it in (`run_id`)."""

    __tablename__ = "complaint_corrections"
    __table_args__ = (
        Index("ix_complaint_corrections_pending", "complaint_id", postgresql_where=text("run_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"))
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    action: Mapped[str] = mapped_column(String(60))
    """The audit action of the change (`coordinate.correct`, `document.decide`, `application.disqualify`)."""
    actor: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(server_default=func.clock_timestamp())
    run_id: Mapped[int | None] = mapped_column(ForeignKey("selection_runs.id"))
    """The latest correction run that took it in (None: none yet); pending until such a run is announced."""
