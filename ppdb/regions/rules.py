"""Admission rules as data: rule sets, national presets and their bounds, seat apportionment."""

from __future__ import annotations

import enum
import secrets
from datetime import date
from typing import Literal

import msgspec


class Level(enum.StrEnum):
    SD = "sd"
    SMP = "smp"
    SMA = "sma"


RankingKey = Literal["distance", "age", "score", "zone_priority", "choice_rank", "lottery", "submitted_at"]
Mechanism = Literal["deferred_acceptance", "first_choice_priority"]
DocumentKind = Literal[
    "kk",
    "akta_kelahiran",
    "kk_exception",
    "psychologist_letter",
    "afirmasi_proof",
    "disability_proof",
    "mutasi_letter",
    "rapor",
    "prestasi_certificate",
]


class SubQuota(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    share: float
    """Percent of the path's seats."""


class PathRule(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    quota: float
    """Percent of a school's capacity."""
    keys: list[RankingKey]
    """Ordered ranking keys; the last one is `lottery`, so keys are strict."""
    requires_zone: bool = False
    required_documents: list[DocumentKind] = []
    sub_quotas: list[SubQuota] = []


class Transfer(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    source: str = msgspec.field(name="from")
    target: str = msgspec.field(name="to")


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
    lottery_seed: str

    def path(self, name: str) -> PathRule | None:
        return next((p for p in self.paths if p.name == name), None)

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
}


def _path(
    name: str,
    quota: float,
    keys: list[RankingKey],
    *,
    requires_zone: bool = False,
    required_documents: list[DocumentKind] | None = None,
) -> PathRule:
    return PathRule(
        name=name,
        quota=quota,
        keys=[*keys, "lottery"],
        requires_zone=requires_zone,
        required_documents=required_documents or [],
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


def _permendikdasmen_2025(level: Level) -> Preset:
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
    """Refuse rule sets that break the preset's national bounds or do not add up."""
    names = [p.name for p in rules.paths]
    if sorted(names) != sorted(p.name for p in preset.paths):
        raise RuleViolation("paths_mismatch", f"Jalur harus tepat: {', '.join(p.name for p in preset.paths)}.", "paths")
    for path in rules.paths:
        bound = preset.bounds[path.name]
        if not bound.minimum <= path.quota <= bound.maximum:
            raise RuleViolation(
                "quota_out_of_bounds",
                f"Kuota jalur {path.name} {path.quota:g}% melanggar batas nasional {preset.title}: "
                f"minimal {bound.minimum:g}%, maksimal {bound.maximum:g}%.",
                f"quotas.{path.name}",
            )
        if path.sub_quotas and abs(sum(s.share for s in path.sub_quotas) - 100.0) > 1e-9:
            raise RuleViolation(
                "sub_quota_sum_invalid",
                f"Sub-kuota jalur {path.name} harus berjumlah 100%.",
                f"paths.{path.name}.sub_quotas",
            )
        if not path.keys or path.keys[-1] != "lottery":
            raise RuleViolation(
                "ranking_keys_not_strict",
                f"Urutan kriteria jalur {path.name} harus diakhiri 'lottery'.",
                f"paths.{path.name}.keys",
            )
    total = sum(p.quota for p in rules.paths)
    if abs(total - 100.0) > 1e-9:
        raise RuleViolation("quota_sum_invalid", f"Jumlah kuota semua jalur harus 100%, sekarang {total:g}%.", "quotas")
    if not 1 <= rules.max_choices <= 10:
        raise RuleViolation("max_choices_invalid", "Jumlah pilihan sekolah harus antara 1 dan 10.", "max_choices")
    _check_transfers(rules.transfers, set(names))


def _check_transfers(transfers: list[Transfer], names: set[str]) -> None:
    graph: dict[str, set[str]] = {}
    for t in transfers:
        if t.source not in names or t.target not in names or t.source == t.target:
            raise RuleViolation(
                "transfer_invalid", f"Pengalihan kursi {t.source} → {t.target} tidak valid.", "transfers"
            )
        graph.setdefault(t.source, set()).add(t.target)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in graph.get(start, ()))

    if any(reaches(t.target, t.source, {t.target}) for t in transfers):
        raise RuleViolation("transfer_cycle", "Urutan pengalihan kursi tidak boleh melingkar.", "transfers")


def with_changes(rules: RuleSet, *, quotas: dict[str, float] | None = None, **fields: object) -> RuleSet:
    """A copy with some quotas and top-level fields replaced; unknown paths are refused."""
    if quotas:
        unknown = set(quotas) - {p.name for p in rules.paths}
        if unknown:
            raise RuleViolation("path_unknown", f"Jalur tidak dikenal: {', '.join(sorted(unknown))}.", "quotas")
        fields["paths"] = [msgspec.structs.replace(p, quota=quotas.get(p.name, p.quota)) for p in rules.paths]
    return msgspec.structs.replace(rules, **fields)


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


def seats_per_path(rules: RuleSet, capacity: int) -> dict[str, int]:
    return dict(zip((p.name for p in rules.paths), apportion(capacity, [p.quota for p in rules.paths]), strict=True))
