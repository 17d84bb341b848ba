"""Bodies of the score routes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import msgspec

from ppdb.scores.formula import Name

Grade = Annotated[float, msgspec.Meta(ge=0, le=100)]
SemesterKey = Annotated[str, msgspec.Meta(pattern=r"^([1-9]|1[0-2])$")]


class GraduateIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One graduate of an origin school; a rapor given replaces the stored one, none keeps it."""

    nisn: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{10}$")]
    nik: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{16}$")]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    birth_date: date
    origin_npsn: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{8}$")] | None = None
    """The origin school; an origin school's operator may leave it out (their own)."""
    rapor: Annotated[dict[Name, dict[SemesterKey, Grade]], msgspec.Meta(max_length=30)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    """Subject → semester → grade (0–100, at most 2 decimals)."""


class GraduateOut(msgspec.Struct, kw_only=True):
    nisn: str
    nik: str
    name: str
    birth_date: date
    origin_npsn: str
    rapor: dict[str, Any]
    updated_at: datetime


class PartOut(msgspec.Struct, kw_only=True):
    name: str
    source: str
    source_words: str
    weight: float
    """Percent of the final score."""
    value: float | None
    points: float | None
    """What it adds to the final score (value × weight)."""
    missing: list[str]
    detail: str | None = None
    """Where the value comes from, when it needs saying (the certificate's level and rank)."""


class ScoreOut(msgspec.Struct, kw_only=True):
    """The score an application ranks by, computed by the server from its sources, with its breakdown."""

    path: str
    total: float | None
    """None while a value it needs is missing (the applicant then ranks after those with a score)."""
    parts: list[PartOut]
    message: str
