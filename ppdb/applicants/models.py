"""The child in a period (applicant), the application, its ranked choices and documents."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, SmallInteger, String, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ppdb.db.base import Base, Timestamped, pg_enum
from ppdb.schools.models import Program


class ApplicationStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    VERIFIED = "verified"
    REJECTED = "rejected"
    DISQUALIFIED = "disqualified"
    WITHDRAWN = "withdrawn"


SELECTED_STATUSES = (ApplicationStatus.SUBMITTED, ApplicationStatus.VERIFIED)
"""The applications that take part in a selection run."""


class Applicant(Timestamped, Base):
    """The child as registered in one period; one row per NIK per period."""

    __tablename__ = "applicants"
    __table_args__ = (
        UniqueConstraint("period_id", "nik"),
        CheckConstraint("nik ~ '^[0-9]{16}$'", name="nik_format"),
        CheckConstraint("kk_number ~ '^[0-9]{16}$'", name="kk_format"),
        CheckConstraint("nisn IS NULL OR nisn ~ '^[0-9]{10}$'", name="nisn_format"),
        CheckConstraint("sex IN ('L', 'P')", name="sex"),
        CheckConstraint("rw BETWEEN 1 AND 999 AND rt BETWEEN 1 AND 999", name="rt_rw_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id", ondelete="CASCADE"))
    nik: Mapped[str] = mapped_column(String(16))
    nisn: Mapped[str | None] = mapped_column(String(10))
    name: Mapped[str]
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date]
    kk_number: Mapped[str] = mapped_column(String(16), index=True)
    kk_issued_on: Mapped[date]
    address: Mapped[str]
    kelurahan_code: Mapped[str] = mapped_column(String(13))
    rw: Mapped[int | None] = mapped_column(SmallInteger)
    rt: Mapped[int | None] = mapped_column(SmallInteger)
    latitude: Mapped[float]
    longitude: Mapped[float]
    in_region: Mapped[bool]
    coordinate_verified_at: Mapped[datetime | None]
    """Set when a verifier confirms the home coordinate; from then on only an agency admin may move it."""
    coordinate_verified_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Application(Timestamped, Base):
    __tablename__ = "applications"
    __table_args__ = (
        # One active application per NIK per period: applicants are unique per (period, NIK).
        Index(
            "uq_applications_active_applicant",
            "applicant_id",
            unique=True,
            postgresql_where=text("status <> 'withdrawn'"),
        ),
        CheckConstraint("(status = 'withdrawn') = (withdrawn_applicant IS NOT NULL)", name="withdrawn_keep_their_data"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id", ondelete="CASCADE"), index=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("applicants.id", ondelete="CASCADE"))
    registration_number: Mapped[str] = mapped_column(String(24), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    """The parent account that registered the child (none for offline imports and walk-ins not yet claimed)."""
    registrar_school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"))
    """The school whose operator registered the family in person (walk-in): it keeps seeing the registration,
    whichever schools the child chose (`authz.check_application`)."""
    path: Mapped[str] = mapped_column(String(40))
    category: Mapped[str | None] = mapped_column(String(40))
    """Sub-quota inside the path (e.g. `ketm`, `disabilitas`), when the path has sub-quotas."""
    kk_exception: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[ApplicationStatus] = mapped_column(
        pg_enum(ApplicationStatus, "application_status"), default=ApplicationStatus.SUBMITTED
    )
    submitted_at: Mapped[datetime]
    withdrawn_at: Mapped[datetime | None]
    withdrawn_applicant: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    """The child's data as it stood when the application was withdrawn (an `ApplicantOut`): what a withdrawn
    application shows, since the applicant row is the NIK's and a later registration of the child rewrites it."""
    status_reason: Mapped[str | None] = mapped_column(String(500))
    """Why the application was disqualified, shown to the parent."""

    applicant: Mapped[Applicant] = relationship(lazy="raise")
    choices: Mapped[list[Choice]] = relationship(
        order_by="Choice.rank", cascade="all, delete-orphan", lazy="raise", passive_deletes=True
    )
    documents: Mapped[list[Document]] = relationship(cascade="all, delete-orphan", lazy="raise", passive_deletes=True)


