"""Selection runs: load, compile, solve and write in one transaction; explanations of every decision."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
import zlib
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple

import asyncpg
import msgspec
from sqlalchemy import bindparam, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from ppdb import authz
from ppdb.applicants.models import SELECTED_STATUSES, Application, ApplicationStatus
from ppdb.audit.service import record
from ppdb.authz import Principal
from ppdb.db.base import among, to_struct
from ppdb.db.session import Compiled, bind_of, driver_read
from ppdb.errors import Conflict, NotFound
from ppdb.metrics import observe_selection
from ppdb.regions.models import Period
from ppdb.regions.rules import RuleSet, rules_from_preset
from ppdb.regions.service import applied, changed_rules, find_preset, get_period, rules_of, template_for
from ppdb.results.models import Publication
from ppdb.schools.models import PeriodSchool, Program, School, ZoneEntry
from ppdb.scores import service as scores
from ppdb.scores.formula import compute, tie_breaks
from ppdb.selection import engine, explain, schemas
from ppdb.selection.compiler import ApplicationFacts, ChoiceFacts, SchoolSeats, compile_period
from ppdb.selection.compiler import Compiled as CompiledInstance
from ppdb.selection.models import ProgramOutcome, RunKind, SelectionRun
from ppdb.selection.programs import (
    Considered,
    Dropped,
    Entry,
    Number,
    ProgramKey,
    encode_entries,
    path_of,
    public_names,
)

if TYPE_CHECKING:
    from ppdb.runtime import Runtime


def opaque_id(secret: str, period_id: int, application_id: int) -> str:
    """A stable pseudonym for the published instance: not reversible without the server's secret."""
    digest = hmac.digest(secret.encode(), f"{period_id}:{application_id}".encode(), "sha256").hex()
    return "A" + digest[:32]  # 128 bits: no collision at any realistic size


async def try_lock(session: AsyncSession, period_id: int, *, wait: bool = False) -> bool:
    """One run per period at a time, across every process: a transaction-scoped (re-entrant) advisory lock."""
    fn = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
    result = await session.scalar(text(f"SELECT {fn}(hashtext('ppdb.selection'), :p)"), {"p": period_id})
    return True if wait else bool(result)


async def lock(session: AsyncSession, period_id: int, *, wait: bool = False) -> None:
    """`try_lock`, or 409 `selection_running` when another run of the period holds it."""
    if not await try_lock(session, period_id, wait=wait):
        raise Conflict(
            "selection_running", "Seleksi untuk periode ini sedang berjalan; tunggu hingga selesai.", "period_id"
        )


async def zone_kelurahan(session: AsyncSession, period_id: int) -> dict[str, dict[int, tuple[str, ...]]]:
    """School (NPSN) -> zone tier -> the kelurahan codes listed in it."""
    zones: dict[str, dict[int, tuple[str, ...]]] = {}
    for npsn, tier, code in await session.execute(
        select(School.npsn, ZoneEntry.priority, ZoneEntry.kelurahan_code)
        .join(ZoneEntry, ZoneEntry.school_id == School.id)
        .where(ZoneEntry.period_id == period_id, ZoneEntry.kelurahan_code.is_not(None))
    ):
        tiers = zones.setdefault(npsn, {})
        tiers[tier] = (*tiers.get(tier, ()), str(code))
    return zones


