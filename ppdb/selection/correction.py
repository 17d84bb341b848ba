"""Correction runs: after an announcement, the stage solved again with the data as corrected since (an upheld
complaint's coordinate, document decision or disqualification) and the rules in force; seats confirmed at
daftar ulang stay where they are."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ppdb.authz import Principal
from ppdb.regions.models import Period
from ppdb.regions.service import rules_of
from ppdb.reregistration.models import Decision, Reregistration
from ppdb.selection.compiler import compile_period
from ppdb.selection.models import Placement, ProgramOutcome, RunKind, SelectionRun
from ppdb.selection.programs import Considered, Number
from ppdb.selection.service import load_facts, lock, placement_row, program_outcomes, solve, store_run


async def correction_run(
    session: AsyncSession,
    period: Period,
    published_run_id: int,
    user: Principal,
    *,
    secret: str,
    complaints: list[str],
    corrected: set[int],
) -> SelectionRun:
    """A new official run of the announced round (`published_run_id`), from the data as it is now. `period` is
            locked and checked by the caller (`flows.correction_run`); `complaints`: the cases whose corrections it takes in
        (named in its audit entry); `corrected`: the registrations their corrections were made for, solved again
    whatever they decided at daftar ulang (a decision about a seat they no longer hold is voided when the run is
    announced: `reregistration.void_changed`).

            Until a seat is confirmed, this is the selection itself run again: the same seats, keys and transfers,
            from the corrected data. Once daftar ulang has confirmed seats, those stay fixed (with their holders'
            keys as announced) and the others are solved again within the seats as announced, less the confirmed ones,
            as a vacancy round does; a child who declined or let the seat go is not placed again."""
    started_at = datetime.now(UTC)
    clock = time.perf_counter()
    await lock(session, period.id)
    previous = await session.get(SelectionRun, published_run_id)
    assert previous is not None
    rules = rules_of(period).for_stage(period.stage)
    schools, facts, ids = await load_facts(session, period, secret)
    decisions = dict(
        (
            await session.execute(
                select(Reregistration.application_id, Reregistration.decision).where(
                    Reregistration.period_id == period.id
                )
            )
        ).all()
    )
    announced = {
        p.application_id: p for p in await session.scalars(select(Placement).where(Placement.run_id == previous.id))
    }
    outcomes = {
        o.program: o for o in await session.scalars(select(ProgramOutcome).where(ProgramOutcome.run_id == previous.id))
    }
    timings = {"load": time.perf_counter() - clock}

    clock = time.perf_counter()
    eligible = set(ids.values())  # a child disqualified since is not among them: a confirmed seat of theirs frees
    if not rules_of(period).complaints.keep_confirmed:  # the juknis solves confirmed seats again too
        decisions = {a: d for a, d in decisions.items() if d is not Decision.CONFIRMED}
    decisions = {a: d for a, d in decisions.items() if a not in corrected}  # the cases' own children
    fixed = [
        announced[a]
        for a, decision in decisions.items()
        if decision is Decision.CONFIRMED and a in eligible and a in announced and announced[a].program is not None
    ]
    held = {p.application_id for p in fixed}
    kept: dict[str, list[list[Number]]] = {}
    for p in fixed:
        assert p.program is not None and p.choice_rank is not None
        entry = p.entries()[p.choice_rank]
        assert isinstance(entry, Considered)
        kept.setdefault(p.program, []).append(entry.key)
    pool = [f for f in facts if ids[f.id] not in decisions]
    compiled = await asyncio.to_thread(compile_period, rules, schools, pool)
    if kept:
        programs = [
            msgspec.structs.replace(
                p,
                capacity=max(
                    0, (o.final_capacity if (o := outcomes.get(p.id)) else p.capacity) - len(kept.get(p.id, []))
                ),
            )
            for p in compiled.instance.programs
        ]
        compiled.instance = msgspec.structs.replace(compiled.instance, programs=programs)
    raw, result, rows, clock = await solve(compiled, ids, pool, timings, clock)
    for application_id in decisions.keys() & eligible & announced.keys():  # as announced; a confirmed seat kept
        was = announced[application_id]
        program, rank = (was.program, was.choice_rank) if application_id in held else (None, None)
        rows.append(placement_row(application_id, was.opaque_id, program, rank, was.entries()))
    selection_run = await store_run(
        session,
        period,
        user,
        kind=RunKind.OFFICIAL,
        round_=previous.round,
        mechanism=rules.mechanism,
        applicants=len(pool),
        raw=raw,
        result=result,
        outcomes=program_outcomes(
            result, compiled.programs, compiled.keys, before=outcomes if kept else None, fixed=kept
        ),
        placements=rows,
        started_at=started_at,
        timings=timings,
        write_started=clock,
        audit={
            "corrects_run": previous.id,
            "complaints": complaints,
            "confirmed": len(fixed),
            "applicants": len(pool),
        },
        action="selection.correction",
    )
    return selection_run
