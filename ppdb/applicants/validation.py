"""Registration rules: everything a registration must satisfy, checked without a database.

`validate` takes the period's context (loaded by the service, or kept by the runtime) and the form, and returns
the plan to store (path, each choice's distance and zone) or raises every rule a parent has to fix at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from ppdb.applicants import schemas
from ppdb.errors import AppError
from ppdb.geo import haversine_m, in_indonesia
from ppdb.identity import KELURAHAN, KK, NIK, NISN, completed_months, nik_matches
from ppdb.regions.models import Period, PeriodStatus
from ppdb.regions.rules import CHOICE_WORDS, Level, PathRule, RuleSet, unmet

CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class ProgramInfo:
    """An SMK's program (kompetensi keahlian) in the period."""

    id: int
    code: str
    name: str
    requirements: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SchoolInfo:
    id: int
    npsn: str
    name: str
    level: str
    latitude: float
    longitude: float
    capacity: int
    ownership: str = "negeri"
    kelurahan_code: str | None = None
    programs: dict[str, ProgramInfo] = field(default_factory=dict)
    """At an SMK: its programs by code; such a school is chosen by program (`npsn/code`)."""


@dataclass(frozen=True, slots=True)
class OpenPeriod:
    """The fields of a period that registration reads, copied: an ORM row expires with its session."""

    id: int
    version: int
    status: PeriodStatus
    level: Level
    school_year: str
    registration_opens_at: datetime
    registration_closes_at: datetime
    stage: int = 1
    first_period_id: int | None = None

    @property
    def admission_id(self) -> int:
        return self.first_period_id or self.id

    @classmethod
    def of(cls, period: Period) -> OpenPeriod:
        return cls(
            period.id,
            period.version,
            period.status,
            period.level,
            period.school_year,
            period.registration_opens_at,
            period.registration_closes_at,
            period.stage,
            period.first_period_id,
        )


class ZoneArea(NamedTuple):
    """One area of a school's zone: a kelurahan (or one RW of it, or one RT of that RW), or a radius."""

    kelurahan: str | None
    rw: int | None
    rt: int | None
    radius: float | None
    priority: int

    def covers(self, data: schemas.ApplicationCreate, metres: float) -> bool:
        if self.radius is not None:
            return metres <= self.radius
        return (self.kelurahan, self.rw or data.rw, self.rt or data.rt) == (data.kelurahan_code, data.rw, data.rt)


@dataclass(frozen=True, slots=True)
class PeriodContext:
    """What validating a registration needs from the database, loaded once (`zones`: per school id, its
    areas with their priority)."""

    period: Period | OpenPeriod
    rules: RuleSet
    region_code: str
    schools: dict[str, SchoolInfo]
    zones: dict[int, list[ZoneArea]] = field(default_factory=dict)
    kelurahan: frozenset[str] = frozenset()
    """The region's kelurahan codes where its wilayah is loaded (`regions.wilayah`); empty: not checked."""


@dataclass(frozen=True, slots=True)
class ChoicePlan:
    rank: int
    school: SchoolInfo
    distance_m: Decimal
    in_zone: bool
    zone_priority: int | None
    program: ProgramInfo | None = None

    @property
    def place(self) -> str:
        """How the choice is named to the parent: the school, or "school – program"."""
        return f"{self.school.name} – {self.program.name}" if self.program else self.school.name


@dataclass(frozen=True, slots=True)
class Plan:
    path: PathRule
    choices: list[ChoicePlan]
    in_region: bool


class Problems:
    """Refusals gathered so that a parent sees every one at once: each independent check runs in `check()`,
    and `raise_any` raises the first (its code is the answer's) with all of them, one per field, as `details`."""

    def __init__(self) -> None:
        self.found: list[AppError] = []

    def check(self) -> Problems:
        """`with found.check():` a refusal raised inside is kept, and the next check runs."""
        return self

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: object) -> bool:
        if isinstance(error, AppError):
            self.found.append(error)
            return True
        return False

    def on(self, name: str) -> bool:
        return any(e.field == name for e in self.found)

    def raise_any(self) -> None:
        if not self.found:
            return
        first, fields = self.found[0], set()
        details = []
        for e in self.found:
            if e.field not in fields:
                fields.add(e.field)
                details.append({"code": e.code, "message": e.message, "field": e.field})
        if len(details) > 1:
            first.details = details
        raise first


