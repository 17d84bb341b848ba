"""Where scores come from: the graduates an origin school lists with their rapor, test results and school
indexes the Dinas imports. Each row says who entered it and when; every change is an audit entry."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, Computed, ForeignKey, Numeric, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ppdb.db.base import Base, Timestamped


class Graduate(Timestamped, Base):
    """A child on an origin school's graduate list (Dapodik shape) for a period, with the rapor it entered."""

    __tablename__ = "graduates"
    __table_args__ = (
        UniqueConstraint("period_id", "nik"),
        UniqueConstraint("period_id", "nisn"),
        CheckConstraint("nik ~ '^[0-9]{16}$' AND nisn ~ '^[0-9]{10}$'", name="identity_numbers"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id", ondelete="CASCADE"))
    nik: Mapped[str] = mapped_column(String(16))
    nisn: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[date]
    origin_npsn: Mapped[str] = mapped_column(String(8), index=True)
    """The origin school (sekolah asal); its operator enters and sees only its own graduates."""
    rapor: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    """Subject → semester → grade (0–100, 2 decimals), as the origin school entered it."""
    rapor_sum: Mapped[Decimal] = mapped_column(Numeric, Computed("rapor_grades_sum(rapor)", persisted=True))
    rapor_count: Mapped[int] = mapped_column(Computed("rapor_grades_count(rapor)", persisted=True))
    """The rapor's grades added up and counted, by the database (migration 0028): an origin school's average
    is a sum over its graduates' rows."""
    entered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Entered:
    """A value on the 0–1000 scale and who entered it when."""

    value: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    entered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    entered_at: Mapped[datetime] = mapped_column(server_default=func.now())


class TestResult(Entered, Base):
    """A test result (tes terstandar, TKA, certificate points) the Dinas imported, under a component's name."""

    __tablename__ = "test_results"
    __table_args__ = (CheckConstraint("value >= 0 AND value <= 1000", name="value_range"),)

    graduate_id: Mapped[int] = mapped_column(ForeignKey("graduates.id", ondelete="CASCADE"), primary_key=True)
    component: Mapped[str] = mapped_column(String(30), primary_key=True)


class SchoolIndex(Entered, Base):
    """An origin school's index (Jatim's indeks sekolah asal) for a period, imported by the Dinas."""

    __tablename__ = "school_indexes"
    __table_args__ = (CheckConstraint("value >= 0 AND value <= 1000", name="value_range"),)

    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id", ondelete="CASCADE"), primary_key=True)
    npsn: Mapped[str] = mapped_column(String(8), primary_key=True)


class CertificateAward(Entered, Base):
    """The points a destination school awarded for an application's certificate, after checking its level, rank
    and date: valid for the file it was given for (`sha256`) while that document stays verified."""

    __tablename__ = "certificate_awards"
    __table_args__ = (
        CheckConstraint("value >= 0 AND value <= 1000", name="value_range"),
        CheckConstraint("rank >= 1", name="rank_positive"),
    )

    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), primary_key=True)
    level: Mapped[str] = mapped_column(String(20))
    rank: Mapped[int]
    team: Mapped[bool]
    issued_on: Mapped[date]
    number: Mapped[str | None] = mapped_column(String(100))
    """The certificate's number as printed, normalised (upper case, no spaces): the same number on two children's
    certificates is flagged."""
    sha256: Mapped[str] = mapped_column(String(64))
