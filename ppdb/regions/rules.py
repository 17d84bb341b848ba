"""Admission rules as data: rule sets, national presets and their bounds, seat apportionment."""

from __future__ import annotations

import enum
import re
import secrets
from collections.abc import Collection
from datetime import date, datetime
from typing import Annotated, Any, Literal, cast

import msgspec

from ppdb.labels import path_title
from ppdb.scores.formula import RAPOR_ONLY, Points, ScoreRule


class Level(enum.StrEnum):
    SD = "sd"
    SMP = "smp"
    SMA = "sma"
    SMK = "smk"


BASE_KEYS = ("distance", "age", "score", "zone_priority", "choice_rank", "lottery", "submitted_at")
RankingKey = Annotated[
    str,
    msgspec.Meta(
        pattern=rf"^({'|'.join(BASE_KEYS)}|score:[a-z][a-z0-9_]{{0,29}}|rapor:[a-z][a-z0-9_]{{0,29}})$",
        description="One of the base keys, or a part of the path's score as a tie-break: `score:<component>` "
        "(e.g. `score:indeks_sekolah`) or `rapor:<subject>` (that subject's average over the rapor's semesters).",
    ),
]
Mechanism = Literal["deferred_acceptance", "first_choice_priority"]
DocumentKind = Annotated[
    str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="A document kind: national, or the region's own.")
]
Format = Literal["pdf", "jpg", "png"]


class DocumentSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A kind of document: the national ones, and those a region adds (KIP, PKH, a union letter, …)."""

    kind: DocumentKind
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
    """How pages name it, e.g. "Kartu Indonesia Pintar (KIP)"."""
    formats: Annotated[list[Format], msgspec.Meta(max_length=3)] = []
    """The file formats accepted (checked by content); empty: PDF, JPEG or PNG."""


NATIONAL_DOCUMENTS: tuple[DocumentSpec, ...] = tuple(
    DocumentSpec(kind=kind, title=title)
    for kind, title in (
        ("kk", "Kartu Keluarga"),
        ("akta_kelahiran", "Akta kelahiran"),
        ("kk_exception", "Surat keterangan perubahan KK"),
        ("psychologist_letter", "Surat rekomendasi psikolog"),
        ("afirmasi_proof", "Bukti keluarga tidak mampu (KIP/PKH)"),
        ("disability_proof", "Bukti disabilitas"),
        ("mutasi_letter", "Surat mutasi tugas orang tua"),
        ("rapor", "Rapor"),
        ("prestasi_certificate", "Sertifikat prestasi"),
    )
)
"""The kinds every period knows (the national presets require them); a region adds its own in `documents`."""
CERTIFICATE: DocumentKind = "prestasi_certificate"
"""The document a path's certificate points are awarded for."""

Requirement = (
    Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    | Annotated[list[DocumentKind], msgspec.Meta(min_length=2, max_length=10)]
)
"""A document a path or sub-quota requires: one kind, or a list of kinds any one of which will do (DKI's
afirmasi: KIP, PKH, BPNT or KKS). Every kind must exist (`_check_documents`). The single kind carries no
`pattern`: in a union with a list, msgspec 0.22 releases a pattern's compiled regex once too often, and the
process crashes when it is collected."""


def alternatives(requirement: Requirement) -> list[str]:
    return [requirement] if isinstance(requirement, str) else list(requirement)


def unmet(requirements: list[Requirement], declared: Collection[str]) -> list[Requirement]:
    """The requirements none of whose kinds is among the declared documents."""
    return [r for r in requirements if not any(k in declared for k in alternatives(r))]


def failed(requirements: list[Requirement], declared: Collection[str], rejected: Collection[str]) -> bool:
    """Whether a requirement is no longer met: every kind of it the applicant declared was rejected."""
    for r in requirements:
        given = [k for k in alternatives(r) if k in declared or k in rejected]
        if given and all(k in rejected for k in given):
            return True
    return False


NATIONAL_PATHS = ("domisili", "zonasi", "afirmasi", "mutasi", "perpindahan_tugas", "prestasi")
"""The national path names of both regulations: every region path belongs to one of them."""


