"""Request and response bodies for regions, presets and periods."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from ppdb.regions.models import Level, PeriodStatus
from ppdb.regions.rules import Mechanism, RankingKey, RuleSet, Transfer

SchoolYear = Annotated[str, msgspec.Meta(pattern=r"^20[0-9]{2}/20[0-9]{2}$", examples=["2026/2027"])]
Id = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
Moment = Annotated[datetime, msgspec.Meta(tz=True, description="With a time zone, e.g. 2027-06-01T08:00:00+07:00")]


class PresetPathOut(msgspec.Struct, kw_only=True):
    name: str
    quota: float
    minimum: float
    maximum: float
    keys: list[RankingKey]
    requires_zone: bool
    required_documents: list[str]


class PresetOut(msgspec.Struct, kw_only=True):
    name: str
    title: str
    level: Level
    paths: list[PresetPathOut]
    transfers: list[Transfer]
    min_age_months: int | None
    early_min_age_months: int | None
    max_age_years: int | None


class PeriodCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    region_id: Id
    school_year: SchoolYear
    level: Level
    preset: Annotated[str, msgspec.Meta(max_length=60)]
    registration_opens_at: Moment
    registration_closes_at: Moment
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None


class PeriodOut(msgspec.Struct, kw_only=True):
    id: int
    region_id: int
    name: str
    school_year: str
    level: Level
    status: PeriodStatus
    registration_opens_at: datetime
    registration_closes_at: datetime
    rules: RuleSet
    """`rules.lottery_seed` is empty until registration closes; `lottery_seed_sha256` commits to it."""
    lottery_seed_sha256: str
    version: int


class RulesUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Partial change of a period's rules; omitted fields stay as they are."""

    quotas: dict[str, Annotated[float, msgspec.Meta(ge=0, le=100)]] | msgspec.UnsetType = msgspec.UNSET
    mechanism: Mechanism | msgspec.UnsetType = msgspec.UNSET
    max_choices: Annotated[int, msgspec.Meta(ge=1, le=10)] | msgspec.UnsetType = msgspec.UNSET
    transfers: list[Transfer] | msgspec.UnsetType = msgspec.UNSET
    version: Id | msgspec.UnsetType = msgspec.UNSET
    """The period version the change is based on; a stale version is refused (409)."""
