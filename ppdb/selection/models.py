"""Selection runs: the exact input, the digest, placements and per-program cut-offs."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, func, text
from sqlalchemy.dialects.postgresql import JSON, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ppdb.db.base import Base, pg_enum
from ppdb.selection.programs import Cutoff, Entry, ProgramKey, decode_entries


class RunKind(enum.StrEnum):
    OFFICIAL = "official"
    PROVISIONAL = "provisional"


class SelectionRun(Base):
    __tablename__ = "selection_runs"
    __table_args__ = (Index("ix_selection_runs_period_kind", "period_id", "kind", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"))
    kind: Mapped[RunKind] = mapped_column(pg_enum(RunKind, "run_kind"))
    round: Mapped[int] = mapped_column(default=0, server_default="0")
    """0 for the main selection; 1, 2, ... for vacancy rounds."""
    started_at: Mapped[datetime] = mapped_column(server_default=func.clock_timestamp())
    finished_at: Mapped[datetime | None]
    mechanism: Mapped[str] = mapped_column(String(40))
    rules_version: Mapped[int]
    """The period's rules version the run used (`Period.rules_version`)."""
    digest: Mapped[str] = mapped_column(String(64))
    instance: Mapped[bytes] = mapped_column(LargeBinary, deferred=True, deferred_raiseload=True)
    """The exact engine input, zlib-compressed JSON; applicant ids are opaque, so it can be published.
    Large, so never loaded with the run: `service.public_instance` reads it on its own."""
    instance_sha256: Mapped[str] = mapped_column(String(64))
    applicants: Mapped[int]
    placed: Mapped[int]
    seconds: Mapped[dict[str, Any]] = mapped_column(JSONB)
    """Timings of load, compile, solve and write."""


class Placement(Base):
    """One row per applicant in a run: where they were placed (or not), and their key at each choice."""

    __tablename__ = "placements"

    run_id: Mapped[int] = mapped_column(ForeignKey("selection_runs.id", ondelete="CASCADE"), primary_key=True)
    # No foreign key: written in bulk from the applications read in the same transaction (migration 0007).
    application_id: Mapped[int] = mapped_column(primary_key=True)
    opaque_id: Mapped[str] = mapped_column(String(40))
    program: Mapped[str | None] = mapped_column(String(100))
    choice_rank: Mapped[int | None]
    keys: Mapped[dict[str, Any]] = mapped_column(JSON)
    """Choice rank -> a `programs.Considered` or `programs.Dropped` entry (read it through `entries`).
    `json`, not `jsonb`: only read whole, and written for every applicant of a run (docs/benchmarks.md)."""

    def entries(self) -> dict[int, Entry]:
        return decode_entries(self.keys)


class ProgramOutcome(Base):
    __tablename__ = "program_outcomes"

    run_id: Mapped[int] = mapped_column(ForeignKey("selection_runs.id", ondelete="CASCADE"), primary_key=True)
    program: Mapped[str] = mapped_column(String(100), primary_key=True)
    school_npsn: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(100))
    capacity: Mapped[int]
    final_capacity: Mapped[int]
    filled: Mapped[int]
    cutoff: Mapped[list[float] | None] = mapped_column(JSONB)
    key_names: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))

    @property
    def program_key(self) -> ProgramKey:
        return ProgramKey.parse(self.program)

    @property
    def cut(self) -> Cutoff | None:
        """The cut-off with each value named (`cutoff` and `key_names` as stored)."""
        return Cutoff.of(self.key_names, self.cutoff)
