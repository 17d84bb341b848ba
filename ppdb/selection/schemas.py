"""Response bodies for selection runs and explanations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from ppdb.regions.rules import Mechanism, Transfer


class ProgramOutcomeOut(msgspec.Struct, kw_only=True):
    program: str
    """The engine's program id: `npsn:path[/sub-quota][@SMK program]`."""
    npsn: str
    path: str
    """The path, with its sub-quota (`afirmasi/ketm`)."""
    program_code: str | None = None
    """At an SMK: the program (kompetensi keahlian) whose seats these are."""
    capacity: int
    final_capacity: int
    filled: int
    cutoff: list[float] | None
    key_names: list[str]


class RunOut(msgspec.Struct, kw_only=True):
    id: int
    period_id: int
    kind: str
    mechanism: str
    rules_version: int
    """The period's rules version the run used (`PeriodOut.rules_version`)."""
    digest: str
    instance_sha256: str
    applicants: int
    placed: int
    started_at: datetime
    finished_at: datetime | None
    seconds: dict[str, float]
    programs: list[ProgramOutcomeOut] = []


class ChoiceExplanation(msgspec.Struct, kw_only=True):
    rank: int
    npsn: str
    school_name: str
    program: str | None
    outcome: str
    """placed | not_placed | not_considered | dropped"""
    cutoff: list[float] | None = None
    key: list[float] | None = None
    position: int | None = None
    """Rank among the applicants competing for this program (1 = first); a position within `seats` holds a
    seat. None for a choice below the one that placed the applicant."""
    seats: int | None = None
    """Seats of the program after seat transfers."""
    text: str


class Explanation(msgspec.Struct, kw_only=True):
    registration_number: str
    run_id: int
    run_kind: str
    digest: str
    placed_choice: int | None
    summary: str
    at_risk: bool
    """Not placed at any choice in this run."""
    stale: bool = False
    """The application changed after this run; the next run will reflect it."""
    warning: str | None = None
    choices: list[ChoiceExplanation]


class WhatIfRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A variant of the period's rules; omitted fields keep the current rules."""

    preset: str | msgspec.UnsetType = msgspec.UNSET
    template: Annotated[str, msgspec.Meta(min_length=1, max_length=80)] | msgspec.UnsetType = msgspec.UNSET
    """A juknis template (`GET /api/templates`) applied to the current rules, before the fields below."""
    quotas: dict[str, float] | msgspec.UnsetType = msgspec.UNSET
    transfers: list[Transfer] | msgspec.UnsetType = msgspec.UNSET
    mechanism: Mechanism | msgspec.UnsetType = msgspec.UNSET


class PathFill(msgspec.Struct, kw_only=True):
    path: str
    seats: int
    filled: int
    variant_seats: int
    variant_filled: int


class GroupOutcome(msgspec.Struct, kw_only=True):
    group: str
    """The applicants' own path (and sub-quota category)."""
    applicants: int
    placed: int
    variant_placed: int
    changed: int


class PlacementChange(msgspec.Struct, kw_only=True):
    registration_number: str
    group: str
    current: str | None
    variant: str | None


class WhatIfOut(msgspec.Struct, kw_only=True):
    current_digest: str
    variant_digest: str
    paths: list[PathFill]
    groups: list[GroupOutcome]
    changed: int
    changes: list[PlacementChange]
    """At most 1,000 rows; `changed` counts them all."""
