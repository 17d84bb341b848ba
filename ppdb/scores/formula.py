"""The score a path ranks by, as data: its components, their weights, and how the server computes it.

A score is never typed by a parent. Its values come from their sources: the rapor from the origin school
(sekolah asal), tests and the school index from the Dinas. `compute` turns them into the final score with
its breakdown, exactly, in decimals: pages, the selection and its explanations show the same number.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Literal

import msgspec

Source = Literal["rapor", "test", "school_index", "certificate"]
"""Where a component's value comes from: the origin school's rapor, a test the Dinas imports (tes terstandar,
TKA), the index of the child's origin school (Jatim's indeks sekolah asal), or the points the destination school
awards for the certificate the parent uploaded (from the region's table)."""

SOURCE_WORDS: dict[str, str] = {
    "rapor": "rata-rata rapor",
    "test": "hasil tes",
    "school_index": "indeks sekolah asal",
    "certificate": "poin sertifikat prestasi",
}

Name = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,29}$")]
Semester = Annotated[int, msgspec.Meta(ge=1, le=12)]
CENT = Decimal("0.01")
Value = Annotated[float, msgspec.Meta(ge=0, le=1000)]
CertificateLevel = Literal["kecamatan", "kabupaten", "provinsi", "nasional", "internasional"]
LEVEL_WORDS: dict[str, str] = {
    "kecamatan": "tingkat kecamatan",
    "kabupaten": "tingkat kabupaten/kota",
    "provinsi": "tingkat provinsi",
    "nasional": "tingkat nasional",
    "internasional": "tingkat internasional",
}
RAPOR_SCALE, POINTS_SCALE = Decimal(100), Decimal(1000)
"""A rapor grade is 0–100; a test result or a school index 0–1000 (certificate points reach 128 in Jatim);
every value has 2 decimals at most."""


Row = Annotated[list[Value], msgspec.Meta(min_length=1, max_length=10)]