async def load_facts(
    session: AsyncSession, period: Period, secret: str
) -> tuple[list[SchoolSeats], list[ApplicationFacts], dict[str, int]]:
    zones = await zone_kelurahan(session, period.id)
    programs: dict[int, tuple[tuple[str, int], ...]] = {}
    for school_id, code, capacity in await session.execute(
        select(Program.school_id, Program.code, Program.capacity)
        .where(Program.period_id == period.id)
        .order_by(Program.code)
    ):
        programs[school_id] = (*programs.get(school_id, ()), (code, capacity))
    schools = [
        SchoolSeats(npsn, capacity, zones.get(npsn, {}), programs.get(school_id, ()))
        for school_id, npsn, capacity in await session.execute(
            select(School.id, School.npsn, PeriodSchool.capacity)
            .join(PeriodSchool, PeriodSchool.school_id == School.id)
            .where(PeriodSchool.period_id == period.id)
        )
    ]
    # 100k applications mean 300k rows: fetch them with asyncpg directly, numbers already as floats.
    connection = (await (await session.connection()).get_raw_connection()).driver_connection
    assert connection is not None
    rows = await connection.fetch(
        """
        WITH rejected AS (  -- few: aggregated once, not looked up for each of the 300k rows
            SELECT application_id, array_agg(kind) FILTER (WHERE status = 'rejected') AS kinds,
                   array_agg(kind) AS declared
            FROM documents
            WHERE application_id IN (SELECT application_id FROM documents WHERE status = 'rejected')
            GROUP BY application_id
        )
        SELECT a.id, a.registration_number, p.nik, a.path, a.category, a.submitted_at,
               p.birth_date, p.kelurahan_code, c.rank, s.npsn, c.distance_m::float8 AS distance_m, c.in_zone, c.zone_priority,
               pr.code AS program, pr.requirements, f.nik IS NOT NULL AS unmet, r.kinds AS rejected, r.declared
        FROM applications a
        JOIN applicants p ON p.id = a.applicant_id
        JOIN choices c ON c.application_id = a.id
        JOIN schools s ON s.id = c.school_id
        LEFT JOIN programs pr ON pr.id = c.program_id
        LEFT JOIN program_findings f
               ON f.admission_id = $3 AND f.nik = p.nik AND f.school_id = c.school_id AND f.code = pr.code
        LEFT JOIN rejected r ON r.application_id = a.id
        WHERE a.period_id = $1 AND a.status = ANY($2::application_status[])
        ORDER BY a.id, c.rank
        """,
        period.id,
        [status.value for status in SELECTED_STATUSES],
        period.first_period_id or period.id,
    )
    facts: list[ApplicationFacts] = []
    ids: dict[str, int] = {}
    current = None
    for r in rows:
        if current is None or ids[current.id] != r["id"]:
            oid = opaque_id(secret, period.id, r["id"])
            ids[oid] = r["id"]
            current = ApplicationFacts(
                oid,
                r["registration_number"],
                r["nik"],
                r["path"],
                r["category"],
                r["birth_date"],
                None,
                r["submitted_at"],
                [],
                tuple(r["rejected"] or ()),
                r["kelurahan_code"],
                declared_documents=tuple(r["declared"] or ()),
            )
            facts.append(current)
        current.choices.append(
            ChoiceFacts(
                r["rank"],
                r["npsn"],
                r["distance_m"],
                r["in_zone"],
                r["zone_priority"],
                r["program"],
                r["unmet"],
                tuple(r["requirements"] or ()),
            )
        )
    return schools, await with_scores(session, period.id, rules_of(period), facts), ids


async def with_scores(
    session: AsyncSession, period_id: int, rules: RuleSet, facts: list[ApplicationFacts]
) -> list[ApplicationFacts]:
    """Each applicant's score on a path that ranks by one, computed from its sources (None while missing)."""
    by_path = {p.name: p.score for p in rules.paths if p.score is not None}
    niks = [f.nik for f in facts if f.path in by_path]
    if not niks:
        return facts
    found = await scores.sources(session, period_id, niks)
    parted = {p.name for p in rules.paths if any(k.startswith(("score:", "rapor:")) for k in p.keys)}
    out = []
    for f in facts:
        rule = by_path.get(f.path)
        if rule is None or f.nik not in found:
            out.append(f)
            continue
        total = compute(rule, found[f.nik]).total
        parts = tie_breaks(rule, found[f.nik]) if f.path in parted else {}
        score = None if total is None else float(total)
        out.append(replace(f, score=score, tie_breaks={k: float(v) for k, v in parts.items()}))
    return out


