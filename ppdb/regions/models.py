"""Regions, kelurahan and admission periods."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, SmallInteger, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ppdb.db.base import Base, Timestamped, pg_enum
from ppdb.regions.rules import Level


class PeriodStatus(enum.StrEnum):
    """Where a period is in its life cycle; the steps between them: `regions/lifecycle.py`."""

    DRAFT = "draft"
    REGISTRATION_OPEN = "registration_open"
    REGISTRATION_CLOSED = "registration_closed"
    SELECTED = "selected"
    PUBLISHED = "published"
    REREGISTRATION = "reregistration"
    VACANCY = "vacancy"


class Region(Base):
    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(13), unique=True)
    """Kemendagri code of the kab/kota or province, e.g. `36.71` for Kota Tangerang."""
    name: Mapped[str]
    helpdesk: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    """Where families get help (`schemas.Helpdesk`): contacts, WhatsApp, opening hours, the region's FAQ."""


class Kelurahan(Base):
    __tablename__ = "kelurahan"

    code: Mapped[str] = mapped_column(String(13), primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id", ondelete="CASCADE"), index=True)
    name: Mapped[str]
    kecamatan: Mapped[str]
    latitude: Mapped[float | None]
    """The centroid where known (the open wilayah dataset has none)."""
    longitude: Mapped[float | None]


class Period(Timestamped, Base):
    __tablename__ = "periods"
    __table_args__ = (
        UniqueConstraint("region_id", "school_year", "level", "stage"),
        CheckConstraint("registration_closes_at > registration_opens_at", name="schedule_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str]
    school_year: Mapped[str] = mapped_column(String(9))
    level: Mapped[Level] = mapped_column(pg_enum(Level, "level"))
    status: Mapped[PeriodStatus] = mapped_column(pg_enum(PeriodStatus, "period_status"), default=PeriodStatus.DRAFT)
    registration_opens_at: Mapped[datetime]
    registration_closes_at: Mapped[datetime]
    reregistration_closes_at: Mapped[datetime | None]
    """Deadline of daftar ulang, set when it opens."""
    rules: Mapped[dict[str, Any]] = mapped_column(JSONB)
    """A `ppdb.regions.rules.RuleSet`, stored as JSON so every region and year can differ."""
    stage: Mapped[int] = mapped_column(SmallInteger, default=1, server_default="1")
    """Which stage (tahap) of the admission this period runs (1-based; `RuleSet.stages`): one period each."""
    first_period_id: Mapped[int | None] = mapped_column(ForeignKey("periods.id", ondelete="RESTRICT"))
    """The admission's first stage, for a later stage (None for the first)."""
    version: Mapped[int] = mapped_column(default=1)
    rules_version: Mapped[int] = mapped_column(default=1, server_default="1")
    """1 for the preset's rules, one more with each change of them (`regions.service.update_rules`); a
    selection run records the one it used. `version` changes with anything about the period."""

    __mapper_args__ = {"version_id_col": version}

    @property
    def admission_id(self) -> int:
        """The admission this period is a stage of: its first period (PINs hold for all of its stages)."""
        return self.first_period_id or self.id