class LevelPoints(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """Per level (`CertificateLevel`), the points of juara 1, 2, 3, …; a rank or level not listed earns nothing
    and is refused. A struct, not a dict by level: the schema then names the levels a client may send."""

    kecamatan: Row | None = None
    kabupaten: Row | None = None
    provinsi: Row | None = None
    nasional: Row | None = None
    internasional: Row | None = None

    def row(self, level: str) -> list[float]:
        return list(getattr(self, level, None) or [])

    def rows(self) -> list[list[float]]:
        return [list(r) for r in msgspec.structs.astuple(self) if r]


class Points(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A region's points table for competition certificates (piagam kejuaraan), and how old one may be.

    E.g. Jatim 2023, juara 1 perorangan: 16 kabupaten/kota, 32 provinsi, 64 nasional, 128 internasional."""

    individual: LevelPoints
    team: LevelPoints | None = None
    """The same for a team's certificate (beregu); unset: a team's certificate counts as an individual's."""
    oldest_months: Annotated[int, msgspec.Meta(ge=1, le=120)] = 36
    newest_months: Annotated[int, msgspec.Meta(ge=0, le=120)] = 0
    """A certificate counts if issued at least `newest_months` and less than `oldest_months` full months before
    the reference date (Permendikbud 1/2021 and Jateng: between 6 months and 3 years)."""

    def award(self, level: str, rank: int, team: bool) -> Decimal | None:
        """The points for juara `rank` at `level`, None when the table gives none."""
        table = self.team if team and self.team is not None else self.individual
        row = table.row(level)
        return Decimal(str(row[rank - 1])).quantize(CENT) if 1 <= rank <= len(row) else None


@dataclass(frozen=True, slots=True)
class Certificate:
    """A certificate the destination school checked, with the points it earned."""

    level: str
    rank: int
    team: bool
    points: Decimal

    @property
    def words(self) -> str:
        return f"juara {self.rank} {'beregu' if self.team else 'perorangan'} {LEVEL_WORDS[self.level]}"


class Component(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One part of a score, e.g. 60 % rapor of seven subjects over semesters 1–5."""

    name: Name
    """How pages and imports name it (a test's results are imported under this name)."""
    source: Source
    weight: Annotated[float, msgspec.Meta(gt=0, le=100)]
    """Percent of the final score; the components' weights add up to 100."""
    subjects: Annotated[list[Name], msgspec.Meta(max_length=20)] = []
    """Rapor: the subjects averaged (every one must be entered); empty: all the origin school entered."""
    semesters: Annotated[list[Semester], msgspec.Meta(max_length=12)] = []
    """Rapor: the semesters averaged, numbered from the first of the school's last three years; empty: all
    entered."""
    points: Points | None = None
    """Certificate: the region's points table (required there, nowhere else)."""


class ScoreRule(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How a path's score is computed: Σ weight × component value, rounded half up to `decimals`."""

    components: Annotated[list[Component], msgspec.Meta(min_length=1, max_length=8)]
    decimals: Annotated[int, msgspec.Meta(ge=0, le=4)] = 2


RAPOR_ONLY = ScoreRule(components=[Component(name="rapor", source="rapor", weight=100.0, semesters=[1, 2, 3, 4, 5])])
"""The national default (Permendikdasmen 3/2025 Pasal 32): the rapor average of the last five semesters."""

Rapor = Mapping[str, Mapping[str, object]]
"""Subject → semester (as a string, as JSON keys are) → grade."""


@dataclass(frozen=True, slots=True)
class Sources:
    """What is known of one child: the rapor from the origin school, tests by name, the origin school's index."""

    rapor: Rapor = field(default_factory=dict)
    tests: Mapping[str, Decimal] = field(default_factory=dict)
    school_index: Decimal | None = None
    certificate: Certificate | None = None
    listed: bool = True
    """Whether the child is on an origin school's graduate list (else only a certificate is known)."""


@dataclass(frozen=True, slots=True)
class Part:
    component: Component
    value: Decimal | None
    """The component's value (unrounded), None while a value it needs is missing."""
    missing: tuple[str, ...] = ()
    """What is missing, in words ("matematika semester 3", "indeks sekolah asal")."""
    detail: str | None = None
    """Where the value comes from, when it needs saying ("juara 1 perorangan tingkat provinsi")."""

    @property
    def points(self) -> Decimal | None:
        """Its contribution to the final score."""
        return None if self.value is None else self.value * Decimal(str(self.component.weight)) / 100


@dataclass(frozen=True, slots=True)
class Score:
    parts: tuple[Part, ...]
    total: Decimal | None
    """Rounded as the rule says; None while any part is missing."""

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(m for p in self.parts for m in p.missing)


def grade(value: object, top: Decimal = RAPOR_SCALE) -> Decimal:
    """A value from a source as a Decimal between 0 and `top` with at most 2 decimals (a decimal comma is
    accepted); ValueError otherwise."""
    text = str(value).strip().replace(",", ".")
    if not text or "e" in text.lower():  # no exponent: "0e999999" is a number PostgreSQL cannot take
        raise ValueError(value)
    try:
        number = Decimal(text)
    except ArithmeticError:
        raise ValueError(value) from None
    if not number.is_finite() or not 0 <= number <= top or number != number.quantize(CENT):
        raise ValueError(value)
    return number.quantize(CENT)


def _rapor(component: Component, rapor: Rapor) -> Part:
    subjects = component.subjects or sorted(rapor)
    values: list[Decimal] = []
    missing: list[str] = []
    for subject in subjects:
        entered = rapor.get(subject, {})
        semesters = [str(s) for s in component.semesters] or sorted(entered, key=int)
        for semester in semesters:
            if semester in entered:
                values.append(Decimal(str(entered[semester])))
            else:
                missing.append(f"rapor {subject.replace('_', ' ')} semester {semester}")
    if not subjects:
        missing.append("rapor")
    if missing or not values:
        return Part(component, None, tuple(missing))
    return Part(component, sum(values, Decimal(0)) / len(values))


def tie_breaks(rule: ScoreRule, sources: Sources) -> dict[str, Decimal]:
    """The parts of a score a path may rank by after the score itself: `score:<component>` (its value) and
    `rapor:<subject>` (that subject's average over the rapor component's semesters), where known."""
    values = {f"score:{p.component.name}": p.value for p in compute(rule, sources).parts if p.value is not None}
    rapor = next((c for c in rule.components if c.source == "rapor"), None)
    if rapor is not None:
        for subject, entered in sources.rapor.items():
            semesters = [str(s) for s in rapor.semesters] or list(entered)
            grades = [Decimal(str(entered[s])) for s in semesters if s in entered]
            if grades and len(grades) == len(semesters):
                values[f"rapor:{subject}"] = sum(grades, Decimal(0)) / len(grades)
    return values


def compute(rule: ScoreRule, sources: Sources) -> Score:
    parts: list[Part] = []
    for c in rule.components:
        if c.source == "rapor":
            parts.append(_rapor(c, sources.rapor))
        elif c.source == "test":
            value = sources.tests.get(c.name)
            parts.append(Part(c, value, () if value is not None else (f"hasil tes {c.name.replace('_', ' ')}",)))
        elif c.source == "school_index":
            index = sources.school_index
            parts.append(Part(c, index, () if index is not None else ("indeks sekolah asal",)))
        elif (
            (cert := sources.certificate) is not None
            and c.points
            and (awarded := c.points.award(cert.level, cert.rank, cert.team)) is not None
        ):
            parts.append(Part(c, awarded, detail=cert.words))  # the path's table now, not the one it was awarded by
        else:
            parts.append(Part(c, None, ("sertifikat prestasi yang diperiksa sekolah tujuan",)))
    points = [p.points for p in parts]
    if any(p is None for p in points):
        return Score(tuple(parts), None)
    total = sum((p for p in points if p is not None), Decimal(0))
    return Score(tuple(parts), total.quantize(Decimal(1).scaleb(-rule.decimals), rounding=ROUND_HALF_UP))