class PlacementRow(NamedTuple):
    """One applicant's placement in a run, as stored (`placement_row` builds it)."""

    application_id: int
    opaque_id: str
    program: str | None
    choice_rank: int | None
    keys: str
    """The entries by choice rank, already as JSON: a run holds one row per applicant until the COPY."""


def placement_row(
    application_id: int, opaque_id: str, program: str | None, choice_rank: int | None, entries: dict[int, Entry]
) -> PlacementRow:
    return PlacementRow(application_id, opaque_id, program, choice_rank, encode_entries(entries))


async def run(
    session: AsyncSession,
    period_id: int,
    by: Principal | str,
    *,
    secret: str,
    kind: RunKind = RunKind.OFFICIAL,
    wait: bool = False,
) -> SelectionRun:
    """Load, compile, solve and store a run of the period. `by` is the user (only in their region) or a system
    job's name. The period's status is not checked here: `ppdb.flows.run_official` does, and the worker
    re-solves only open periods."""
    started_at = datetime.now(UTC)
    clock = time.perf_counter()
    await lock(session, period_id, wait=wait)
    # The period row lock orders runs and publications: a run never lands under a publication in progress.
    period = await get_period(session, period_id, for_update=True, user=by if isinstance(by, Principal) else None)
    rules = rules_of(period).for_stage(period.stage)
    schools, facts, ids = await load_facts(session, period, secret)
    timings = {"load": time.perf_counter() - clock}

    # CPU-bound work runs in a thread so the event loop keeps answering requests meanwhile.
    clock = time.perf_counter()
    compiled = await asyncio.to_thread(compile_period, rules, schools, facts)
    raw, result, placements, clock = await solve(compiled, ids, facts, timings, clock)
    selection_run = await store_run(
        session,
        period,
        by,
        kind=kind,
        round_=0,
        mechanism=rules.mechanism,
        applicants=len(facts),
        raw=raw,
        result=result,
        outcomes=program_outcomes(result, compiled.programs, compiled.keys),
        placements=placements,
        started_at=started_at,
        timings=timings,
        write_started=clock,
        audit={"applicants": len(facts), "placed": sum(1 for p in placements if p.program is not None)},
    )
    observe_selection(kind.value, sum(selection_run.seconds.values()))
    return selection_run


async def solve(
    compiled: CompiledInstance,
    ids: dict[str, int],
    facts: list[ApplicationFacts],
    timings: dict[str, float],
    compiling: float,
) -> tuple[bytes, engine.Result, list[PlacementRow], float]:
    """A compiled instance (compiled since `compiling`) encoded, solved in a thread and turned into a placement
    row per applicant of `facts`, each step timed into `timings`: the input, the result, the rows, and the clock
    the write starts at."""
    raw = msgspec.json.encode(compiled.instance)
    timings["compile"] = time.perf_counter() - compiling
    clock = time.perf_counter()
    result = await asyncio.to_thread(engine.solve, compiled.instance)
    timings["solve"] = time.perf_counter() - clock
    clock = time.perf_counter()
    return raw, result, await asyncio.to_thread(placement_rows, compiled, result, ids, facts), clock


def program_outcomes(
    result: engine.Result,
    programs: dict[str, ProgramKey],
    key_names: dict[str, list[str]],
    *,
    before: dict[str, ProgramOutcome] | None = None,
    fixed: dict[str, list[list[Number]]] | None = None,
) -> list[ProgramOutcome]:
    """A run's outcome per program. A vacancy round passes the run it builds on (`before`: its seats stay
    the announced ones) and the keys of the seats kept from it (`fixed`): they count as filled, and the
    cut-off is the worse of theirs and the engine's."""
    rows = []
    for pid, o in result.programs.items():
        kept = (fixed or {}).get(pid, [])
        cutoffs = [k for k in (o.cutoff, *kept) if k is not None]
        base = before.get(pid, o) if before is not None else o
        rows.append(
            ProgramOutcome(
                program=pid,
                school_npsn=programs[pid].npsn,
                path=programs[pid].engine_path,
                capacity=base.capacity,
                final_capacity=base.final_capacity,
                filled=o.filled + len(kept),
                cutoff=max(cutoffs) if cutoffs else None,
                key_names=key_names[pid],
            )
        )
    return rows


