"""Schools (NPSN), capacity per period and zone entries."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, Index, SmallInteger, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from ppdb.db.base import Base, pg_enum
from ppdb.regions.models import Level


class School(Base):
    __tablename__ = "schools"
    __table_args__ = (
        CheckConstraint("latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180", name="coordinate"),
        CheckConstraint("ownership IN ('negeri', 'swasta')", name="ownership"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    npsn: Mapped[str] = mapped_column(String(8), unique=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str]
    level: Mapped[Level] = mapped_column(pg_enum(Level, "level"))
    latitude: Mapped[float]
    longitude: Mapped[float]
    kelurahan_code: Mapped[str | None] = mapped_column(String(13))
    ownership: Mapped[str] = mapped_column(String(6), default="negeri", server_default="negeri")
    """`negeri` (state) or `swasta` (private): choice rules may limit how many of a child's choices are private."""


class PeriodSchool(Base):
    """A school taking part in a period, with its capacity (daya tampung) for that year."""

    __tablename__ = "period_schools"
    __table_args__ = (CheckConstraint("capacity >= 0", name="capacity_nonnegative"),)

    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id", ondelete="CASCADE"), primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="RESTRICT"), primary_key=True)
    capacity: Mapped[int]


class Program(Base):
    """A program (kompetensi keahlian) an SMK offers in a period, with its own capacity: a parent chooses the
    program, and its seats are split over the paths as a school's are. A kelas industri is a program with its
    partner and the partner's requirements."""

    __tablename__ = "programs"
    __table_args__ = (
        UniqueConstraint("period_id", "school_id", "code"),
        CheckConstraint("capacity >= 0", name="capacity_nonnegative"),
        CheckConstraint("code ~ '^[A-Z0-9-]{1,10}$'", name="code_format"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id", ondelete="CASCADE"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="RESTRICT"))
    code: Mapped[str] = mapped_column(String(10))
    """Short and stable (`TKJ`, `AKL`): part of the choice (`20200001/TKJ`) and of the engine's program id."""
    name: Mapped[str]
    capacity: Mapped[int]
    requirements: Mapped[list[str]] = mapped_column(ARRAY(String(40)), server_default="{}")
    """Names of the period's `program_requirements` (no colour blindness, a minimum height, a health
    certificate): checked by the school at verification."""
    partner: Mapped[str | None] = mapped_column(String(200))
    """The industry partner of a kelas industri."""


class ZoneEntry(Base):
    """One area in a school's zone: a kelurahan, or a radius around the school, with a priority tier."""

    __tablename__ = "zone_entries"
    __table_args__ = (
        CheckConstraint("(kelurahan_code IS NULL) <> (radius_m IS NULL)", name="kelurahan_xor_radius"),
        CheckConstraint("priority >= 1", name="priority_positive"),
        CheckConstraint("radius_m IS NULL OR radius_m > 0", name="radius_positive"),
        CheckConstraint("rw BETWEEN 1 AND 999 AND rt BETWEEN 1 AND 999", name="rt_rw_range"),
        CheckConstraint(
            "(rt IS NULL OR rw IS NOT NULL) AND (rw IS NULL OR kelurahan_code IS NOT NULL)", name="rt_within_rw"
        ),
        UniqueConstraint("period_id", "school_id", "kelurahan_code", "rw", "rt", postgresql_nulls_not_distinct=True),
        Index(
            "uq_zone_entries_radius",
            "period_id",
            "school_id",
            "radius_m",
            unique=True,
            postgresql_where=text("radius_m IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id", ondelete="CASCADE"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="RESTRICT"))
    kelurahan_code: Mapped[str | None] = mapped_column(String(13))
    rw: Mapped[int | None] = mapped_column(SmallInteger)
    """An RW of the kelurahan (with `rt`, one RT of it): a finer tier than the whole kelurahan."""
    rt: Mapped[int | None] = mapped_column(SmallInteger)
    radius_m: Mapped[float | None]
    priority: Mapped[int] = mapped_column(default=1)