def validate(
    ctx: PeriodContext, data: schemas.ApplicationCreate, today: date | None = None, *, enforce_zone: bool = True
) -> Plan:
    """Every registration rule. All failures are reported at once (`Problems`), the first in the order a parent
    would fix them giving the answer's code; where the child lives (region, zones) and the choices are checked
    once the path, the kelurahan and the home point are valid."""
    rules, period = ctx.rules, ctx.period
    today = today or datetime.now(UTC).date()
    found = Problems()
    with found.check():
        if not NIK.fullmatch(data.nik):
            raise AppError("nik_invalid", "NIK harus terdiri dari 16 angka.", "nik")
        if not nik_matches(data.nik, data.birth_date, data.sex):
            raise AppError(
                "nik_birthdate_mismatch",
                "Tanggal lahir atau jenis kelamin tidak sesuai dengan NIK (digit 7–12: TTBBYY, tanggal +40 untuk "
                "perempuan).",
                "birth_date",
            )
    with found.check():
        if data.nisn is not None and not NISN.fullmatch(data.nisn):
            raise AppError("nisn_invalid", "NISN harus terdiri dari 10 angka.", "nisn")
    with found.check():
        if not KK.fullmatch(data.kk_number):
            raise AppError("kk_number_invalid", "Nomor KK harus terdiri dari 16 angka.", "kk_number")
    with found.check():
        _check_kelurahan(ctx, data)
    with found.check():
        if not in_indonesia(data.latitude, data.longitude):
            raise AppError(
                "coordinate_outside_indonesia", "Koordinat rumah berada di luar wilayah Indonesia.", "latitude"
            )
    with found.check():
        if data.birth_date >= today:
            raise AppError("birth_date_invalid", "Tanggal lahir tidak valid.", "birth_date")
        _check_age(rules, data)
    with found.check():
        _check_kk(rules, period, data, today)
    path = rules.path(data.path)
    in_region = data.kelurahan_code.startswith(ctx.region_code + ".") if ctx.region_code else True
    home = not found.on("kelurahan_code") and not found.on("latitude")  # where the child lives is known
    with found.check():
        _check_path(ctx, path, data, in_region if home else True)
    choices: list[ChoicePlan] = []
    if path is not None and home:
        with found.check():
            choices = _plan_choices(ctx, path, data, enforce_zone=enforce_zone)
    found.raise_any()
    assert path is not None  # else `_check_path` refused it
    return Plan(path, choices, in_region)


def _check_kelurahan(ctx: PeriodContext, data: schemas.ApplicationCreate) -> None:
    if not KELURAHAN.fullmatch(data.kelurahan_code):
        raise AppError(
            "kelurahan_code_invalid",
            "Kode kelurahan/desa harus berformat Kemendagri, contoh 36.71.01.1001.",
            "kelurahan_code",
        )
    if (
        ctx.kelurahan
        and data.kelurahan_code.startswith(ctx.region_code + ".")
        and data.kelurahan_code not in ctx.kelurahan
    ):
        raise AppError(
            "kelurahan_unknown",
            f"Kode kelurahan/desa {data.kelurahan_code} tidak ada di daftar wilayah daerah ini; pilih dari daftar.",
            "kelurahan_code",
        )


def _check_path(ctx: PeriodContext, path: PathRule | None, data: schemas.ApplicationCreate, in_region: bool) -> None:
    rules = ctx.rules
    if path is None:
        names = ", ".join(p.name for p in rules.paths)
        raise AppError("path_unknown", f"Jalur '{data.path}' tidak tersedia. Pilihan: {names}.", "path")
    if path.name not in (open_ := rules.stage_paths(ctx.period.stage)):
        titles = ", ".join(p.label for p in rules.paths if p.name in open_)
        stage = rules.stages[ctx.period.stage - 1].name
        raise AppError(
            "path_not_in_stage",
            f"Jalur {path.label} tidak dibuka pada {stage}. Jalur {stage}: {titles}.",
            "path",
        )
    _check_path_rules(rules, path, data)
    if not in_region and not path.out_of_region:
        open_to_all = ", ".join(p.label for p in rules.paths if p.out_of_region) or "tidak ada"
        raise AppError(
            "out_of_region",
            f"Jalur {path.label} hanya untuk pendaftar yang tinggal di daerah ini. "
            f"Jalur untuk pendaftar luar daerah: {open_to_all}.",
            "path",
        )