async def store_run(
    session: AsyncSession,
    period: Period,
    by: Principal | str,
    *,
    kind: RunKind,
    round_: int,
    mechanism: str,
    applicants: int,
    raw: bytes,
    result: engine.Result,
    outcomes: list[ProgramOutcome],
    placements: list[PlacementRow],
    started_at: datetime,
    timings: dict[str, float],
    write_started: float,
    audit: dict[str, object],
    action: str | None = None,
) -> SelectionRun:
    """Store a solved run: the run with its exact input, its programs and one placement per applicant;
    `audit` is what the audit entry records besides the digest, under `action` (by default the run's kind)."""
    selection_run = SelectionRun(
        period_id=period.id,
        kind=kind,
        round=round_,
        started_at=started_at,
        mechanism=mechanism,
        rules_version=period.rules_version,
        digest=result.digest,
        instance=zlib.compress(raw, 1),
        instance_sha256=hashlib.sha256(raw).hexdigest(),
        applicants=applicants,
        placed=sum(1 for p in placements if p.program is not None),
        seconds={},
    )
    session.add(selection_run)
    await session.flush()
    for outcome in outcomes:
        outcome.run_id = selection_run.id
    session.add_all(outcomes)
    await session.flush()
    await copy_placements(
        session,
        [(selection_run.id, p.application_id, p.opaque_id, p.program, p.choice_rank, p.keys) for p in placements],
    )
    timings["write"] = time.perf_counter() - write_started
    selection_run.seconds = {k: round(v, 4) for k, v in timings.items()}
    selection_run.finished_at = datetime.now(UTC)
    action = action or ("selection.vacancy_round" if round_ else f"selection.{kind.value}")
    record(
        session,
        actor=by.actor if isinstance(by, Principal) else by,
        action=action,
        entity="selection_run",
        entity_id=selection_run.id,
        period_id=period.id,
        new={"digest": result.digest, "rules_version": period.rules_version, **audit},
    )
    await session.flush()
    return selection_run


def placement_rows(
    compiled: CompiledInstance, result: engine.Result, ids: dict[str, int], facts: list[ApplicationFacts]
) -> list[PlacementRow]:
    positions = _positions(compiled.instance, result)
    rows = []
    for fact, applicant in zip(facts, compiled.instance.applicants, strict=True):
        placed = result.assignments[fact.id]
        listed = iter(applicant.choices)
        entries: dict[int, Entry] = {}
        placed_rank = None
        for choice in sorted(fact.choices, key=lambda c: c.rank):
            reason = compiled.dropped.get((fact.id, choice.rank))
            if reason is not None:
                entries[choice.rank] = Dropped(reason, choice.npsn, choice.program)
                continue
            steps = [next(listed) for _ in range(compiled.steps.get((fact.id, choice.rank), 1))]
            entry = None
            for step in reversed(steps):
                entry = Considered(step.program, step.key, positions.get((step.program, applicant.id)), entry)
            assert entry is not None
            entries[choice.rank] = entry
            if entry.at(placed) is not None:
                placed_rank = choice.rank
        rows.append(placement_row(ids[fact.id], fact.id, placed, placed_rank, entries))
    return rows


async def copy_placements(session: AsyncSession, rows: list[tuple]) -> None:
    """COPY placement rows (run_id, application_id, opaque_id, program, choice_rank, keys-as-JSON) in bulk:
    a province run writes hundreds of thousands."""
    raw = (await (await session.connection()).get_raw_connection()).driver_connection
    assert raw is not None
    await raw.copy_records_to_table(
        "placements", records=rows, columns=["run_id", "application_id", "opaque_id", "program", "choice_rank", "keys"]
    )


