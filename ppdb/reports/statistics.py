"""Statistics for the agency: demand per school and path, fill rates, cut-offs, unplaced, afirmasi share.

A read model over applicants, selection runs and daftar ulang; it writes nothing."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import msgspec
from sqlalchemy import Numeric, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from ppdb.applicants.models import Applicant, Application, ApplicationStatus, Choice
from ppdb.complaints.models import Complaint
from ppdb.errors import NotFound
from ppdb.regions.models import Kelurahan, Period
from ppdb.reregistration.models import Reregistration
from ppdb.schools.models import Program, School
from ppdb.schools.service import Places, place, place_names
from ppdb.selection.models import Placement, ProgramOutcome, RunKind, SelectionRun
from ppdb.selection.programs import Cutoff
from ppdb.selection.service import latest_run


class ProgramStats(msgspec.Struct, kw_only=True):
    npsn: str
    school_name: str
    """At an SMK, "school – program"."""
    path: str
    program: str | None = None
    """At an SMK: the program (kompetensi keahlian)."""
    applicants: int
    """Applicants of this path who listed the school (any rank)."""
    first_choice: int
    seats: int
    filled: int
    fill_rate: float
    cutoff: list[float] | None


class SchoolStats(msgspec.Struct, kw_only=True):
    """A school at a glance: its paths together."""

    npsn: str
    school_name: str
    applicants: int
    """Children who listed the school (any path, any rank)."""
    seats: int
    filled: int
    fill_rate: float
    distance_cutoff_m: float | None
    """The farthest distance still placed on its domisili/zonasi path (a path ranked by distance first)."""


class PathStats(msgspec.Struct, kw_only=True):
    """A path across the region's schools, its sub-quotas and SMK programs together."""

    path: str
    applicants: int
    """Applications registered on it (not withdrawn)."""
    seats: int
    filled: int
    fill_rate: float


class KelurahanStats(msgspec.Struct, kw_only=True):
    """Where children live and how many of them are placed: low shares mark the blank spots."""

    code: str
    name: str
    applicants: int
    placed: int
    share_placed: float
    latitude: float | None
    """The mean of its applicants' homes, to 3 decimals (about 100 m): where to draw it on a map."""
    longitude: float | None


class DayCount(msgspec.Struct, kw_only=True):
    day: str
    filed: int
    decided: int


class Statistics(msgspec.Struct, kw_only=True):
    run_id: int | None
    run_kind: str | None
    applications: int
    withdrawn: int
    disqualified: int
    placed: int
    unplaced: int
    afirmasi_applicants: int
    afirmasi_placed: int
    afirmasi_placed_share: float
    programs: list[ProgramStats]
    schools: list[SchoolStats] = []
    """Per school, the least filled first."""
    paths: list[PathStats] = []
    """Per path, in the order of the selection's programs."""
    kelurahan: list[KelurahanStats] = []
    """Per kelurahan of the applicants' homes, the smallest share placed first."""
    complaints_by_day: list[DayCount] = []


@dataclass(frozen=True, slots=True)
class Report:
    """The statistics (`totals`, the API's shape) and each program's cut-off by name, for the agency page."""

    totals: Statistics
    cutoffs: dict[tuple[str, str, str | None], Cutoff | None] = field(default_factory=dict)
    """(npsn, path, program) of a `ProgramStats` -> its cut-off."""