def _check_age(rules: RuleSet, data: schemas.ApplicationCreate) -> None:
    months = completed_months(data.birth_date, rules.reference_date)
    on = f"{rules.reference_date:%d-%m-%Y}"
    if rules.min_age_months is not None and months < rules.min_age_months:
        early = rules.early_min_age_months
        if early is None or months < early or "psychologist_letter" not in data.documents:
            extra = (
                f" Usia minimal {early // 12} tahun {early % 12} bulan dengan surat rekomendasi psikolog."
                if early is not None
                else ""
            )
            raise AppError(
                "age_below_minimum",
                f"Usia pada {on} kurang dari {rules.min_age_months // 12} tahun.{extra}",
                "birth_date",
            )
    exempt = any(d in data.documents for d in rules.age_exemptions)
    if rules.max_age_years is not None and months // 12 > rules.max_age_years and not exempt:
        extra = (
            " Dikecualikan dengan dokumen: " + ", ".join(rules.document_title(d) for d in rules.age_exemptions) + "."
            if rules.age_exemptions
            else ""
        )
        raise AppError(
            "age_above_maximum", f"Usia pada {on} melebihi {rules.max_age_years} tahun.{extra}", "birth_date"
        )


def _check_kk(rules: RuleSet, period: Period | OpenPeriod, data: schemas.ApplicationCreate, today: date) -> None:
    if data.kk_issued_on > today or (data.birth_date - data.kk_issued_on).days > 366 * 60:
        raise AppError("kk_issue_date_invalid", "Tanggal terbit KK tidak valid.", "kk_issued_on")
    opening = period.registration_opens_at.date()
    if (opening - data.kk_issued_on).days >= rules.kk_min_age_days:
        return
    if data.kk_exception is None:
        raise AppError(
            "kk_too_recent",
            f"KK harus terbit paling lambat {rules.kk_min_age_days} hari sebelum pendaftaran dibuka "
            f"({opening - timedelta(days=rules.kk_min_age_days):%d-%m-%Y}), kecuali ada dokumen pengecualian "
            "(perubahan anggota, KK hilang/rusak, atau bencana).",
            "kk_issued_on",
        )
    if "kk_exception" not in data.documents:
        raise AppError(
            "document_missing",
            f"Pengecualian KK memerlukan dokumen pendukung: {rules.document_title('kk_exception')}.",
            "documents",
        )


def _check_path_rules(rules: RuleSet, path: PathRule, data: schemas.ApplicationCreate) -> None:
    kinds = rules.document_kinds
    unknown = [d for d in data.documents if d not in kinds]
    if unknown:
        raise AppError("document_kind_unknown", f"Jenis dokumen '{unknown[0]}' tidak dikenal.", "documents")
    categories = [] if path.zoned_sub_quotas else [s.name for s in path.sub_quotas]  # zoned: per choice
    if categories and data.category not in categories:
        choices = ", ".join(categories)
        raise AppError("category_invalid", f"Pilih kategori jalur {path.label}: {choices}.", "category")
    if not categories and data.category is not None:
        raise AppError("category_invalid", f"Jalur {path.label} tidak memiliki kategori untuk dipilih.", "category")
    sub = path.sub_quota(data.category) if data.category else None
    missing = unmet(path.required_documents + (sub.required_documents if sub else []), data.documents)
    if missing:
        words = "; ".join(rules.requirement_words(r) for r in missing)
        raise AppError("document_missing", f"Jalur {path.label} memerlukan dokumen: {words}.", "documents")