def _positions(instance: engine.Instance, result: engine.Result) -> dict[tuple[str, str], int]:
    """Each applicant's rank among those competing for a program (1 = highest priority there).

    Competing means applying there: every choice down to the one that placed them (all choices when
    unplaced). Someone placed at a school they prefer is not in the queue of the schools below it,
    so a position at most the program's seats means a seat. Under first-choice priority the round
    (choice rank) comes before the key, as it does in the engine.
    """
    by_round = instance.mechanism == "first_choice_priority"
    entrants: dict[str, list[tuple[list[float], str]]] = {}
    for applicant in instance.applicants:
        placed = result.assignments[applicant.id]
        for round_, choice in enumerate(applicant.choices):
            entrants.setdefault(choice.program, []).append(
                ([round_, *choice.key] if by_round else choice.key, applicant.id)
            )
            if choice.program == placed:
                break
    return {
        (program, aid): rank
        for program, queue in entrants.items()
        for rank, (_, aid) in enumerate(sorted(queue), start=1)
    }


def run_out(
    selection_run: SelectionRun, programs: list[ProgramOutcome] | None = None, *, public: bool = False
) -> schemas.RunOut:
    """A run; `public` shows cut-offs without the private parts of another child's key."""

    def shown(p: ProgramOutcome) -> tuple[list[str], list[Number] | None]:
        cut = p.cut
        if cut is None:
            return (public_names(p.key_names) if public else p.key_names), None
        if public:
            cut = cut.public()
        return cut.names, cut.values

    return to_struct(
        schemas.RunOut,
        selection_run,
        kind=selection_run.kind.value,
        programs=[
            to_struct(
                schemas.ProgramOutcomeOut,
                p,
                npsn=p.school_npsn,
                path=p.program_key.quota_path,
                program_code=p.program_key.major,
                cutoff=shown(p)[1],
                key_names=shown(p)[0],
            )
            for p in programs or []
        ],
    )


def no_run() -> NotFound:
    return NotFound("run_not_found", "Belum ada hasil seleksi untuk periode ini.", "period_id")


async def latest_run(session: AsyncSession, period_id: int, kind: RunKind | None = None) -> SelectionRun:
    stmt = select(SelectionRun).where(SelectionRun.period_id == period_id)
    if kind is not None:
        stmt = stmt.where(SelectionRun.kind == kind)
    found = await session.scalar(stmt.order_by(SelectionRun.id.desc()).limit(1))
    if found is None:
        raise no_run()
    return found


async def get_run(session: AsyncSession, period_id: int, run_id: int) -> SelectionRun:
    found = await session.scalar(
        select(SelectionRun).where(SelectionRun.id == run_id, SelectionRun.period_id == period_id)
    )
    if found is None:
        raise NotFound("run_not_found", "Hasil seleksi tidak ditemukan.", "run_id")
    return found


async def outcomes(session: AsyncSession, run_id: int) -> list[ProgramOutcome]:
    return list(
        await session.scalars(
            select(ProgramOutcome).where(ProgramOutcome.run_id == run_id).order_by(ProgramOutcome.program)
        )
    )


async def public_instance(session: AsyncSession, selection_run: SelectionRun) -> bytes:
    """The run's input with every key replaced by its rank within its program.

    The engine only compares keys within a program, so the result and digest are the same; but a
    rank reveals no birth date or distance that could single out a child (the stored keys do).
    """
    stored = await session.scalar(select(SelectionRun.instance).where(SelectionRun.id == selection_run.id))
    assert stored is not None
    instance = msgspec.json.decode(zlib.decompress(stored), type=engine.Instance)
    keys: dict[str, set[tuple]] = {}
    for applicant in instance.applicants:
        for choice in applicant.choices:
            keys.setdefault(choice.program, set()).add(tuple(choice.key))
    rank = {program: {key: i for i, key in enumerate(sorted(values), start=1)} for program, values in keys.items()}
    for applicant in instance.applicants:
        for choice in applicant.choices:
            choice.key = [rank[choice.program][tuple(choice.key)]]
    return msgspec.json.encode(instance)


