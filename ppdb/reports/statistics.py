"""Statistics for the agency: demand per school and path, fill rates, cut-offs, unplaced, afirmasi share.

A read model over applicants, selection runs and daftar ulang; it writes nothing."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ppdb.applicants.models import Application, ApplicationStatus, Choice
from ppdb.errors import NotFound
from ppdb.regions.models import Period
from ppdb.reregistration.models import Reregistration
from ppdb.schools.models import School
from ppdb.selection.models import Placement, ProgramOutcome, RunKind, SelectionRun
from ppdb.selection.programs import Cutoff
from ppdb.selection.service import latest_run


class ProgramStats(msgspec.Struct, kw_only=True):
    npsn: str
    school_name: str
    path: str
    applicants: int
    """Applicants of this path who listed the school (any rank)."""
    first_choice: int
    seats: int
    filled: int
    fill_rate: float
    cutoff: list[float] | None


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


@dataclass(frozen=True, slots=True)
class Report:
    """The statistics (`totals`, the API's shape) and each program's cut-off by name, for the agency page."""

    totals: Statistics
    cutoffs: dict[tuple[str, str], Cutoff | None] = field(default_factory=dict)
    """(npsn, path) of a `ProgramStats` -> its cut-off."""


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
    demand = {
        (npsn, path): (n, first)
        for npsn, path, n, first in (
            await session.execute(
                select(School.npsn, Application.path, func.count(), func.count().filter(Choice.rank == 1))
                .join(Choice, Choice.school_id == School.id)
                .join(Application, Application.id == Choice.application_id)
                .where(Application.period_id == period.id, Application.status != ApplicationStatus.WITHDRAWN)
                .group_by(School.npsn, Application.path)
            )
        ).all()
    }
    names = dict(
        (await session.execute(select(School.npsn, School.name).where(School.region_id == period.region_id))).all()
    )
    selection_run: SelectionRun | None = None
    with contextlib.suppress(NotFound):
        selection_run = await latest_run(session, period.id, RunKind.OFFICIAL)
    if selection_run is None:
        with contextlib.suppress(NotFound):
            selection_run = await latest_run(session, period.id, RunKind.PROVISIONAL)
    programs, placed, unplaced, afirmasi, afirmasi_placed = [], 0, 0, 0, 0
    cutoffs: dict[tuple[str, str], Cutoff | None] = {}
    if selection_run is not None:
        for o in await session.scalars(
            select(ProgramOutcome).where(ProgramOutcome.run_id == selection_run.id).order_by(ProgramOutcome.program)
        ):
            n, first = demand.get((o.school_npsn, o.program_key.path), (0, 0))
            cutoffs[o.school_npsn, o.path] = o.cut
            programs.append(
                ProgramStats(
                    npsn=o.school_npsn,
                    school_name=names.get(o.school_npsn, o.school_npsn),
                    path=o.path,
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
    )
    return Report(totals, cutoffs)
