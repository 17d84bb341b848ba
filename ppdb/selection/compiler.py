"""The rule compiler: a period's rules and applications -> an engine instance (pure: no I/O).

Every ranking key becomes a number where smaller means higher priority, so the engine only compares
lists. The chain ends with `lottery`, a number each applicant can recompute from the period's
published seed and their registration number, which makes every key strict.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from ppdb.identity import completed_months
from ppdb.regions.rules import PathRule, RuleSet, apportion, failed, seats_per_path
from ppdb.selection import engine
from ppdb.selection.programs import ProgramKey

NO_ZONE = 99  # zone priority of a choice outside every zone tier: after all tiers
NO_SCORE = 1.0  # the key of a missing score (scores are negated, so ≤ 0): after every score, 0 included


@dataclass(frozen=True, slots=True)
class SchoolSeats:
    npsn: str
    capacity: int
    zone_kelurahan: dict[int, tuple[str, ...]] = field(default_factory=dict)
    """Zone tier -> the kelurahan codes listed in it (for sub-quotas split per kelurahan)."""
    programs: tuple[tuple[str, int], ...] = ()
    """At an SMK: its programs (code, capacity), each with seats of its own; none: the school's capacity."""

    def pools(self) -> tuple[tuple[str | None, int], ...]:
        """Where seats are split over the paths: each program, or the whole school."""
        return self.programs or ((None, self.capacity),)


@dataclass(frozen=True, slots=True)
class ChoiceFacts:
    rank: int
    npsn: str
    distance_m: float
    in_zone: bool
    zone_priority: int | None
    program: str | None = None
    """At an SMK: the program chosen."""
    unmet: bool = False
    """The school found a requirement of the program unmet (`ProgramFinding`): the choice takes no part."""
    requirements: tuple[str, ...] = ()
    """The program's requirements (`rules.programs.requirements`): one whose document was rejected is unmet."""


@dataclass(frozen=True, slots=True)
class ApplicationFacts:
    id: str
    """The applicant's id in the instance: opaque, never personal data."""
    registration_number: str
    nik: str
    """Only to draw the lottery number: it belongs to the child, so withdrawing and registering again
    cannot re-draw it. Never written into the instance."""
    path: str
    category: str | None
    birth_date: date
    score: float | None
    submitted_at: datetime
    choices: list[ChoiceFacts]
    rejected_documents: tuple[str, ...] = ()
    """Documents a verifier rejected: a path that requires one of them is closed to the applicant."""
    kelurahan_code: str | None = None
    tie_breaks: Mapping[str, float] = field(default_factory=dict)
    """Parts of the score a path may rank by after it (`score:<component>`, `rapor:<subject>`)."""
    declared_documents: tuple[str, ...] = ()
    """Every document it declared, where one was rejected (an "any one of" requirement fails only when each
    of its kinds the applicant declared was rejected)."""


def ineligible(rules: RuleSet, path: PathRule, app: ApplicationFacts) -> bool:
    """Whether a rejected document leaves the applicant without what its path, its category or an exemption
    from the age limit rests on."""
    if not app.rejected_documents:
        return False
    declared, rejected = app.declared_documents, app.rejected_documents
    sub = path.sub_quota(app.category) if app.category else None
    requirements = path.required_documents + (sub.required_documents if sub and not path.zoned_sub_quotas else [])
    if failed(requirements, declared, rejected):
        return True
    if rules.max_age_years is None or not rules.age_exemptions:
        return False
    over_age = completed_months(app.birth_date, rules.reference_date) // 12 > rules.max_age_years
    return over_age and failed([list(rules.age_exemptions)], declared, rejected)


@dataclass(slots=True)
class Compiled:
    instance: engine.Instance
    keys: dict[str, list[str]]
    """Program id -> the names of its key columns, e.g. ["distance", "age", "lottery"]."""
    programs: dict[str, ProgramKey] = field(default_factory=dict)
    """Program id -> its key."""
    dropped: dict[tuple[str, int], str] = field(default_factory=dict)
    """(applicant id, choice rank) -> why that choice is not in the instance (code)."""
    steps: dict[tuple[str, int], int] = field(default_factory=dict)
    """(applicant id, choice rank) -> how many engine choices it became, where more than one (sub-quota
    fallbacks: reguler, then sebaran at the same school)."""


