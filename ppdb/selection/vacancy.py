"""Vacancy rounds: fill released and declined seats from unplaced applicants with the same engine, keeping
every confirmed placement where it is."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import cast

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ppdb.applicants.models import SELECTED_STATUSES, Application
from ppdb.authz import Principal
from ppdb.regions.models import Period
from ppdb.regions.rules import Mechanism
from ppdb.regions.service import rules_of
from ppdb.reregistration.models import Decision, Reregistration
from ppdb.selection import engine
from ppdb.selection.compiler import SchoolSeats, compile_period
from ppdb.selection.models import Placement, ProgramOutcome, RunKind, SelectionRun
from ppdb.selection.programs import Considered, Number
from ppdb.selection.service import lock, placement_row, program_outcomes, store_run, zone_kelurahan


async def vacancy_round(session: AsyncSession, period: Period, published_run_id: int, user: Principal) -> SelectionRun:
    """A new official run on top of the published one (`published_run_id`: the round builds on what families
    saw and answered, not on any later run). `period` is locked and checked by the caller (`flows`)."""
    started_at = datetime.now(UTC)
    clock = time.perf_counter()
    await lock(session, period.id)
    previous = await session.get(SelectionRun, published_run_id)
    assert previous is not None
    decisions = dict(
        (
            await session.execute(
                select(Reregistration.application_id, Reregistration.decision).where(
                    Reregistration.period_id == period.id
                )
            )
        ).all()
    )
    placements = list(await session.scalars(select(Placement).where(Placement.run_id == previous.id)))
    eligible = set(
        await session.scalars(
            select(Application.id).where(Application.period_id == period.id, Application.status.in_(SELECTED_STATUSES))
        )
    )
    outcomes = {
        o.program: o for o in await session.scalars(select(ProgramOutcome).where(ProgramOutcome.run_id == previous.id))
    }
    entries = {p.application_id: p.entries() for p in placements}
    timings = {"load": time.perf_counter() - clock}

    # A confirmed seat stays fixed unless its holder was disqualified since: then it is free again.
    clock = time.perf_counter()
    confirmed = [
        p for p in placements if decisions.get(p.application_id) is Decision.CONFIRMED and p.application_id in eligible
    ]
    fixed = {p.application_id for p in confirmed}
    kept: dict[str, list[list[Number]]] = {}
    for p in confirmed:
        assert p.program is not None and p.choice_rank is not None
        entry = entries[p.application_id][p.choice_rank]
        assert isinstance(entry, Considered)
        kept.setdefault(p.program, []).append(entry.key)  # every step of an entry has the same key
    waiting = [
        p
        for p in placements
        if p.application_id in eligible and p.application_id not in decisions and p.program is None
    ]
    rules = rules_of(period).for_stage(period.stage)
    zones = await zone_kelurahan(session, period.id)
    majors: dict[str, set[str]] = {}  # school -> its SMK programs
    for o in outcomes.values():
        majors.setdefault(o.school_npsn, set()).update([o.program_key.major] if o.program_key.major else [])
    seats = [SchoolSeats(n, 0, zones.get(n, {}), tuple((m, 0) for m in sorted(ms))) for n, ms in majors.items()]
    transfers = compile_period(rules, seats, []).instance.transfers
    instance = engine.Instance(
        mechanism=cast(Mechanism, previous.mechanism),
        transfers=transfers,
        programs=[
            engine.Program(
                id=o.program,
                school=o.school_npsn,
                path=o.path,
                capacity=max(0, o.final_capacity - len(kept.get(o.program, []))),
            )
            for o in sorted(outcomes.values(), key=lambda o: o.program)
        ],
        applicants=[
            engine.Applicant(
                id=p.opaque_id,
                choices=[
                    engine.Choice(program=step.program, key=step.key)
                    for e in entries[p.application_id].values()
                    if isinstance(e, Considered)
                    for step in e.steps()
                ],
            )
            for p in waiting
        ],
    )
    raw = msgspec.json.encode(instance)
    timings["compile"] = time.perf_counter() - clock
    clock = time.perf_counter()
    result = await asyncio.to_thread(engine.solve, instance)
    timings["solve"] = time.perf_counter() - clock

    clock = time.perf_counter()
    rows = []
    for p in placements:
        program, rank = None, None
        if p.application_id in fixed:
            program, rank = p.program, p.choice_rank
        elif (placed := result.assignments.get(p.opaque_id)) is not None:
            program = placed
            rank = next(r for r, e in entries[p.application_id].items() if isinstance(e, Considered) and e.at(placed))
        rows.append(placement_row(p.application_id, p.opaque_id, program, rank, entries[p.application_id]))
    newly_placed = sum(v is not None for v in result.assignments.values())
    return await store_run(
        session,
        period,
        user,
        kind=RunKind.OFFICIAL,
        round_=previous.round + 1,
        mechanism=previous.mechanism,
        applicants=len(waiting),
        raw=raw,
        result=result,
        outcomes=program_outcomes(
            result,
            {pid: o.program_key for pid, o in outcomes.items()},
            {pid: o.key_names for pid, o in outcomes.items()},
            before=outcomes,
            fixed=kept,
        ),
        placements=rows,
        started_at=started_at,
        timings=timings,
        write_started=clock,
        audit={
            "round": previous.round + 1,
            "confirmed": len(confirmed),
            "waiting": len(waiting),
            "newly_placed": newly_placed,
        },
    )