class Choice(Base):
    __tablename__ = "choices"
    __table_args__ = (
        UniqueConstraint("application_id", "school_id", "program_id", postgresql_nulls_not_distinct=True),
        CheckConstraint("rank >= 1", name="rank_positive"),
        CheckConstraint("distance_m >= 0", name="distance_nonnegative"),
        Index("ix_choices_school_id", "school_id"),
        # Partial: most choices have no program, and registration pays for every index entry it writes.
        Index("ix_choices_program_id", "program_id", postgresql_where=text("program_id IS NOT NULL")),
    )

    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), primary_key=True)
    rank: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="RESTRICT"))
    distance_m: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    """Haversine distance home → school in metres, computed by the server and frozen on submit."""
    in_zone: Mapped[bool]
    zone_priority: Mapped[int | None]
    program_id: Mapped[int | None] = mapped_column(ForeignKey("programs.id", ondelete="RESTRICT"))
    """At an SMK: the program chosen (a school with programs is chosen by program)."""

    program: Mapped[Program | None] = relationship(lazy="raise")


class ProgramFinding(Base):
    """A school's finding that a child does not meet requirements of one of its SMK programs (colour blindness,
    height, a partner's test). It belongs to the child and the program for the whole admission (`admission_id`:
    its first stage's period), whatever the child's choices: a choice of that program, now or after a change,
    a new registration or in a later stage, takes no part in a selection."""

    __tablename__ = "program_findings"
    __table_args__ = (CheckConstraint("nik ~ '^[0-9]{16}$'", name="nik_format"),)

    admission_id: Mapped[int] = mapped_column(ForeignKey("periods.id", ondelete="CASCADE"), primary_key=True)
    nik: Mapped[str] = mapped_column(String(16), primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="RESTRICT"), primary_key=True)
    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    """The program's code (each stage has its own program rows; the code stays)."""
    unmet: Mapped[list[str]] = mapped_column(ARRAY(String(40)))
    """The requirements found unmet, by name (`rules.programs.requirements`)."""
    reason: Mapped[str] = mapped_column(String(500))
    """What the school found, shown to the parent."""
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime] = mapped_column(server_default=func.now())


class DocumentStatus(enum.StrEnum):
    DECLARED = "declared"
    UPLOADED = "uploaded"
    VERIFIED = "verified"
    REJECTED = "rejected"


class Document(Timestamped, Base):
    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("application_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[DocumentStatus] = mapped_column(
        pg_enum(DocumentStatus, "document_status"), default=DocumentStatus.DECLARED
    )
    content_type: Mapped[str | None] = mapped_column(String(40))
    size_bytes: Mapped[int | None]
    sha256: Mapped[str | None] = mapped_column(String(64))
    storage_name: Mapped[str | None] = mapped_column(String(80))
    """A generated file name under the data directory; never the client's name."""
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(String(500))
    """Why a verifier rejected the document."""


class IdempotentResponse(Base):
    """The first answer to a request carrying an `Idempotency-Key`, replayed on retries."""

    __tablename__ = "idempotent_responses"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None]
    body: Mapped[Any | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class Pin(Base):
    """The PIN that proves a family holds a child's NIK, issued by the Dinas or a school after checking the KK;
    only its digest is kept. One PIN serves every stage of the admission (Jatim): `period_id` is the admission's
    first stage. Where the rules require one, a NIK is registered only with it (or by an operator who checked
    the family in person)."""

    __tablename__ = "pins"
    __table_args__ = (CheckConstraint("nik ~ '^[0-9]{16}$'", name="nik_format"),)

    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id", ondelete="CASCADE"), primary_key=True)
    nik: Mapped[str] = mapped_column(String(16), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    issued_at: Mapped[datetime]
    failures: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    """Wrong PINs given for this NIK lately: at `PIN_MAX_FAILURES` it is locked for a while (`pins.LOCK`)."""
    failed_at: Mapped[datetime | None]
    """The last wrong PIN."""
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    """The family's account the PIN signs into when its registration has none (`accounts.service.pin_login`)."""


PIN_MAX_FAILURES = 5