def parents_run(period_id):
    """The run parents and the public see for a period: the published one, else the latest provisional one."""
    published = (
        select(Publication.run_id)
        .where(Publication.period_id == period_id)
        .order_by(Publication.version.desc())
        .limit(1)
        .scalar_subquery()
    )
    provisional = (
        select(SelectionRun.id)
        .where(SelectionRun.period_id == period_id, SelectionRun.kind == RunKind.PROVISIONAL)
        .order_by(SelectionRun.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return func.coalesce(published, provisional)


_RUN_FOR_PARENTS = select(parents_run(bindparam("period")))
# The public run's key in one round trip (driven on the raw connection: the rank list is refreshed all day):
# whether the period exists, and the run parents see with its digest.
_SHOWN = aliased(SelectionRun)  # not the runs `parents_run` chooses from
_PUBLIC_RUN = Compiled(
    select(_SHOWN.id, _SHOWN.digest)
    .select_from(Period)
    .outerjoin(_SHOWN, _SHOWN.id == parents_run(Period.id))
    .where(Period.id == bindparam("period"))
)
# The status page in one round trip (driven on the raw connection: it is polled all day): who may see the
# application, and which run to explain it with. Of one number alone, or of several read together:
# PostgreSQL keeps a plan for a statement with one value, but plans one with an array parameter anew at every
# call (it prices its kept plan for an array of ten).
_STATUS_COLUMNS = authz.APPLICATION_SCOPE_COLUMNS.add_columns(parents_run(Application.period_id).label("run_id"))
_STATUS = Compiled(_STATUS_COLUMNS.where(Application.registration_number == bindparam("number")))
_STATUSES = Compiled(_STATUS_COLUMNS.where(among(Application.registration_number, key="numbers")))


class _StatusRow(NamedTuple):
    id: int
    registration_number: str
    period_id: int
    status: ApplicationStatus
    updated_at: datetime
    parent_id: int | None
    registrar_school_id: int | None
    region_id: int
    run_id: int | None


async def status_rows(bind: AsyncEngine | AsyncConnection, numbers: list[str]) -> list[asyncpg.Record | None]:
    """The status rows of `numbers` (the runtime's `status_rows` groups the reads arriving together)."""
    sql, args = (
        (_STATUS.sql, _STATUS.args(number=numbers[0]))
        if len(numbers) == 1
        else (_STATUSES.sql, _STATUSES.args(numbers=numbers))
    )
    rows = await driver_read(bind, lambda connection: connection.fetch(sql, *args))
    found = {r["registration_number"]: r for r in rows}
    return [found.get(number) for number in numbers]


async def status(
    runtime: Runtime,
    sessionmaker: async_sessionmaker[AsyncSession],
    registration_number: str,
    user: Principal,
    *,
    primary: async_sessionmaker[AsyncSession] | None = None,
) -> schemas.Explanation:
    """A parent's status page: placement, position and cut-off per choice, and why.

    Polled all day: one statement (shared with the reads arriving at the same moment), then the explanation
    from the runtime's memory (keyed by all it depends on: the run and the application's version); a session
    only when that is not enough. A number the read database (a replica) does not know yet is looked up on
    the `primary`: it may have been acknowledged a moment ago."""
    record = await runtime.status_rows(bind_of(sessionmaker), registration_number)
    if record is None and primary is not None and primary is not sessionmaker:
        sessionmaker = primary
        record = await runtime.status_rows(bind_of(primary), registration_number)
    row = None if record is None else _StatusRow(*record)._replace(status=ApplicationStatus(record["status"]))
    key = None if row is None else (row.id, row.status, row.updated_at, row.run_id)
    if row is not None and authz.row_grants(row, user) and (found := runtime.explained.get(key)) is not None:
        return found
    async with sessionmaker() as session:
        application = await authz.check_application(session, row, user)
        assert row is not None  # check_application refuses a missing one
        if row.run_id is None:
            raise no_run()
        if (ran := runtime.runs.get(row.run_id)) is None:
            period = await get_period(session, application.period_id)
            selection_run = await session.get(SelectionRun, row.run_id)
            if selection_run is None:  # deleted (with its period) since the row was read
                raise no_run()
            ran = explain.Ran.of(selection_run, rules_of(period))
            if selection_run.rules_version == period.rules_version:  # the rules it ran with: the same everywhere
                runtime.runs[row.run_id] = ran
        found = runtime.explained[key] = await explain.explain(session, application, ran)
    return found


async def run_id_for_parents(session: AsyncSession, period_id: int) -> int:
    """The run parents and the public may see: once results are published, the published run; before,
    the latest provisional one (an official run is not shown until it is announced)."""
    run_id = await session.scalar(_RUN_FOR_PARENTS, {"period": period_id})
    if run_id is None:
        raise no_run()
    return run_id


async def public_run(bind: AsyncEngine | AsyncConnection, period_id: int) -> tuple[int, str]:
    """The id and digest of the run parents and the public see (`parents_run`), all a refresh of the public
    rank list needs to be answered from its cache; 404 for a period that does not exist or has no run yet."""
    found = await driver_read(
        bind, lambda connection: connection.fetchrow(_PUBLIC_RUN.sql, *_PUBLIC_RUN.args(period=period_id))
    )
    if found is None:
        raise NotFound("period_not_found", "Periode tidak ditemukan.", "period_id")
    if found["id"] is None:
        raise no_run()
    return found["id"], found["digest"]


async def run_for_parents(session: AsyncSession, period: Period) -> SelectionRun:
    found = await session.get(SelectionRun, await run_id_for_parents(session, period.id))
    assert found is not None
    return found


async def what_if(
    session: AsyncSession, period_id: int, request: schemas.WhatIfRequest, user: Principal, *, secret: str
) -> schemas.WhatIfOut:
    """Solve a variant of the rules on the current pool and compare; nothing is written."""
    period = await get_period(session, period_id, user=user)
    current = rules_of(period)
    variant = current
    if request.preset is not msgspec.UNSET:
        preset = find_preset(request.preset, period.level)
        fresh = rules_from_preset(preset, period.school_year)
        variant = msgspec.structs.replace(
            fresh,
            lottery_seed=current.lottery_seed,
            reference_date=current.reference_date,
            max_choices=current.max_choices,
        )
    if request.template is not msgspec.UNSET:
        variant = applied(variant, template_for(period, request.template, variant), skip=("version",))
    variant = changed_rules(variant, period.level, request, skip=("preset", "template"))

    schools, facts, _ = await load_facts(session, period, secret)

    def solve(rules: RuleSet) -> engine.Result:
        return engine.solve(compile_period(rules.for_stage(period.stage), schools, facts).instance)

    now, then = await asyncio.to_thread(solve, current), await asyncio.to_thread(solve, variant)

    fills: dict[str, list[int]] = {}
    for outcome, offset in ((now, 0), (then, 2)):
        for pid, o in outcome.programs.items():
            row = fills.setdefault(path_of(pid), [0, 0, 0, 0])
            row[offset] += o.final_capacity
            row[offset + 1] += o.filled
    groups: dict[str, list[int]] = {}
    changes = []
    for fact in facts:
        group = f"{fact.path}/{fact.category}" if fact.category else fact.path
        before, after = now.assignments[fact.id], then.assignments[fact.id]
        row = groups.setdefault(group, [0, 0, 0, 0])
        row[0] += 1
        row[1] += before is not None
        row[2] += after is not None
        if before != after:
            row[3] += 1
            changes.append(
                schemas.PlacementChange(
                    registration_number=fact.registration_number, group=group, current=before, variant=after
                )
            )
    return schemas.WhatIfOut(
        current_digest=now.digest,
        variant_digest=then.digest,
        paths=[
            schemas.PathFill(path=p, seats=r[0], filled=r[1], variant_seats=r[2], variant_filled=r[3])
            for p, r in sorted(fills.items())
        ],
        groups=[
            schemas.GroupOutcome(group=g, applicants=r[0], placed=r[1], variant_placed=r[2], changed=r[3])
            for g, r in sorted(groups.items())
        ],
        changed=len(changes),
        changes=sorted(changes, key=lambda c: c.registration_number)[:1000],
    )
