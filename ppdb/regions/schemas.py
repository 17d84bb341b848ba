"""Request and response bodies for regions, presets and periods."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec

from ppdb.identity import EMAIL_PATTERN
from ppdb.regions.models import Level, PeriodStatus
from ppdb.regions.rules import (
    ChoiceLimit,
    ComplaintRules,
    DocumentKind,
    DocumentSpec,
    Mechanism,
    ProgramRules,
    RankingKey,
    Requirement,
    RuleSet,
    SchoolQuotas,
    Stage,
    StageLockout,
    SubQuota,
    Transfer,
)
from ppdb.scores.formula import ScoreRule

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
    required_documents: list[Requirement]


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


class NextStage(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The next stage's registration window; omitted: the stage's planned dates (`RuleSet.stages`)."""

    registration_opens_at: Moment | None = None
    registration_closes_at: Moment | None = None


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
    """Changes with every change of the period (optimistic locking: send it back with a rules change)."""
    rules_version: int
    """1 for the preset's rules, one more with each change of them; every selection run records the one it used."""
    stage: int = 1
    """The admission's stage this period runs (`rules.stages`), 1-based."""
    reregistration_closes_at: datetime | None = None
    """The daftar ulang deadline, once daftar ulang opens."""
    first_period_id: int | None = None
    """The admission's first stage, for a later one."""


Percent = Annotated[float, msgspec.Meta(ge=0, le=100)]
Months = Annotated[int, msgspec.Meta(ge=0, le=300)]


class PathUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Changes to one path, named by `name`; omitted fields stay as they are. A name the rules do not have adds
    a region's own path (with `quota`, `keys` and the national `category` it belongs to); `remove` drops one."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    quota: Percent | msgspec.UnsetType = msgspec.UNSET
    category: Annotated[str, msgspec.Meta(max_length=40)] | msgspec.UnsetType | None = msgspec.UNSET
    """The national path this one belongs to (its bounds hold for the sum); null: the name is national."""
    title: Annotated[str, msgspec.Meta(max_length=80)] | msgspec.UnsetType | None = msgspec.UNSET
    """How pages name the path, e.g. "Prestasi Lomba"."""
    remove: bool | msgspec.UnsetType = msgspec.UNSET
    keys: Annotated[list[RankingKey], msgspec.Meta(min_length=1, max_length=16)] | msgspec.UnsetType = msgspec.UNSET
    """Ordered ranking keys, the first decides first; the last is `lottery` or `submitted_at`."""
    requires_zone: bool | msgspec.UnsetType = msgspec.UNSET
    out_of_region: bool | msgspec.UnsetType = msgspec.UNSET
    """Whether children living outside the region may register on this path."""
    required_documents: Annotated[list[Requirement], msgspec.Meta(max_length=20)] | msgspec.UnsetType = msgspec.UNSET
    """Document kinds the path requires; a list inside: any one of those kinds (KIP, PKH, BPNT or KKS)."""
    sub_quotas: Annotated[list[SubQuota], msgspec.Meta(max_length=20)] | msgspec.UnsetType = msgspec.UNSET
    """Shares of the path's seats, adding up to 100; an applicant of the path then names one (`category`)."""
    score: ScoreRule | msgspec.UnsetType | None = msgspec.UNSET
    """The components of the path's score (rapor, tests, school index) and their weights."""


class RulesUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Partial change of a period's rules; omitted fields stay as they are. What may still change once
    registration is open: `regions/lifecycle.py` (`RULE_CHANGES`)."""

    quotas: dict[str, Percent] | msgspec.UnsetType = msgspec.UNSET
    paths: Annotated[list[PathUpdate], msgspec.Meta(max_length=20)] | msgspec.UnsetType = msgspec.UNSET
    mechanism: Mechanism | msgspec.UnsetType = msgspec.UNSET
    max_choices: Annotated[int, msgspec.Meta(ge=1, le=10)] | msgspec.UnsetType = msgspec.UNSET
    transfers: list[Transfer] | msgspec.UnsetType = msgspec.UNSET
    reference_date: date | msgspec.UnsetType = msgspec.UNSET
    """The day ages are counted on, in the school year's first calendar year."""
    min_age_months: Months | msgspec.UnsetType | None = msgspec.UNSET
    early_min_age_months: Months | msgspec.UnsetType | None = msgspec.UNSET
    """Younger children down to this age need a psychologist's letter (SD); null: no such exception."""
    max_age_years: Annotated[int, msgspec.Meta(ge=1, le=30)] | msgspec.UnsetType | None = msgspec.UNSET
    kk_min_age_days: Annotated[int, msgspec.Meta(ge=0, le=3650)] | msgspec.UnsetType = msgspec.UNSET
    """How long before registration opens the KK must have been issued."""
    age_exemptions: Annotated[list[DocumentKind], msgspec.Meta(max_length=10)] | msgspec.UnsetType = msgspec.UNSET
    """Documents that exempt a child from the maximum age (Jabar: `disability_proof`)."""
    documents: Annotated[list[DocumentSpec], msgspec.Meta(max_length=40)] | msgspec.UnsetType = msgspec.UNSET
    """The region's own document kinds (`kind`, `title`, `formats`); replaces the list."""
    choice_limits: Annotated[list[ChoiceLimit], msgspec.Meta(max_length=10)] | msgspec.UnsetType = msgspec.UNSET
    """Choice composition: at most `max` choices of a `kind` (`swasta`, `negeri`, `outside_zone`,
    `other_kabupaten`), only from choice `from_rank` on; replaces the list."""
    pin_required: bool | msgspec.UnsetType = msgspec.UNSET
    """Parents register a child only with the PIN issued for its NIK (`POST /api/periods/{id}/pins`)."""
    school_quotas: Annotated[list[SchoolQuotas], msgspec.Meta(max_length=500)] | msgspec.UnsetType = msgspec.UNSET
    """Schools with their own quotas (`npsn`, `quotas` by path), in place of the period's; replaces the list."""
    stages: Annotated[list[Stage], msgspec.Meta(max_length=8)] | msgspec.UnsetType = msgspec.UNSET
    """The admission's stages (`name`, `paths`, planned dates); each runs as a period of its own; replaces the
    list (empty: one stage with every path)."""
    stage_lockout: StageLockout | msgspec.UnsetType = msgspec.UNSET
    """Who may not register in a later stage: `placed` (a seat not declined at daftar ulang) or `confirmed`."""
    stage_lockout_ranks: Annotated[int, msgspec.Meta(ge=1, le=10)] | msgspec.UnsetType | None = msgspec.UNSET
    """Only a seat at one of the first this many choices keeps a child out of later stages (Jabar: 2)."""
    programs: ProgramRules | msgspec.UnsetType = msgspec.UNSET
    """SMK programs: the `requirements` programs may name (`name`, `title`, `document`) and how many programs of
    one school a child may choose (`max_per_school`)."""
    complaints: ComplaintRules | msgspec.UnsetType = msgspec.UNSET
    """The masa sanggah (`objection_days` after each announcement) and the days to decide a complaint."""
    version: Id | msgspec.UnsetType = msgspec.UNSET
    """The period version the change is based on; a stale version is refused (409)."""


class TemplateLoad(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    template: Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
    """A name from `GET /api/templates`."""
    version: Id | msgspec.UnsetType = msgspec.UNSET
    """The period version the change is based on; a stale version is refused (409)."""


OneLine = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]


class Faq(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    question: OneLine
    answer: Annotated[str, msgspec.Meta(min_length=1, max_length=2000, pattern=r"^[^\x00-\x08\x0b-\x1f\x7f]+$")]


class Helpdesk(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Where a region's families get help; every field optional."""

    phone: Annotated[str, msgspec.Meta(pattern=r"^\+?[0-9 ()-]{6,20}$")] | None = None
    whatsapp: Annotated[str, msgspec.Meta(pattern=r"^62[0-9]{8,13}$")] | None = None
    """A WhatsApp number in international form without +, e.g. 6281234567890."""
    email: Annotated[str, msgspec.Meta(pattern=EMAIL_PATTERN, max_length=200)] | None = None
    address: OneLine | None = None
    """Where the helpdesk desk is, e.g. the Dinas office or each school's posko."""
    hours: OneLine | None = None
    faq: Annotated[list[Faq], msgspec.Meta(max_length=30)] = []
    """The region's own questions, shown before the general ones."""


class HelpdeskOut(msgspec.Struct, kw_only=True):
    region_id: int
    region_name: str
    helpdesk: Helpdesk
    general: list[Faq]
    """The questions every region's families ask, answered by the system."""
