"""Request and response bodies for schools and zones."""

from __future__ import annotations

import msgspec

from ppdb.regions.models import Level


class ImportResult(msgspec.Struct, kw_only=True):
    rows: int
    created: int = 0
    updated: int = 0
    removed: int = 0
    """Rows a re-import replaced away (a school's graduates not in its new list, school indexes)."""


class ProgramOut(msgspec.Struct, kw_only=True, omit_defaults=True):
    """An SMK's program (kompetensi keahlian): chosen as `npsn/code`."""

    code: str
    name: str
    capacity: int
    seats: dict[str, int]
    """Seats per path, derived from the quotas; they add up exactly to `capacity`."""
    requirements: list[str] = []
    """What the program requires, in words (checked by the school at verification)."""
    partner: str | None = None
    """The industry partner of a kelas industri."""


class SchoolOut(msgspec.Struct, kw_only=True):
    npsn: str
    name: str
    level: Level
    latitude: float
    longitude: float
    kelurahan_code: str | None
    ownership: str
    """`negeri` or `swasta`."""
    capacity: int
    seats: dict[str, int]
    """Seats per path, derived from the quotas; they add up exactly to `capacity`."""
    programs: list[ProgramOut] = []
    """At an SMK: its programs, each with its own seats (the school's are their sum)."""
