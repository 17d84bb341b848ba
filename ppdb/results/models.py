"""Publications (immutable, versioned) and their per-applicant entries for lookups."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from ppdb.db.base import Base


class Publication(Base):
    """A frozen announcement. Never updated: a correction is a new version with a reason."""

    __tablename__ = "publications"
    __table_args__ = (UniqueConstraint("period_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), index=True)
    version: Mapped[int]
    round: Mapped[int]
    """0 for the main selection, 1, 2, ... for vacancy rounds."""
    run_id: Mapped[int] = mapped_column(ForeignKey("selection_runs.id"))
    reason: Mapped[str | None] = mapped_column(String(500))
    published_at: Mapped[datetime] = mapped_column(server_default=func.clock_timestamp())
    published_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    snapshot: Mapped[bytes] = mapped_column(LargeBinary, deferred=True, deferred_raiseload=True)
    """The public announcement as canonical JSON bytes; `digest` is their SHA-256. Large: read on its own
    (`service.snapshot_bytes`)."""
    digest: Mapped[str] = mapped_column(String(64))


class PublicationEntry(Base):
    """One child in a publication. A lookup finds it by (publication, number) through the unique index: the
    index the planner picks even when the publication's rows, just written, are not in the statistics yet."""

    __tablename__ = "publication_entries"
    __table_args__ = (UniqueConstraint("publication_id", "registration_number"),)

    publication_id: Mapped[int] = mapped_column(ForeignKey("publications.id"), primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), primary_key=True)
    registration_number: Mapped[str] = mapped_column(String(24))
    birth_date: Mapped[date]
    npsn: Mapped[str | None] = mapped_column(String(8))
    path: Mapped[str | None] = mapped_column(String(100))
    choice_rank: Mapped[int | None]


class LookupFailure(Base):
    """A result lookup whose number and birth date did not match: counted to stop birth dates being guessed."""

    __tablename__ = "result_lookup_failures"
    __table_args__ = (
        Index("ix_result_lookup_failures_number_at", "registration_number", "at"),
        Index("ix_result_lookup_failures_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_number: Mapped[str] = mapped_column(String(24))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(server_default=func.now())