def lottery_number(seed: str, nik: str) -> int:
    """48 bits of SHA-256(seed:NIK): fixed per child, checkable by the parent once the seed is revealed."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{nik}".encode()).digest()[:6], "big")


def key_for(
    path: PathRule, rules: RuleSet, app: ApplicationFacts, choice: ChoiceFacts, lottery: int | None = None
) -> list[float | int]:
    values: list[float | int] = []
    for name in path.keys:
        if name == "distance":
            values.append(choice.distance_m)
        elif name == "age":  # older first: more days at the reference date is better
            values.append(-(rules.reference_date - app.birth_date).days)
        elif name == "score":
            values.append(NO_SCORE if app.score is None else -app.score)
        elif name == "zone_priority":
            values.append(choice.zone_priority if choice.zone_priority is not None else NO_ZONE)
        elif name == "choice_rank":
            values.append(choice.rank)
        elif name == "lottery":
            values.append(lottery if lottery is not None else lottery_number(rules.lottery_seed, app.nik))
        elif name == "submitted_at":
            values.append(app.submitted_at.timestamp())
        else:  # a part of the score: score:<component>, rapor:<subject>
            part = app.tie_breaks.get(name)
            values.append(NO_SCORE if part is None else -part)
    return values


def sub_quota_programs(
    path: PathRule, school: SchoolSeats, seats: int, major: str | None = None
) -> list[tuple[ProgramKey, int]]:
    """A path's programs at one school (or one of its programs) with their seats: one per sub-quota (per
    kelurahan where split)."""
    if not path.sub_quotas:
        return [(ProgramKey(school.npsn, path.name, None, major), seats)]
    programs = []
    for sub, share in zip(path.sub_quotas, apportion(seats, [s.share for s in path.sub_quotas]), strict=True):
        tiers = path.tiers_of(sub) if sub.per_kelurahan else []
        codes = sorted({c for t in tiers for c in school.zone_kelurahan.get(t, ())})
        if codes:
            for code, part in zip(codes, apportion(share, [1.0] * len(codes)), strict=True):
                programs.append((ProgramKey(school.npsn, path.name, f"{sub.name}-{code}", major), part))
        else:
            programs.append((ProgramKey(school.npsn, path.name, sub.name, major), share))
    return programs


def categories_at(
    path: PathRule, app: ApplicationFacts, choice: ChoiceFacts, by_key: dict[ProgramKey, str]
) -> list[str | None]:
    """The applicant's sub-quotas at the chosen school, in the order they are ranked in: their category or
    the one of their zone tier there, then where it falls back to. Empty: no sub-quota takes them."""
    if not path.sub_quotas:
        return [None]
    if path.zoned_sub_quotas:
        tier = choice.zone_priority if choice.in_zone and choice.zone_priority is not None else 0
        sub = next((s for s in path.sub_quotas if tier in s.zone_tiers), None)
    else:
        sub = path.sub_quota(app.category or "")
    categories: list[str | None] = []
    while sub is not None:
        split = f"{sub.name}-{app.kelurahan_code}"
        categories.append(
            split
            if sub.per_kelurahan and ProgramKey(choice.npsn, path.name, split, choice.program) in by_key
            else sub.name
        )
        sub = path.sub_quota(sub.fallback) if sub.fallback else None
    return categories


def compile_period(rules: RuleSet, schools: list[SchoolSeats], applications: list[ApplicationFacts]) -> Compiled:
    programs: list[engine.Program] = []
    keys: dict[str, list[str]] = {}
    by_key: dict[ProgramKey, str] = {}
    # (npsn, SMK program, path) -> its programs (one per sub-quota)
    targets: dict[tuple[str, str | None, str], list[ProgramKey]] = {}
    transfers = []
    for school in sorted(schools, key=lambda s: s.npsn):
        for major, pool in school.pools():
            for path_name, seats in seats_per_path(rules, pool, school.npsn).items():
                path = rules.path(path_name)
                assert path is not None
                for program, capacity in sub_quota_programs(path, school, seats, major):
                    pid = by_key[program] = program.id
                    programs.append(
                        engine.Program(id=pid, school=school.npsn, path=program.engine_path, capacity=capacity)
                    )
                    keys[pid] = list(path.keys)
                    targets.setdefault((school.npsn, major, path_name), []).append(program)
                transfers += _unused_seats(path, targets.get((school.npsn, major, path_name), []))

    for school in sorted(schools, key=lambda s: s.npsn):
        for major, _ in school.pools():
            for rule in rules.transfers:
                sources = targets.get((school.npsn, major, rule.source), [])
                to = targets.get((school.npsn, major, rule.target), [])
                for source in sources:
                    if to:
                        transfers.append(
                            engine.Transfer(school=school.npsn, from_=source.engine_path, to=to[0].engine_path)
                        )

    compiled = Compiled(
        engine.Instance(
            mechanism=rules.mechanism, programs=programs, transfers=downstream_first(transfers), applicants=[]
        ),
        keys,
        {pid: program for program, pid in by_key.items()},
    )
    for app in applications:
        path = rules.path_or_alias(app.path)
        lottery = lottery_number(rules.lottery_seed, app.nik)
        choices = []
        rejected = path is not None and ineligible(rules, path, app)
        for choice in sorted(app.choices, key=lambda c: c.rank):
            if path is None:
                compiled.dropped[app.id, choice.rank] = "path_unknown"
                continue
            if rejected:
                compiled.dropped[app.id, choice.rank] = "document_rejected"
                continue
            programs_at = categories_at(path, app, choice, by_key)
            program_ids = [by_key.get(ProgramKey(choice.npsn, path.name, c, choice.program)) for c in programs_at]
            primary = program_ids[0] if program_ids else None
            if choice.unmet or program_document_rejected(rules, app, choice):
                compiled.dropped[app.id, choice.rank] = "program_requirement"
            elif primary is None and (choice.npsn, choice.program, path.name) not in targets:
                compiled.dropped[app.id, choice.rank] = "school_not_in_period"
            elif path.requires_zone and not choice.in_zone:
                compiled.dropped[app.id, choice.rank] = "outside_zone"
            elif primary is None:
                compiled.dropped[app.id, choice.rank] = "no_sub_quota"
            else:
                key = key_for(path, rules, app, choice, lottery)
                listed = [pid for pid in program_ids if pid is not None]
                choices += [engine.Choice(program=pid, key=key) for pid in listed]
                if len(listed) > 1:
                    compiled.steps[app.id, choice.rank] = len(listed)
        compiled.instance.applicants.append(engine.Applicant(id=app.id, choices=choices))
    return compiled


def program_document_rejected(rules: RuleSet, app: ApplicationFacts, choice: ChoiceFacts) -> bool:
    """Whether a verifier rejected the document a requirement of the chosen program rests on (a health
    certificate): the choice is then as good as a finding that the requirement is unmet."""
    if not app.rejected_documents or not choice.requirements:
        return False
    needed = [r.document for n in choice.requirements if (r := rules.programs.requirement(n)) and r.document]
    return failed(list(needed), app.declared_documents, app.rejected_documents)


def _unused_seats(path: PathRule, programs: list[ProgramKey]) -> list[engine.Transfer]:
    """Transfers inside a path: a capped sub-quota's empty seats to the one it names (every kelurahan part)."""
    transfers = []
    for sub in path.sub_quotas:
        if sub.unused_to is None:
            continue
        to = next(p for p in programs if _sub_of(p) == sub.unused_to)
        transfers += [
            engine.Transfer(school=p.npsn, from_=p.engine_path, to=to.engine_path)
            for p in programs
            if _sub_of(p) == sub.name
        ]
    return transfers


def _sub_of(program: ProgramKey) -> str | None:
    """The sub-quota of a program, without the kelurahan of a per-kelurahan part."""
    return None if program.category is None else program.category.split("-", 1)[0]


def downstream_first(transfers: list[engine.Transfer]) -> list[engine.Transfer]:
    """Transfers out of a program before those into it. The engine moves seats in list order within one
    round: a program that has just received seats would otherwise pass them on at once (mutasi → prestasi
    → domisili) before its own waiting applicants had a run to take them."""
    out: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for t in transfers:
        out.setdefault((t.school, t.from_), []).append((t.school, t.to))

    def depth(program: tuple[str, str]) -> int:  # the longest chain of transfers from here (no cycles)
        return max((1 + depth(nxt) for nxt in out.get(program, ())), default=0)

    return sorted(transfers, key=lambda t: depth((t.school, t.from_)))