def _plan_choices(
    ctx: PeriodContext, path: PathRule, data: schemas.ApplicationCreate, *, enforce_zone: bool = True
) -> list[ChoicePlan]:
    if not data.choices:
        raise AppError("choices_empty", "Pilih minimal satu sekolah.", "choices")
    if len(data.choices) > ctx.rules.max_choices:
        raise AppError("too_many_choices", f"Maksimal {ctx.rules.max_choices} pilihan sekolah.", "choices")
    picks = [(npsn, code.upper(), bool(slash)) for npsn, slash, code in (c.partition("/") for c in data.choices)]
    if len({(npsn, code) for npsn, code, _ in picks}) != len(picks):
        raise AppError("duplicate_choice", "Setiap sekolah atau program hanya boleh dipilih sekali.", "choices")
    plans = []
    for rank, (npsn, code, slash) in enumerate(picks, start=1):
        where = f"choices[{rank - 1}]"
        if slash and not code:
            raise AppError("program_unknown", f"Tulis kode program setelah '/': {npsn}/KODE.", where)
        school = ctx.schools.get(npsn)
        if school is None:
            raise AppError("school_not_in_period", f"Sekolah dengan NPSN {npsn} tidak ikut periode ini.", where)
        if school.level != ctx.period.level.value:
            raise AppError(
                "school_level_mismatch", f"{school.name} bukan jenjang {ctx.period.level.value.upper()}.", where
            )
        program = _program(ctx.rules, school, code, data, where)
        metres = haversine_m(data.latitude, data.longitude, school.latitude, school.longitude)
        distance = Decimal(repr(metres)).quantize(CENT, rounding=ROUND_HALF_UP)
        tiers = [area.priority for area in ctx.zones.get(school.id, ()) if area.covers(data, metres)]
        if enforce_zone and path.requires_zone and not tiers:
            raise AppError(
                "outside_zone",
                f"Alamat tidak termasuk zona {school.name} untuk jalur {path.label}.",
                where,
            )
        tier = min(tiers) if tiers else 0
        if enforce_zone and path.zoned_sub_quotas and not any(tier in s.zone_tiers for s in path.sub_quotas):
            raise AppError(
                "no_sub_quota", f"Alamat tidak termasuk sub-kuota mana pun jalur {path.label} di {school.name}.", where
            )
        plans.append(ChoicePlan(rank, school, distance, bool(tiers), min(tiers) if tiers else None, program))
    _check_composition(ctx.rules, plans, data.kelurahan_code)
    return plans


def _program(
    rules: RuleSet, school: SchoolInfo, code: str, data: schemas.ApplicationCreate, where: str
) -> ProgramInfo | None:
    """The program chosen at an SMK (`npsn/code`; a school with programs is chosen by one), with the documents
    its requirements ask for."""
    if not school.programs:
        if code:
            raise AppError("program_unknown", f"{school.name} tidak memiliki program keahlian untuk dipilih.", where)
        return None
    program = school.programs.get(code)
    if program is None:
        offered = ", ".join(f"{p.code} ({p.name})" for p in school.programs.values())
        raise AppError(
            "program_unknown" if code else "program_missing",
            f"Pilih program keahlian di {school.name}: {offered}.",
            where,
        )
    for name in program.requirements:
        requirement = rules.programs.requirement(name)
        if requirement is not None and requirement.document and requirement.document not in data.documents:
            raise AppError(
                "document_missing",
                f"Program {program.name} di {school.name} memerlukan dokumen: "
                f"{rules.document_title(requirement.document)} ({requirement.title}).",
                "documents",
            )
    return program


def _is(kind: str, plan: ChoicePlan, home_kelurahan: str) -> bool:
    if kind in ("negeri", "swasta"):
        return plan.school.ownership == kind
    if kind == "outside_zone":
        return not plan.in_zone
    return plan.school.kelurahan_code is not None and plan.school.kelurahan_code[:5] != home_kelurahan[:5]


def _check_composition(rules: RuleSet, plans: list[ChoicePlan], home_kelurahan: str) -> None:
    """The region's choice rules: at most so many choices of a kind, and only from a given choice on; at most
    so many programs of one SMK."""
    most = rules.programs.max_per_school
    if most is not None:
        at: dict[str, int] = {}
        for plan in plans:
            at[plan.school.npsn] = at.get(plan.school.npsn, 0) + 1
            if plan.program is not None and at[plan.school.npsn] > most:
                raise AppError(
                    "choice_composition_invalid",
                    f"Paling banyak {most} program keahlian di satu sekolah; {plan.place} melebihi batas itu.",
                    f"choices[{plan.rank - 1}]",
                )
    for limit in rules.choice_limits:
        of_kind = [p for p in plans if _is(limit.kind, p, home_kelurahan)]
        words = CHOICE_WORDS[limit.kind]
        early = next((p for p in of_kind if p.rank < limit.from_rank), None)
        if early is not None:
            raise AppError(
                "choice_composition_invalid",
                f"{words.capitalize()} ({early.school.name}) hanya boleh mulai pilihan ke-{limit.from_rank}.",
                f"choices[{early.rank - 1}]",
            )
        if len(of_kind) > limit.max:
            extra = of_kind[limit.max]
            raise AppError(
                "choice_composition_invalid",
                f"Paling banyak {limit.max} pilihan {words}; {extra.school.name} melebihi batas itu.",
                f"choices[{extra.rank - 1}]",
            )
