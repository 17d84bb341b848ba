"""Vacancy rounds: fill released and declined seats from unplaced applicants with the same engine, keeping
every confirmed placement where it is."""

from __future__ import annotations

import asyncio
import hashlib
import json
import zlib
from datetime import UTC, datetime

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ppdb.applicants.models import SELECTED_STATUSES, Application
from ppdb.audit.service import record
from ppdb.authz import Principal
from ppdb.errors import Conflict
from ppdb.regions.models import PeriodStatus
from ppdb.regions.service import get_period, rules_of, transition
from ppdb.reregistration.models import Decision, Reregistration
from ppdb.results.service import latest
from ppdb.selection import engine
from ppdb.selection.compiler import SchoolSeats, compile_period
from ppdb.selection.models import Placement, ProgramOutcome, RunKind, SelectionRun
from ppdb.selection.service import copy_placements, try_lock


async def vacancy_round(session: AsyncSession, period_id: int, user: Principal) -> SelectionRun:
    period = await get_period(session, period_id, for_update=True, user=user)
    if period.status is not PeriodStatus.VACANCY:
        raise Conflict(
            "invalid_transition", "Putaran pengisian kursi kosong dijalankan setelah daftar ulang ditutup.", "status"
        )
    if not await try_lock(session, period.id):
        raise Conflict(
            "selection_running", "Seleksi untuk periode ini sedang berjalan; tunggu hingga selesai.", "period_id"
        )
    # The round builds on what families saw and answered: the published run, not any later one.
    published = await latest(session, period.id)
    previous = await session.get(SelectionRun, published.run_id)
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

    # A confirmed seat stays fixed unless its holder was disqualified since: then it is free again.
    confirmed = [
        p for p in placements if decisions.get(p.application_id) is Decision.CONFIRMED and p.application_id in eligible
    ]
    fixed = {p.application_id for p in confirmed}
    taken: dict[str, int] = {}
    for p in confirmed:
        taken[p.program] = taken.get(p.program, 0) + 1
    waiting = [
        p
        for p in placements
        if p.application_id in eligible and p.application_id not in decisions and p.program is None
    ]
    rules = rules_of(period)
    transfers = compile_period(
        rules, [SchoolSeats(npsn, 0) for npsn in {o.school_npsn for o in outcomes.values()}], []
    ).instance.transfers
    instance = engine.Instance(
        mechanism=previous.mechanism,
        transfers=transfers,
        programs=[
            engine.Program(
                id=o.program,
                school=o.school_npsn,
                path=o.path,
                capacity=max(0, o.final_capacity - taken.get(o.program, 0)),
            )
            for o in sorted(outcomes.values(), key=lambda o: o.program)
        ],
        applicants=[
            engine.Applicant(
                id=p.opaque_id,
                choices=[
                    engine.Choice(program=e["program"], key=e["key"])
                    for _, e in sorted(((int(r), e) for r, e in p.keys.items()), key=lambda x: x[0])
                    if "program" in e
                ],
            )
            for p in waiting
        ],
    )
    raw = msgspec.json.encode(instance)
    result = await asyncio.to_thread(engine.solve, instance)

    selection_run = SelectionRun(
        period_id=period.id,
        kind=RunKind.OFFICIAL,
        round=previous.round + 1,
        started_at=datetime.now(UTC),
        finished_at=datetime.now(UTC),
        mechanism=previous.mechanism,
        digest=result.digest,
        instance=zlib.compress(raw, 6),
        instance_sha256=hashlib.sha256(raw).hexdigest(),
        applicants=len(waiting),
        placed=len(confirmed) + sum(v is not None for v in result.assignments.values()),
        seconds={},
    )
    session.add(selection_run)
    await session.flush()

    held: dict[str, list[list]] = {}
    rows = []
    for p in placements:
        program, rank = None, None
        if p.application_id in fixed:
            program, rank = p.program, p.choice_rank
        elif p.opaque_id in result.assignments and result.assignments[p.opaque_id] is not None:
            program = result.assignments[p.opaque_id]
            rank = next(int(r) for r, e in p.keys.items() if e.get("program") == program)
        if program is not None:
            held.setdefault(program, []).append(p.keys[str(rank)]["key"])
        rows.append((selection_run.id, p.application_id, p.opaque_id, program, rank, json.dumps(p.keys)))
    session.add_all(
        ProgramOutcome(
            run_id=selection_run.id,
            program=o.program,
            school_npsn=o.school_npsn,
            path=o.path,
            capacity=o.capacity,
            final_capacity=o.final_capacity,
            filled=len(held.get(o.program, [])),
            cutoff=max(held[o.program]) if held.get(o.program) else None,
            key_names=o.key_names,
        )
        for o in outcomes.values()
    )
    await session.flush()
    await copy_placements(session, rows)
    transition(session, period, PeriodStatus.SELECTED, user.actor)
    record(
        session,
        actor=user.actor,
        action="selection.vacancy_round",
        entity="selection_run",
        entity_id=selection_run.id,
        period_id=period.id,
        new={
            "round": selection_run.round,
            "digest": result.digest,
            "confirmed": len(confirmed),
            "waiting": len(waiting),
            "newly_placed": selection_run.placed - len(confirmed),
        },
    )
    return selection_run