class SubQuota(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A share of a path's seats at each school, for part of its applicants.

    Which part is data: with `zone_tiers` empty, the applicants whose category (declared, checked by the
    school) is the sub-quota's name; otherwise each choice by where the child lives for that school, so a
    child can be `utama` at one school and `sebaran` at the next. A sub-quota that only takes those another
    one passes on (`fallback`) needs neither."""

    name: str
    share: float
    """Percent of the path's seats."""
    zone_tiers: list[int] = []
    """The zone tiers (1 innermost) of the school this sub-quota is for; 0: outside every tier."""
    per_kelurahan: bool = False
    """Split the seats equally among the kelurahan of those tiers in each school's zone (Surabaya)."""
    unused_to: str | None = None
    """Seats it leaves empty go to this sub-quota of the same path (a cap, e.g. panti ≤ 3 % then KETM)."""
    fallback: str | None = None
    """Its applicants not placed in it are ranked again in this sub-quota of the same path, at the same school
    (Jatim, Jateng: reguler, then sebaran)."""
    required_documents: Annotated[list[Requirement], msgspec.Meta(max_length=10)] = []
    """What an applicant of this category must also declare, e.g. disabilitas: the disability proof."""


class PathRule(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    quota: float
    """Percent of a school's capacity."""
    category: str | None = None
    """The national path this one belongs to (its bounds apply to their sum); unset: the name is national."""
    title: str | None = None
    """How pages name a region's own path, e.g. "Prestasi Lomba"."""
    keys: list[RankingKey]
    """Ordered ranking keys; the last one is `lottery`, so keys are strict."""
    requires_zone: bool = False
    out_of_region: bool = True
    """Whether children living outside the region may register on it (Kota Tangerang SMP: prestasi only)."""
    required_documents: list[Requirement] = []
    sub_quotas: list[SubQuota] = []
    score: ScoreRule | None = None
    """How the `score` key is computed from its sources (the path ranks by `score` only with one)."""

    @property
    def label(self) -> str:
        """The path as a parent reads it: the region's title, else the national name in words."""
        return path_title(self.name, self.title)

    @property
    def national(self) -> str:
        return self.category or self.name

    def sub_quota(self, name: str) -> SubQuota | None:
        return next((s for s in self.sub_quotas if s.name == name), None)

    def tiers_of(self, sub: SubQuota) -> list[int]:
        """The zone tiers a sub-quota takes applicants of: its own, and those of the ones falling back to it."""
        return sorted({*sub.zone_tiers, *(t for s in self.sub_quotas if s.fallback == sub.name for t in s.zone_tiers)})

    @property
    def zoned_sub_quotas(self) -> bool:
        """Whether the sub-quota follows each choice's zone tier (else the applicant's category)."""
        return any(s.zone_tiers for s in self.sub_quotas)


class Transfer(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    source: str = msgspec.field(name="from")
    target: str = msgspec.field(name="to")


Moment = Annotated[datetime, msgspec.Meta(tz=True)]
StageLockout = Literal["placed", "confirmed"]


class Stage(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A stage (tahap) of the admission: the paths it opens, and its planned dates for the public timeline.
    Each stage runs as a period of its own (`ppdb.flows.next_stage`): its registration, selection,
    announcement and daftar ulang; the seats a stage leaves empty go to the next."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=60, pattern=r"^[^\x00-\x1f\x7f]+$")]
    paths: Annotated[list[Annotated[str, msgspec.Meta(max_length=40)]], msgspec.Meta(min_length=1, max_length=20)]
    unplaced: Literal["register_again", "carried"] = "register_again"
    """Children placed nowhere in the stage before: they register anew (Jabar, Kota Tangerang tahap II), or
    their registrations are carried into this stage as they stand, where it opens their path."""
    opens_at: Moment | None = None
    closes_at: Moment | None = None
    announced_at: Moment | None = None
    reregistration_closes_at: Moment | None = None


ChoiceKind = Literal["swasta", "negeri", "outside_zone", "other_kabupaten"]
CHOICE_WORDS: dict[str, str] = {
    "swasta": "sekolah swasta",
    "negeri": "sekolah negeri",
    "outside_zone": "sekolah yang zonanya tidak mencakup alamat",
    "other_kabupaten": "sekolah di kabupaten/kota lain",
}


class ChoiceLimit(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """At most `max` of a child's choices may be of one kind, and only from choice `from_rank` on (Jabar: one
    swasta, as the third choice; Jatim: one outside the zone)."""

    kind: ChoiceKind
    max: Annotated[int, msgspec.Meta(ge=0, le=10)]
    from_rank: Annotated[int, msgspec.Meta(ge=1, le=10)] = 1


class SchoolQuotas(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One school's own quotas, in place of the period's for the paths named (a buffer school on the region's
    border, a zonasi khusus); the national bounds hold for it as for the period."""

    npsn: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{8}$")]
    quotas: Annotated[dict[str, Annotated[float, msgspec.Meta(ge=0, le=100)]], msgspec.Meta(min_length=1)]


class ComplaintRules(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The masa sanggah: how long after each announcement a family may object to its result, and how many days
    the Dinas has to decide a complaint (Jabar 2025: the stage 1 results announced, sanggah 24 June-2 July).
    Other complaints (registration, verification, a suspected fraud) are taken while the period runs."""

    objection_days: Annotated[int, msgspec.Meta(ge=1, le=30)] = 7
    decision_days: Annotated[int, msgspec.Meta(ge=1, le=30)] = 3
    keep_confirmed: bool = True
    """Whether a correction run keeps the seats confirmed at daftar ulang where they are (a confirmed seat is
    final), or solves their holders again with everyone else."""


class ProgramRequirement(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A condition an SMK program may set (Jatim: not colour-blind for TKJ, a minimum height for pelayaran; a
    kelas industri: its partner's test), checked by the school at verification; `document`: the letter that
    shows it, declared by whoever chooses the program."""

    name: DocumentKind
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=120, pattern=r"^[^\x00-\x1f\x7f]+$")]
    document: DocumentKind | None = None


class ProgramRules(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """SMK programs (kompetensi keahlian): the requirements programs may name (each program lists its own at the
    import), and how many programs of one SMK a child may choose (Jabar: 2)."""

    requirements: Annotated[list[ProgramRequirement], msgspec.Meta(max_length=40)] = []
    max_per_school: Annotated[int, msgspec.Meta(ge=1, le=10)] | None = None

    def requirement(self, name: str) -> ProgramRequirement | None:
        return next((r for r in self.requirements if r.name == name), None)

    def title(self, name: str) -> str:
        requirement = self.requirement(name)
        return requirement.title if requirement else name.replace("_", " ")


class RuleSet(msgspec.Struct, frozen=True, kw_only=True):
    preset: str
    paths: list[PathRule]
    transfers: list[Transfer] = []
    mechanism: Mechanism = "deferred_acceptance"
    max_choices: int = 3
    reference_date: date
    min_age_months: int | None = None
    early_min_age_months: int | None = None
    """Younger children down to this age need a psychologist's letter (SD)."""
    max_age_years: int | None = None
    kk_min_age_days: int = 365
    age_exemptions: list[DocumentKind] = []
    """Documents that exempt a child from the maximum age (Jabar: disabled children); the school checks them,
    and a rejected one takes the child out of the selection."""
    documents: list[DocumentSpec] = []
    """The region's own document kinds, or national ones with another title or formats."""
    choice_limits: list[ChoiceLimit] = []
    school_quotas: list[SchoolQuotas] = []
    pin_required: bool = False
    """Whether a parent registers a child only with the PIN issued for its NIK (Jatim, Kota Tangerang), by the
    Dinas or a school of the region."""
    stages: list[Stage] = []
    """The admission's stages in order (Jabar: tahap 1 domisili, afirmasi, mutasi; tahap 2 prestasi); none:
    one stage with every path."""
    stage_lockout: StageLockout = "placed"
    """Who may not register in a later stage: a child placed in an earlier one that did not decline the seat at
    daftar ulang (Jabar, DKI, Jatim: accepted means out, unless withdrawn), or only one that confirmed it."""
    stage_lockout_ranks: Annotated[int, msgspec.Meta(ge=1, le=10)] | None = None
    """Only a seat at one of the first this many choices keeps a child out (Jabar: choice 1 or 2; a private
    school at choice 3 does not); None: a seat at any choice."""
    complaints: ComplaintRules = ComplaintRules()
    programs: ProgramRules = msgspec.field(
        default_factory=ProgramRules
    )  # a factory: the OpenAPI schema hashes defaults
    lottery_seed: str

    def stage_paths(self, stage: int) -> list[str]:
        """The paths open for registration in stage `stage` (1-based): every path without stages."""
        return list(self.stages[stage - 1].paths) if self.stages else [p.name for p in self.paths]

    def for_stage(self, stage: int) -> RuleSet:
        """The rules a stage's selection runs on. Every path keeps its share of the seats the stage starts with;
        a path that opens only in a later stage keeps its seats for then (no transfer out of it), no seat goes
        back to a path whose stages are over, and such a path gives all of its seats on (along its own transfer
        where that leads to a path still to run, else to the stage's first path)."""
        if not self.stages:
            return self
        now = self.stage_paths(stage)
        later = {p for s in self.stages[stage:] for p in s.paths} - set(now)
        over = {p.name for p in self.paths} - set(now) - later
        transfers = [t for t in self.transfers if t.source not in later and t.target not in over]
        moved = {t.source for t in transfers}
        transfers += [Transfer(source=p, target=now[0]) for p in sorted(over - moved)]
        return msgspec.structs.replace(self, transfers=transfers)

    def quotas_at(self, npsn: str | None = None) -> dict[str, float]:
        """Each path's quota at a school: the period's, or the school's own where the rules give one."""
        quotas = {p.name: p.quota for p in self.paths}
        own = next((q for q in self.school_quotas if q.npsn == npsn), None)
        return quotas | (own.quotas if own else {})

    @property
    def document_kinds(self) -> dict[str, DocumentSpec]:
        """Every document kind of the period by name: the national ones, then the region's."""
        return {d.kind: d for d in (*NATIONAL_DOCUMENTS, *self.documents)}

    def document_title(self, kind: str) -> str:
        spec = self.document_kinds.get(kind)
        return spec.title if spec else kind.replace("_", " ")

    def requirement_words(self, requirement: Requirement) -> str:
        titles = [self.document_title(k) for k in alternatives(requirement)]
        return titles[0] if len(titles) == 1 else "salah satu dari " + " / ".join(titles)

    def path(self, name: str) -> PathRule | None:
        return next((p for p in self.paths if p.name == name), None)

    def path_label(self, name: str) -> str:
        """A path, or a path with its sub-quota (`afirmasi/ketm`), as parents read it: the region's title."""
        rule = self.path(name.partition("/")[0])
        return path_title(name, rule.title if rule else None)

    def path_or_alias(self, name: str) -> PathRule | None:
        """Also under its other regulation's name (zonasi is domisili since 2025): for comparing presets."""
        return self.path(name) or (self.path(PATH_ALIASES[name]) if name in PATH_ALIASES else None)


PATH_ALIASES = {
    "zonasi": "domisili",
    "domisili": "zonasi",
    "perpindahan_tugas": "mutasi",
    "mutasi": "perpindahan_tugas",
}


class Bound(msgspec.Struct, frozen=True):
    minimum: float = 0.0
    maximum: float = 100.0


class Preset(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    title: str
    level: Level
    paths: list[PathRule]
    bounds: dict[str, Bound]
    transfers: list[Transfer]
    min_age_months: int | None = None
    early_min_age_months: int | None = None
    max_age_years: int | None = None


# Sources: ../shared/research/ppdb-domain-briefing.md §1.1 (quotas), §2.1 (ages), §2.2 (ranking order).
_AGE = {
    Level.SD: dict(min_age_months=72, early_min_age_months=66, max_age_years=12),
    Level.SMP: dict(max_age_years=15),
    Level.SMA: dict(max_age_years=21),
    Level.SMK: dict(max_age_years=21),
}


def _path(
    name: str,
    quota: float,
    keys: list[RankingKey],
    *,
    requires_zone: bool = False,
    required_documents: list[Requirement] | None = None,
) -> PathRule:
    return PathRule(
        name=name,
        quota=quota,
        keys=[*keys, "lottery"],
        requires_zone=requires_zone,
        required_documents=required_documents or [],
        score=RAPOR_ONLY if "score" in keys else None,
    )


def _afirmasi(quota: float) -> PathRule:
    return _path("afirmasi", quota, ["distance", "age"], required_documents=["afirmasi_proof"])


def _permendikbud_2021(level: Level) -> Preset:
    zone_keys: list[RankingKey] = ["age", "distance"] if level is Level.SD else ["distance", "age"]
    zonasi = 70.0 if level is Level.SD else 50.0
    return Preset(
        name="permendikbud-1-2021",
        title="Permendikbud 1/2021 (PPDB 2021–2024)",
        level=level,
        paths=[
            _path("zonasi", zonasi, zone_keys, requires_zone=True),
            _afirmasi(15.0),
            _path("perpindahan_tugas", 5.0, ["distance", "age"], required_documents=["mutasi_letter"]),
            _path("prestasi", 100.0 - zonasi - 20.0, ["score", "age"], required_documents=["rapor"]),
        ],
        bounds={
            "zonasi": Bound(minimum=zonasi),
            "afirmasi": Bound(minimum=15.0),
            "perpindahan_tugas": Bound(maximum=5.0),
            "prestasi": Bound(),
        },
        # Prestasi takes whatever the other paths leave (1/2021).
        transfers=[
            Transfer("perpindahan_tugas", "prestasi"),
            Transfer("afirmasi", "prestasi"),
            Transfer("zonasi", "prestasi"),
        ],
        **_AGE[level],
    )


def _smk_2025() -> Preset:
    """SMK under SPMB 2025: the paths' national shares do not apply, only at least 15 % afirmasi and at most 10 %
    for the nearest homes (briefing §1.1: "jalur penerimaan murid baru dikecualikan untuk SMK"); the rest goes by
    achievement, and seats left on the other paths go to it (Jatim: leftover domisili to prestasi)."""
    return Preset(
        name="permendikdasmen-3-2025",
        title="Permendikdasmen 3/2025 (SPMB 2025–)",
        level=Level.SMK,
        paths=[
            _path("domisili", 10.0, ["distance", "age"]),
            _afirmasi(15.0),
            _path("mutasi", 5.0, ["distance", "age"], required_documents=["mutasi_letter"]),
            _path("prestasi", 70.0, ["score", "age"], required_documents=["rapor"]),
        ],
        bounds={
            "domisili": Bound(maximum=10.0),
            "afirmasi": Bound(minimum=15.0),
            "mutasi": Bound(),
            "prestasi": Bound(),
        },
        transfers=[Transfer("afirmasi", "prestasi"), Transfer("mutasi", "prestasi"), Transfer("domisili", "prestasi")],
        **_AGE[Level.SMK],
    )


def _permendikdasmen_2025(level: Level) -> Preset:
    if level is Level.SMK:
        return _smk_2025()
    domisili_keys: dict[Level, list[RankingKey]] = {
        Level.SD: ["age", "distance"],
        Level.SMP: ["distance", "age"],
        Level.SMA: ["score", "distance", "age"],
    }
    if level is Level.SD:  # no prestasi path for SD (Pasal 6-7)
        quotas = {"domisili": 80.0, "afirmasi": 15.0, "mutasi": 5.0}
        bounds = {"domisili": Bound(minimum=70.0), "afirmasi": Bound(minimum=15.0), "mutasi": Bound(maximum=5.0)}
        transfers = [Transfer("afirmasi", "domisili"), Transfer("mutasi", "domisili")]
    else:
        smp = level is Level.SMP
        quotas = {"domisili": 40.0 if smp else 30.0, "afirmasi": 20.0 if smp else 30.0, "mutasi": 5.0, "prestasi": 35.0}
        bounds = {
            "domisili": Bound(minimum=quotas["domisili"]),
            "afirmasi": Bound(minimum=quotas["afirmasi"]),
            "mutasi": Bound(maximum=5.0),
            "prestasi": Bound(minimum=25.0 if smp else 30.0),
        }
        transfers = [Transfer("afirmasi", "domisili"), Transfer("mutasi", "prestasi"), Transfer("prestasi", "domisili")]
    paths = [
        _path("domisili", quotas["domisili"], domisili_keys[level], requires_zone=True),
        _afirmasi(quotas["afirmasi"]),
        _path("mutasi", quotas["mutasi"], ["distance", "age"], required_documents=["mutasi_letter"]),
    ]
    if "prestasi" in quotas:
        paths.append(_path("prestasi", quotas["prestasi"], ["score", "age"], required_documents=["rapor"]))
    return Preset(
        name="permendikdasmen-3-2025",
        title="Permendikdasmen 3/2025 (SPMB 2025–)",
        level=level,
        paths=paths,
        bounds=bounds,
        transfers=transfers,
        **_AGE[level],
    )


PRESETS: dict[tuple[str, Level], Preset] = {
    (preset.name, preset.level): preset
    for level in Level
    for preset in (_permendikbud_2021(level), _permendikdasmen_2025(level))
    if not (level is Level.SMK and preset.name == "permendikbud-1-2021")  # SMK admissions from 2025 only
}


def rules_from_preset(preset: Preset, school_year: str) -> RuleSet:
    start_year = int(school_year[:4])
    return RuleSet(
        preset=preset.name,
        paths=list(preset.paths),
        transfers=list(preset.transfers),
        reference_date=date(start_year, 7, 1),
        min_age_months=preset.min_age_months,
        early_min_age_months=preset.early_min_age_months,
        max_age_years=preset.max_age_years,
        lottery_seed=secrets.token_hex(16),
    )


class RuleViolation(ValueError):
    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


def check_rules(rules: RuleSet, preset: Preset) -> None:
    """Refuse rule sets that break the preset's national bounds or do not add up.

    A region may split a national path into several of its own (prestasi lomba / akademik): the bounds
    then hold for their sum, and every national path of the preset keeps at least one."""
    names = [p.name for p in rules.paths]
    nationals = {p.name for p in preset.paths}
    if len(set(names)) != len(names):
        raise RuleViolation("path_duplicate", "Nama jalur harus berbeda satu sama lain.", "paths")
    for path in rules.paths:
        if not PATH_NAME.match(path.name):
            raise RuleViolation(
                "path_name_invalid",
                f"Nama jalur '{path.name}': huruf kecil, angka dan garis bawah, paling banyak 24.",
                f"paths.{path.name}",
            )
        if path.national not in nationals:
            raise RuleViolation(
                "path_category_unknown",
                f"Jalur {path.name} harus termasuk salah satu jalur nasional: {', '.join(sorted(nationals))}.",
                f"paths.{path.name}.category",
            )
        _check_path(path)
    missing = nationals - {p.national for p in rules.paths}
    if missing:
        raise RuleViolation(
            "paths_mismatch", f"Jalur nasional tanpa jalur daerah: {', '.join(sorted(missing))}.", "paths"
        )
    _check_quotas(rules, preset, rules.quotas_at(), "")
    seen: set[str] = set()
    for own in rules.school_quotas:
        where = f"school_quotas.{own.npsn}"
        if own.npsn in seen:
            raise RuleViolation("school_quotas_duplicate", f"Kuota sekolah {own.npsn} diisi dua kali.", where)
        seen.add(own.npsn)
        unknown = sorted(set(own.quotas) - set(names))
        if unknown:
            raise RuleViolation("path_unknown", f"Jalur tidak dikenal: {', '.join(unknown)}.", where)
        _check_quotas(rules, preset, rules.quotas_at(own.npsn), f" di sekolah {own.npsn}", where)
    if not 1 <= rules.max_choices <= 10:
        raise RuleViolation("max_choices_invalid", "Jumlah pilihan sekolah harus antara 1 dan 10.", "max_choices")
    _check_transfers(rules.transfers, set(names))
    _check_stages(rules.stages, set(names))
    _check_ages(rules)
    _check_documents(rules)


def _check_stages(stages: list[Stage], names: set[str]) -> None:
    for i, stage in enumerate(stages):
        where = f"stages[{i}]"
        if unknown := sorted(set(stage.paths) - names):
            raise RuleViolation("path_unknown", f"Jalur tidak dikenal pada {stage.name}: {', '.join(unknown)}.", where)
        if len(set(stage.paths)) != len(stage.paths):
            raise RuleViolation("path_duplicate", f"Jalur pada {stage.name} harus berbeda satu sama lain.", where)
    if len({s.name for s in stages}) != len(stages):
        raise RuleViolation("stage_duplicate", "Nama tahap harus berbeda satu sama lain.", "stages")


def _check_quotas(rules: RuleSet, preset: Preset, quotas: dict[str, float], at: str, where: str = "") -> None:
    """The national bounds for each national path's sum, and 100 % in all (`at`/`where`: a school's own)."""
    for national in sorted({p.national for p in rules.paths}):
        bound = preset.bounds[national]
        members = [p.name for p in rules.paths if p.national == national]
        quota = sum(quotas[name] for name in members)
        if not bound.minimum - 1e-9 <= quota <= bound.maximum + 1e-9:
            field = where or (f"quotas.{members[0]}" if len(members) == 1 else f"paths.{national}")
            raise RuleViolation(
                "quota_out_of_bounds",
                f"Kuota jalur {path_title(national)}{at} {quota:g}% melanggar batas nasional {preset.title}: "
                f"minimal {bound.minimum:g}%, maksimal {bound.maximum:g}%.",
                field,
            )
    total = sum(quotas.values())
    if abs(total - 100.0) > 1e-9:
        raise RuleViolation(
            "quota_sum_invalid", f"Jumlah kuota semua jalur{at} harus 100%, sekarang {total:g}%.", where or "quotas"
        )


def _check_documents(rules: RuleSet) -> None:
    """Every kind named anywhere exists (national or the region's), and a region's kinds are named once."""
    own = [d.kind for d in rules.documents]
    if len(set(own)) != len(own):
        raise RuleViolation("document_duplicate", "Setiap jenis dokumen hanya boleh didefinisikan sekali.", "documents")
    known = rules.document_kinds
    names = [r.name for r in rules.programs.requirements]
    if len(set(names)) != len(names):
        raise RuleViolation(
            "program_requirement_duplicate", "Setiap syarat program hanya boleh didefinisikan sekali.", "programs"
        )
    for p in rules.paths:
        if p.zoned_sub_quotas and any(s.required_documents for s in p.sub_quotas):
            raise RuleViolation(
                "sub_quota_documents_invalid",
                f"Sub-kuota jalur {p.label} mengikuti zona, bukan kategori yang dipilih: dokumennya tidak bisa diminta.",
                f"paths.{p.name}.sub_quotas",
            )
    named = [
        *((f"paths.{p.name}.required_documents", r) for p in rules.paths for r in p.required_documents),
        *(
            (f"paths.{p.name}.sub_quotas.{s.name}.required_documents", r)
            for p in rules.paths
            for s in p.sub_quotas
            for r in s.required_documents
        ),
        *(("age_exemptions", k) for k in rules.age_exemptions),
        *(("programs.requirements", r.document) for r in rules.programs.requirements if r.document),
    ]
    for field, requirement in named:
        for kind in alternatives(requirement):
            if kind not in known:
                raise RuleViolation(
                    "document_kind_unknown",
                    f"Jenis dokumen '{kind}' tidak dikenal: tambahkan dulu di daftar dokumen daerah.",
                    field,
                )


STRICT_KEYS: tuple[RankingKey, ...] = ("lottery", "submitted_at")
"""Keys that may end a ranking chain. Exact ties left by `submitted_at` (registrations committed together) go to
the engine's last tie-break, the applicant's opaque id: secret-keyed, so no one can choose it."""

PATH_NAME = re.compile(r"^[a-z][a-z0-9_]{0,23}$")
SUB_QUOTA_NAME = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
"""Both short enough that a per-kelurahan program id (`npsn:path/name-kelurahan@program`) fits its column (100)."""


def _check_path(path: PathRule) -> None:
    where = f"paths.{path.name}"
    keys = path.keys
    if len(set(keys)) != len(keys):
        raise RuleViolation(
            "ranking_key_duplicate", f"Kriteria peringkat jalur {path.label} tidak boleh berulang.", f"{where}.keys"
        )
    if not keys or keys[-1] not in STRICT_KEYS:
        raise RuleViolation(
            "ranking_keys_not_strict",
            f"Urutan kriteria jalur {path.label} harus diakhiri 'lottery' atau 'submitted_at' agar tidak ada "
            "peringkat yang seri.",
            f"{where}.keys",
        )
    if "lottery" in keys[:-1]:
        raise RuleViolation(
            "ranking_key_unreachable",
            f"Kriteria setelah 'lottery' pada jalur {path.label} tidak pernah dipakai; 'lottery' harus terakhir.",
            f"{where}.keys",
        )
    kinds = [k for r in path.required_documents for k in alternatives(r)]
    if len(set(kinds)) != len(kinds):
        raise RuleViolation(
            "document_duplicate",
            f"Dokumen wajib jalur {path.label} tidak boleh berulang.",
            f"{where}.required_documents",
        )
    _check_sub_quotas(path)
    _check_score(path)


def _check_score(path: PathRule) -> None:
    where, rule = f"paths.{path.name}.score", path.score
    parts = [k for k in path.keys if k.startswith(("score:", "rapor:"))]
    if rule is None:
        if "score" in path.keys or parts:
            raise RuleViolation(
                "score_rule_missing", f"Jalur {path.name} memeringkat dengan nilai: tentukan komponen nilainya.", where
            )
        return
    names = [c.name for c in rule.components]
    if len(set(names)) != len(names):
        raise RuleViolation("score_rule_invalid", f"Nama komponen nilai jalur {path.label} harus berbeda.", where)
    weights = sum(c.weight for c in rule.components)
    if abs(weights - 100.0) > 1e-9:
        raise RuleViolation(
            "score_weights_invalid",
            f"Bobot komponen nilai jalur {path.label} harus berjumlah 100%, sekarang {weights:g}%.",
            where,
        )
    rapor = next((c for c in rule.components if c.source == "rapor"), None)
    for key in parts:
        kind, name = key.split(":", 1)
        known = (
            name in names if kind == "score" else rapor is not None and (not rapor.subjects or name in rapor.subjects)
        )
        if not known:
            raise RuleViolation(
                "ranking_key_unknown",
                f"Kriteria {key} jalur {path.label} tidak ada pada komponen nilainya.",
                f"paths.{path.name}.keys",
            )
    if sum(c.source == "certificate" for c in rule.components) > 1:
        raise RuleViolation(
            "score_rule_invalid", f"Jalur {path.name}: poin sertifikat hanya boleh satu komponen.", where
        )
    for c in rule.components:
        if (c.source == "certificate") != (c.points is not None):
            raise RuleViolation(
                "score_rule_invalid",
                f"Komponen {c.name} jalur {path.label}: tabel poin hanya untuk sertifikat, dan sertifikat wajib punya.",
                f"{where}.{c.name}",
            )
        if c.points is not None and not _points_valid(c.points):
            raise RuleViolation(
                "score_rule_invalid",
                f"Komponen {c.name} jalur {path.label}: poin paling banyak 2 desimal, dan batas usia sertifikat "
                "terlama harus lebih lama dari terbaru.",
                f"{where}.{c.name}.points",
            )
        if c.source != "rapor" and (c.subjects or c.semesters):
            raise RuleViolation(
                "score_rule_invalid",
                f"Komponen {c.name} jalur {path.label}: mata pelajaran dan semester hanya untuk rapor.",
                f"{where}.{c.name}",
            )
        if len(set(c.subjects)) != len(c.subjects) or len(set(c.semesters)) != len(c.semesters):
            raise RuleViolation(
                "score_rule_invalid",
                f"Komponen {c.name} jalur {path.label}: mata pelajaran dan semester tidak boleh berulang.",
                f"{where}.{c.name}",
            )


def _points_valid(points: Points) -> bool:
    rows = [*points.individual.rows(), *(points.team.rows() if points.team else [])]
    return points.newest_months < points.oldest_months and all(round(v, 2) == v for row in rows for v in row)


def _check_ages(rules: RuleSet) -> None:
    low, early, high = rules.min_age_months, rules.early_min_age_months, rules.max_age_years
    if early is not None and (low is None or early >= low):
        raise RuleViolation(
            "age_limits_invalid",
            "Usia minimal dengan surat psikolog harus lebih muda dari usia minimal (dan usia minimal harus diisi).",
            "early_min_age_months",
        )
    if low is not None and high is not None and low >= high * 12:
        raise RuleViolation("age_limits_invalid", "Usia minimal harus lebih muda dari usia maksimal.", "min_age_months")


def check_reference_date(rules: RuleSet, school_year: str) -> None:
    """Ages are counted on a day of the school year's first calendar year (1 July in the national presets)."""
    start_year = int(school_year[:4])
    if rules.reference_date.year != start_year:
        raise RuleViolation(
            "reference_date_invalid",
            f"Tanggal acuan usia harus pada tahun {start_year} (awal tahun ajaran {school_year}).",
            "reference_date",
        )


def _check_sub_quotas(path: PathRule) -> None:
    subs = path.sub_quotas
    field = f"paths.{path.name}.sub_quotas"
    for sub in subs:
        if not SUB_QUOTA_NAME.match(sub.name) or not 0 < sub.share <= 100:
            raise RuleViolation(
                "sub_quota_invalid",
                f"Sub-kuota '{sub.name}' jalur {path.label}: nama huruf kecil/angka/garis bawah (maks. 30), "
                "bagian lebih dari 0% sampai 100%.",
                field,
            )
    names = {s.name for s in subs}
    if len(names) != len(subs):
        raise RuleViolation("sub_quota_invalid", f"Nama sub-kuota jalur {path.label} tidak boleh berulang.", field)
    # Every seat of the path goes to one of its sub-quotas (the compiler apportions by share): less than 100 %
    # would be scaled up silently, so the shares must add up.
    if subs and abs(sum(s.share for s in subs) - 100.0) > 1e-9:
        raise RuleViolation("sub_quota_sum_invalid", f"Sub-kuota jalur {path.label} harus berjumlah 100%.", field)
    targets = {s.fallback for s in subs if s.fallback}
    if path.zoned_sub_quotas and not all(s.zone_tiers or s.name in targets for s in subs):
        raise RuleViolation(
            "sub_quota_basis_mixed",
            f"Sub-kuota jalur {path.label} mengikuti zona: setiap sub-kuota menyebut tingkat zonanya "
            "(atau menampung pendaftar yang dialihkan sub-kuota lain).",
            field,
        )
    tiers = [t for s in subs for t in s.zone_tiers]
    if len(tiers) != len(set(tiers)):
        raise RuleViolation(
            "sub_quota_tier_overlap", f"Satu tingkat zona hanya untuk satu sub-kuota jalur {path.label}.", field
        )
    for sub in subs:
        if sub.per_kelurahan and not path.tiers_of(sub):
            raise RuleViolation(
                "sub_quota_per_kelurahan_without_tiers",
                f"Sub-kuota {sub.name} dibagi per kelurahan: sebutkan tingkat zonanya.",
                f"{field}.{sub.name}",
            )
    _check_transfers([Transfer(s.name, s.unused_to) for s in subs if s.unused_to], names, f"{field}.unused_to")
    _check_transfers([Transfer(s.name, s.fallback) for s in subs if s.fallback], names, f"{field}.fallback")


def _check_transfers(transfers: list[Transfer], names: set[str], field: str = "transfers") -> None:
    graph: dict[str, set[str]] = {}
    for t in transfers:
        if t.source not in names or t.target not in names or t.source == t.target:
            raise RuleViolation("transfer_invalid", f"Pengalihan kursi {t.source} → {t.target} tidak valid.", field)
        graph.setdefault(t.source, set()).add(t.target)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in graph.get(start, ()))

    if any(reaches(t.target, t.source, {t.target}) for t in transfers):
        raise RuleViolation("transfer_cycle", "Urutan pengalihan kursi tidak boleh melingkar.", field)


def with_changes(
    rules: RuleSet,
    *,
    quotas: dict[str, float] | None = None,
    path_changes: dict[str, dict[str, object]] | None = None,
    **fields: object,
) -> RuleSet:
    """A copy with some quotas, path fields (by path name) and top-level fields replaced. A path change naming
    a path the rules do not have adds it (a region's own path: quota and keys at least); `remove` drops one.
    Unknown paths in `quotas` are refused, and so is a quota given both in `quotas` and in a path's changes."""
    known = {p.name for p in rules.paths}
    changes = {name: dict(c) for name, c in (path_changes or {}).items()}
    removed = {name for name, c in changes.items() if c.pop("remove", False)}
    for name in changes:
        if name not in known and (name in removed or not {"quota", "keys"} <= changes[name].keys()):
            raise RuleViolation(
                "path_unknown", f"Jalur tidak dikenal: {name} (jalur baru: isi kuota dan kriteria).", f"paths.{name}"
            )
    for name, quota in (quotas or {}).items():
        if name not in known:
            raise RuleViolation("path_unknown", f"Jalur tidak dikenal: {name}.", "quotas")
        if "quota" in changes.get(name, {}):
            raise RuleViolation(
                "quota_given_twice", f"Kuota jalur {name} diisi dua kali (quotas dan paths).", f"quotas.{name}"
            )
        changes.setdefault(name, {})["quota"] = quota
    if changes:
        kept = [msgspec.structs.replace(p, **changes.get(p.name, {})) for p in rules.paths if p.name not in removed]
        added = [PathRule(name=name, **cast(dict[str, Any], c)) for name, c in changes.items() if name not in known]
        fields["paths"] = kept + added
    return msgspec.structs.replace(rules, **fields)


def changed_fields(old: RuleSet, new: RuleSet) -> list[str]:
    """The fields that differ, named as errors name them: `quotas.<path>`, `paths.<path>.<field>`, `<field>`."""
    names = [f for f in RuleSet.__struct_fields__ if f not in ("paths", "lottery_seed")]
    changed = [f for f in names if getattr(old, f) != getattr(new, f)]
    for before in old.paths:
        after = new.path(before.name)
        if after is None:
            changed.append(f"paths.{before.name}")
            continue
        for f in PathRule.__struct_fields__:
            if getattr(before, f) != getattr(after, f):
                changed.append(f"quotas.{before.name}" if f == "quota" else f"paths.{before.name}.{f}")
    changed += [f"paths.{p.name}" for p in new.paths if old.path(p.name) is None]
    return changed


def audited(rules: RuleSet) -> dict:
    """The rule set as the audit log keeps it: whole, but without the lottery seed (secret until registration
    closes; its hash is public)."""
    out = msgspec.to_builtins(rules)
    del out["lottery_seed"]
    return out


def apportion(total: int, weights: list[float]) -> list[int]:
    """Largest-remainder (Hamilton) apportionment: integer seats that add up exactly to `total`.

    Ties in the remainders go to the earlier entry, so the result is deterministic.
    """
    weight_sum = sum(weights)
    if total <= 0 or weight_sum <= 0:
        return [0] * len(weights)
    exact = [total * w / weight_sum for w in weights]
    seats = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - seats[i]), i))
    for i in order[: total - sum(seats)]:
        seats[i] += 1
    return seats


def seats_per_path(rules: RuleSet, capacity: int, npsn: str | None = None) -> dict[str, int]:
    quotas = rules.quotas_at(npsn)
    return dict(zip(quotas, apportion(capacity, list(quotas.values())), strict=True))