async def statistics(session: AsyncSession, period: Period) -> Report:
    statuses = dict(
        (
            await session.execute(
                select(Application.status, func.count())
                .where(Application.period_id == period.id)
                .group_by(Application.status)
            )
        ).all()
    )
    by_path = dict(
        (
            await session.execute(
                select(Application.path, func.count())
                .where(Application.period_id == period.id, Application.status != ApplicationStatus.WITHDRAWN)
                .group_by(Application.path)
            )
        ).all()
    )
    demand: dict[tuple[str, str | None, str], tuple[int, int]] = {
        (npsn, code, path): (n, first)
        for npsn, code, path, n, first in (
            await session.execute(
                select(School.npsn, Program.code, Application.path, func.count(), func.count().filter(Choice.rank == 1))
                .join(Choice, Choice.school_id == School.id)
                .outerjoin(Program, Program.id == Choice.program_id)
                .join(Application, Application.id == Choice.application_id)
                .where(Application.period_id == period.id, Application.status != ApplicationStatus.WITHDRAWN)
                .group_by(School.npsn, Program.code, Application.path)
            )
        ).all()
    }
    region = await session.scalars(select(School.npsn).where(School.region_id == period.region_id))
    names = await place_names(session, period.id, list(region))
    selection_run: SelectionRun | None = None
    with contextlib.suppress(NotFound):
        selection_run = await latest_run(session, period.id, RunKind.OFFICIAL)
    if selection_run is None:
        with contextlib.suppress(NotFound):
            selection_run = await latest_run(session, period.id, RunKind.PROVISIONAL)
    programs, placed, unplaced, afirmasi, afirmasi_placed = [], 0, 0, 0, 0
    cutoffs: dict[tuple[str, str, str | None], Cutoff | None] = {}
    if selection_run is not None:
        for o in await session.scalars(
            select(ProgramOutcome).where(ProgramOutcome.run_id == selection_run.id).order_by(ProgramOutcome.program)
        ):
            key = o.program_key
            n, first = demand.get((o.school_npsn, key.major, key.path), (0, 0))
            cutoffs[o.school_npsn, key.quota_path, key.major] = o.cut
            programs.append(
                ProgramStats(
                    npsn=o.school_npsn,
                    school_name=place(names, o.school_npsn, key.major),
                    path=key.quota_path,
                    program=key.major,
                    applicants=n,
                    first_choice=first,
                    seats=o.final_capacity,
                    filled=o.filled,
                    fill_rate=round(o.filled / o.final_capacity, 4) if o.final_capacity else 0.0,
                    cutoff=o.cutoff,
                )
            )
        rows = (
            await session.execute(
                select(Application.path, Placement.program, Reregistration.decision)
                .join(Placement, Placement.application_id == Application.id)
                .outerjoin(
                    Reregistration,
                    (Reregistration.application_id == Application.id) & (Reregistration.period_id == period.id),
                )
                .where(Placement.run_id == selection_run.id)
            )
        ).all()
        placed = sum(program is not None for _, program, _ in rows)
        # applicants who gave up or lost a seat at daftar ulang are not waiting for one
        unplaced = sum(program is None and decision is None for _, program, decision in rows)
        afirmasi = sum(path == "afirmasi" for path, _, _ in rows)
        afirmasi_placed = sum(path == "afirmasi" and program is not None for path, program, _ in rows)
    totals = Statistics(
        run_id=selection_run.id if selection_run else None,
        run_kind=selection_run.kind.value if selection_run else None,
        applications=sum(statuses.values()),
        withdrawn=statuses.get(ApplicationStatus.WITHDRAWN, 0),
        disqualified=statuses.get(ApplicationStatus.DISQUALIFIED, 0),
        placed=placed,
        unplaced=unplaced,
        afirmasi_applicants=afirmasi,
        afirmasi_placed=afirmasi_placed,
        afirmasi_placed_share=round(afirmasi_placed / afirmasi, 4) if afirmasi else 0.0,
        programs=programs,
        schools=await _schools(session, period, programs, cutoffs, names),
        paths=_paths(programs, by_path),
        kelurahan=await _kelurahan(session, period, selection_run),
        complaints_by_day=await _complaints_by_day(session, period),
    )
    return Report(totals, cutoffs)


def _paths(programs: list[ProgramStats], applicants: dict[str, int]) -> list[PathStats]:
    paths: dict[str, PathStats] = {}
    for p in programs:
        name = p.path.split("/")[0]
        row = paths.setdefault(
            name, PathStats(path=name, applicants=applicants.get(name, 0), seats=0, filled=0, fill_rate=0.0)
        )
        row.seats += p.seats
        row.filled += p.filled
    for row in paths.values():
        row.fill_rate = round(row.filled / row.seats, 4) if row.seats else 0.0
    return list(paths.values())


