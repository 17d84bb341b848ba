"""The published announcement (the snapshot's exact shape) and public responses."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec


class PlacedEntry(msgspec.Struct, kw_only=True):
    rank: int
    registration_number: str
    """Masked: only the last four characters."""
    name: str
    """Masked: the first name, then initials (AHMAD F****)."""


class PathResult(msgspec.Struct, kw_only=True, omit_defaults=True):
    path: str
    program: str | None = None
    """At an SMK: the program (kompetensi keahlian) whose seats these are, named in `program_name`."""
    program_name: str | None = None
    seats: int
    final_seats: int
    filled: int
    cutoff: list[float] | None
    key_names: list[str]
    placed: list[PlacedEntry]


class SchoolResult(msgspec.Struct, kw_only=True):
    npsn: str
    name: str
    paths: list[PathResult]
    """At an SMK, each program's paths (`PathResult.program`)."""


class Seat(msgspec.Struct, kw_only=True):
    npsn: str
    school: str
    path: str


class Moved(msgspec.Struct, kw_only=True):
    """A child whose result differs from the previous version's, masked as in the lists."""

    registration_number: str
    name: str
    before: Seat | None
    """Where the previous version placed the child (None: nowhere, or not in it)."""
    after: Seat | None


class Snapshot(msgspec.Struct, kw_only=True):
    """Everything the public sees; its canonical JSON bytes are what the digest covers."""

    period_id: int
    period_name: str
    version: int
    round: int
    reason: str | None
    run_id: int
    run_digest: str
    published_at: datetime
    schools: list[SchoolResult]
    changes: list[Moved] | None = None
    """Who moved since the previous version (a correction, a vacancy round); None in the first version."""


class PublishRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=3, max_length=500, pattern=r"^[^\x00-\x1f\x7f]+$")] | None = None
    """Required for a correction (any version after the first of a round)."""


class PublicationOut(msgspec.Struct, kw_only=True):
    period_id: int
    version: int
    round: int
    digest: str
    published_at: datetime
    reason: str | None


class SummaryOut(msgspec.Struct, kw_only=True):
    publication: PublicationOut
    schools: list[SchoolResult]
    """Per school and path: seats, fill and cut-off (the lists themselves are per school)."""


class LookupOut(msgspec.Struct, kw_only=True):
    registration_number: str
    placed: bool
    npsn: str | None
    school_name: str | None
    path: str | None
    program: str | None = None
    """At an SMK: the program (kompetensi keahlian), named in `school_name`."""
    choice_rank: int | None
    version: int
    digest: str
    message: str