async def _schools(
    session: AsyncSession,
    period: Period,
    programs: list[ProgramStats],
    cutoffs: dict[tuple[str, str, str | None], Cutoff | None],
    names: Places,
) -> list[SchoolStats]:
    listed = dict(
        (
            await session.execute(
                select(School.npsn, func.count(func.distinct(Choice.application_id)))
                .join(Choice, Choice.school_id == School.id)
                .join(Application, Application.id == Choice.application_id)
                .where(Application.period_id == period.id, Application.status != ApplicationStatus.WITHDRAWN)
                .group_by(School.npsn)
            )
        ).all()
    )
    schools: dict[str, SchoolStats] = {}
    for p in programs:
        school = schools.setdefault(
            p.npsn,
            SchoolStats(
                npsn=p.npsn,
                school_name=place(names, p.npsn),
                applicants=listed.get(p.npsn, 0),
                seats=0,
                filled=0,
                fill_rate=0.0,
                distance_cutoff_m=None,
            ),
        )
        school.seats += p.seats
        school.filled += p.filled
        cut = cutoffs.get((p.npsn, p.path, p.program))
        if cut is not None and cut.names and cut.names[0] == "distance" and p.path in ("domisili", "zonasi"):
            # at an SMK, the farthest of its programs'
            school.distance_cutoff_m = max(cut.distance_m or 0.0, school.distance_cutoff_m or 0.0)
    for school in schools.values():
        school.fill_rate = round(school.filled / school.seats, 4) if school.seats else 0.0
    return sorted(schools.values(), key=lambda s: (s.fill_rate, s.school_name))


async def _kelurahan(session: AsyncSession, period: Period, run: SelectionRun | None) -> list[KelurahanStats]:
    placed = (
        select(Placement.application_id).where(Placement.run_id == run.id, Placement.program.is_not(None))
        if run is not None
        else None
    )
    rows = await session.execute(
        select(
            Applicant.kelurahan_code,
            Kelurahan.name,
            func.count(),
            func.count().filter(Application.id.in_(placed)) if placed is not None else literal(0),
            func.round(func.avg(Applicant.latitude).cast(Numeric), 3),
            func.round(func.avg(Applicant.longitude).cast(Numeric), 3),
        )
        .select_from(Application)
        .join(Applicant, Applicant.id == Application.applicant_id)
        .outerjoin(Kelurahan, Kelurahan.code == Applicant.kelurahan_code)
        .where(Application.period_id == period.id, Application.status != ApplicationStatus.WITHDRAWN)
        .group_by(Applicant.kelurahan_code, Kelurahan.name)
    )
    found = [
        KelurahanStats(
            code=code,
            name=name or code,
            applicants=n,
            placed=p,
            share_placed=round(p / n, 4) if n else 0.0,
            latitude=float(lat) if lat is not None else None,
            longitude=float(lon) if lon is not None else None,
        )
        for code, name, n, p, lat, lon in rows.all()
    ]
    return sorted(found, key=lambda k: (k.share_placed, -k.applicants, k.code))


async def _complaints_by_day(session: AsyncSession, period: Period) -> list[DayCount]:
    day = func.to_char(func.timezone("Asia/Jakarta", Complaint.filed_at), "YYYY-MM-DD")
    decided_day = func.to_char(func.timezone("Asia/Jakarta", Complaint.decided_at), "YYYY-MM-DD")
    filed: dict[str, int] = dict(
        (await session.execute(select(day, func.count()).where(Complaint.period_id == period.id).group_by(day))).all()
    )
    decided: dict[str, int] = dict(
        (
            await session.execute(
                select(decided_day, func.count())
                .where(Complaint.period_id == period.id, Complaint.decided_at.is_not(None))
                .group_by(decided_day)
            )
        ).all()
    )
    return [
        DayCount(day=d, filed=filed.get(d, 0), decided=decided.get(d, 0)) for d in sorted(filed.keys() | decided.keys())
    ]
