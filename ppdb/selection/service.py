"""Selection runs: load, compile, solve and write in one transaction; explanations of every decision."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
import zlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple

import asyncpg
import msgspec
from sqlalchemy import String, any_, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from ppdb.applicants import service as applicants
from ppdb.applicants.models import SELECTED_STATUSES, Application, ApplicationStatus
from ppdb.audit.service import record
from ppdb.authz import Principal
from ppdb.db.session import Compiled, bind_of, driver_connection
from ppdb.errors import Conflict, NotFound
from ppdb.metrics import observe_selection
from ppdb.regions.models import Period, PeriodStatus
from ppdb.regions.rules import RuleSet, rules_from_preset
from ppdb.regions.service import changed_rules, find_preset, get_period, rules_of, transition
from ppdb.reregistration.models import Reregistration
from ppdb.results.models import Publication
from ppdb.schools.models import PeriodSchool, School
from ppdb.selection import engine, explain, schemas
from ppdb.selection.compiler import (
    ApplicationFacts,
    ChoiceFacts,
    SchoolSeats,
    compile_period,
    public_key,
)
from ppdb.selection.models import ProgramOutcome, RunKind, SelectionRun

if TYPE_CHECKING:
    from ppdb.runtime import Runtime

OFFICIAL_STATUSES = (PeriodStatus.REGISTRATION_CLOSED, PeriodStatus.VERIFICATION, PeriodStatus.SELECTED)


def opaque_id(secret: str, period_id: int, application_id: int) -> str:
    """A stable pseudonym for the published instance: not reversible without the server's secret."""
    digest = hmac.digest(secret.encode(), f"{period_id}:{application_id}".encode(), "sha256").hex()
    return "A" + digest[:32]  # 128 bits: no collision at any realistic size


async def try_lock(session: AsyncSession, period_id: int, *, wait: bool = False) -> bool:
    """One run per period at a time, across every process: a transaction-scoped (re-entrant) advisory lock."""
    fn = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
    result = await session.scalar(text(f"SELECT {fn}(hashtext('ppdb.selection'), :p)"), {"p": period_id})
    return True if wait else bool(result)


async def load_facts(
    session: AsyncSession, period: Period, secret: str
) -> tuple[list[SchoolSeats], list[ApplicationFacts], dict[str, int]]:
    schools = [
        SchoolSeats(npsn, capacity)
        for npsn, capacity in await session.execute(
            select(School.npsn, PeriodSchool.capacity)
            .join(PeriodSchool, PeriodSchool.school_id == School.id)
            .where(PeriodSchool.period_id == period.id)
        )
    ]
    # 100k applications mean 300k rows: fetch them with asyncpg directly, numbers already as floats.
    connection = await (await session.connection()).get_raw_connection()
    rows = await connection.driver_connection.fetch(
        """
        WITH rejected AS (  -- few: aggregated once, not looked up for each of the 300k rows
            SELECT application_id, array_agg(kind) AS kinds FROM documents
            WHERE status = 'rejected' GROUP BY application_id
        )
        SELECT a.id, a.registration_number, p.nik, a.path, a.category, a.score::float8 AS score, a.submitted_at,
               p.birth_date, c.rank, s.npsn, c.distance_m::float8 AS distance_m, c.in_zone, c.zone_priority,
               r.kinds AS rejected
        FROM applications a
        JOIN applicants p ON p.id = a.applicant_id
        JOIN choices c ON c.application_id = a.id
        JOIN schools s ON s.id = c.school_id
        LEFT JOIN rejected r ON r.application_id = a.id
        WHERE a.period_id = $1 AND a.status = ANY($2::application_status[])
        ORDER BY a.id, c.rank
        """,
        period.id,
        [status.value for status in SELECTED_STATUSES],
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
                r["score"],
                r["submitted_at"],
                [],
                tuple(r["rejected"] or ()),
            )
            facts.append(current)
        current.choices.append(ChoiceFacts(r["rank"], r["npsn"], r["distance_m"], r["in_zone"], r["zone_priority"]))
    return schools, facts, ids


async def run(
    session: AsyncSession,
    period_id: int,
    *,
    secret: str,
    kind: RunKind = RunKind.OFFICIAL,
    actor: str = "agency",
    wait: bool = False,
) -> SelectionRun:
    timings: dict[str, float] = {}
    started_at = datetime.now(UTC)
    clock = time.perf_counter()
    if not await try_lock(session, period_id, wait=wait):
        raise Conflict(
            "selection_running", "Seleksi untuk periode ini sedang berjalan; tunggu hingga selesai.", "period_id"
        )
    # The period row lock orders runs and publications: a run never lands under a publication in progress.
    period = await get_period(session, period_id, for_update=True)
    if kind is RunKind.OFFICIAL and period.status not in OFFICIAL_STATUSES:
        raise Conflict("period_not_ready", "Seleksi resmi dijalankan setelah pendaftaran ditutup.", "status")
    if kind is RunKind.OFFICIAL and await session.scalar(
        select(Reregistration.application_id).where(Reregistration.period_id == period_id).limit(1)
    ):
        # Confirmed seats are fixed from now on: only vacancy rounds may place more applicants.
        raise Conflict(
            "reregistration_started", "Daftar ulang sudah berjalan; gunakan putaran pengisian kursi kosong.", "status"
        )
    rules = rules_of(period)
    schools, facts, ids = await load_facts(session, period, secret)
    timings["load"] = time.perf_counter() - clock

    # CPU-bound work runs in a thread so the event loop keeps answering requests meanwhile.
    clock = time.perf_counter()
    compiled = await asyncio.to_thread(compile_period, rules, schools, facts)
    raw = msgspec.json.encode(compiled.instance)
    timings["compile"] = time.perf_counter() - clock

    clock = time.perf_counter()
    result = await asyncio.to_thread(engine.solve, compiled.instance)
    timings["solve"] = time.perf_counter() - clock

    clock = time.perf_counter()
    selection_run = SelectionRun(
        period_id=period.id,
        kind=kind,
        started_at=started_at,
        mechanism=rules.mechanism,
        digest=result.digest,
        instance=zlib.compress(raw, 1),
        instance_sha256=hashlib.sha256(raw).hexdigest(),
        applicants=len(facts),
        placed=sum(1 for p in result.assignments.values() if p is not None),
        seconds={},
    )
    session.add(selection_run)
    await session.flush()
    session.add_all(
        ProgramOutcome(
            run_id=selection_run.id,
            program=pid,
            school_npsn=pid.split(":", 1)[0],
            path=pid.split(":", 1)[1],
            capacity=o.capacity,
            final_capacity=o.final_capacity,
            filled=o.filled,
            cutoff=o.cutoff,
            key_names=compiled.keys[pid],
        )
        for pid, o in result.programs.items()
    )
    await session.flush()
    await _write_placements(session, selection_run.id, compiled, result, ids, facts)
    timings["write"] = time.perf_counter() - clock
    selection_run.seconds = {k: round(v, 4) for k, v in timings.items()}
    observe_selection(kind.value, sum(timings.values()))
    selection_run.finished_at = datetime.now(UTC)
    if kind is RunKind.OFFICIAL and period.status is not PeriodStatus.SELECTED:
        transition(session, period, PeriodStatus.SELECTED, actor)
    record(
        session,
        actor=actor,
        action=f"selection.{kind.value}",
        entity="selection_run",
        entity_id=selection_run.id,
        period_id=period.id,
        new={"digest": result.digest, "applicants": len(facts), "placed": selection_run.placed},
    )
    await session.flush()
    return selection_run


async def _write_placements(
    session: AsyncSession,
    run_id: int,
    compiled,
    result: engine.Result,
    ids: dict[str, int],
    facts: list[ApplicationFacts],
) -> None:
    """COPY one row per applicant: the bulk path, since a province run writes hundreds of thousands."""
    positions = await asyncio.to_thread(_positions, compiled.instance, result)
    rows = []
    for fact, applicant in zip(facts, compiled.instance.applicants, strict=True):
        placed = result.assignments[fact.id]
        listed = iter(applicant.choices)
        keys, placed_rank = {}, None
        for choice in sorted(fact.choices, key=lambda c: c.rank):
            reason = compiled.dropped.get((fact.id, choice.rank))
            if reason is not None:
                keys[str(choice.rank)] = {"dropped": reason, "npsn": choice.npsn}
                continue
            entry = next(listed)
            keys[str(choice.rank)] = {
                "program": entry.program,
                "key": entry.key,
                "position": positions.get((entry.program, applicant.id)),
            }
            if entry.program == placed:
                placed_rank = choice.rank
        rows.append((run_id, ids[fact.id], fact.id, placed, placed_rank, msgspec.json.encode(keys).decode()))
    await copy_placements(session, rows)


async def copy_placements(session: AsyncSession, rows: list[tuple]) -> None:
    """COPY placement rows (run_id, application_id, opaque_id, program, choice_rank, keys-as-JSON) in bulk."""
    raw = await (await session.connection()).get_raw_connection()
    await raw.driver_connection.copy_records_to_table(
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

    def shown(p: ProgramOutcome) -> tuple[list[str], list[float] | None]:
        return public_key(p.key_names, p.cutoff) if public else (p.key_names, p.cutoff)

    return schemas.RunOut(
        id=selection_run.id,
        period_id=selection_run.period_id,
        kind=selection_run.kind.value,
        mechanism=selection_run.mechanism,
        digest=selection_run.digest,
        instance_sha256=selection_run.instance_sha256,
        applicants=selection_run.applicants,
        placed=selection_run.placed,
        started_at=selection_run.started_at,
        finished_at=selection_run.finished_at,
        seconds=selection_run.seconds,
        programs=[
            schemas.ProgramOutcomeOut(
                program=p.program,
                npsn=p.school_npsn,
                path=p.path,
                capacity=p.capacity,
                final_capacity=p.final_capacity,
                filled=p.filled,
                cutoff=shown(p)[1],
                key_names=shown(p)[0],
            )
            for p in programs or []
        ],
    )


async def latest_run(session: AsyncSession, period_id: int, kind: RunKind | None = None) -> SelectionRun:
    stmt = select(SelectionRun).where(SelectionRun.period_id == period_id)
    if kind is not None:
        stmt = stmt.where(SelectionRun.kind == kind)
    found = await session.scalar(stmt.order_by(SelectionRun.id.desc()).limit(1))
    if found is None:
        raise NotFound("run_not_found", "Belum ada hasil seleksi untuk periode ini.", "period_id")
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
# The status page in one round trip (driven on the raw connection: it is polled all day): who may see the
# application, and which run to explain it with.
_STATUSES = Compiled(
    applicants.VISIBLE_COLUMNS.add_columns(parents_run(Application.period_id).label("run_id")).where(
        Application.registration_number == any_(bindparam("numbers", type_=ARRAY(String)))
    )
)


class _StatusRow(NamedTuple):
    id: int
    registration_number: str
    period_id: int
    status: ApplicationStatus
    updated_at: datetime
    parent_id: int | None
    region_id: int
    run_id: int | None


async def status_rows(bind: AsyncEngine | AsyncConnection, numbers: list[str]) -> list[asyncpg.Record | None]:
    """The status rows of `numbers` (the runtime's `status_rows` groups the reads arriving together)."""
    async with driver_connection(bind) as connection:
        found = {
            r["registration_number"]: r for r in await connection.fetch(_STATUSES.sql, *_STATUSES.args(numbers=numbers))
        }
    return [found.get(number) for number in numbers]


async def status(
    runtime: Runtime, sessionmaker: async_sessionmaker[AsyncSession], registration_number: str, user: Principal
) -> schemas.Explanation:
    """A parent's status page: placement, position and cut-off per choice, and why.

    Polled all day: one statement (shared with the reads arriving at the same moment), then the explanation
    from the runtime's memory (keyed by all it depends on: the run and the application's version); a session
    only when that is not enough."""
    record = await runtime.status_rows(bind_of(sessionmaker), registration_number)
    row = None if record is None else _StatusRow(*record)._replace(status=ApplicationStatus(record["status"]))
    key = None if row is None else (row.id, row.status, row.updated_at, row.run_id)
    if applicants.visible_to(row, user) and (found := runtime.explained.get(key)) is not None:
        return found
    async with sessionmaker() as session:
        application = await applicants.check_visible(session, row, user)
        assert row is not None  # check_visible refuses a missing one
        if row.run_id is None:
            raise NotFound("run_not_found", "Belum ada hasil seleksi untuk periode ini.", "period_id")
        period = await get_period(session, application.period_id)
        selection_run = await session.get(SelectionRun, row.run_id)
        if selection_run is None:  # deleted (with its period) since the row was read
            raise NotFound("run_not_found", "Belum ada hasil seleksi untuk periode ini.", "period_id")
        found = runtime.explained[key] = await explain.explain(session, application, rules_of(period), selection_run)
    return found


async def run_id_for_parents(session: AsyncSession, period_id: int) -> int:
    """The run parents and the public may see: once results are published, the published run; before,
    the latest provisional one (an official run is not shown until it is announced)."""
    run_id = await session.scalar(_RUN_FOR_PARENTS, {"period": period_id})
    if run_id is None:
        raise NotFound("run_not_found", "Belum ada hasil seleksi untuk periode ini.", "period_id")
    return run_id


async def run_digest(session: AsyncSession, run_id: int) -> str:
    return await session.scalar(select(SelectionRun.digest).where(SelectionRun.id == run_id))


async def run_for_parents(session: AsyncSession, period: Period) -> SelectionRun:
    return await session.get(SelectionRun, await run_id_for_parents(session, period.id))


async def what_if(
    session: AsyncSession, period_id: int, request: schemas.WhatIfRequest, *, secret: str
) -> schemas.WhatIfOut:
    """Solve a variant of the rules on the current pool and compare; nothing is written."""
    period = await get_period(session, period_id)
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
    variant = changed_rules(variant, period.level, request, skip=("preset",))

    schools, facts, _ = await load_facts(session, period, secret)

    def solve(rules: RuleSet) -> engine.Result:
        return engine.solve(compile_period(rules, schools, facts).instance)

    now, then = await asyncio.to_thread(solve, current), await asyncio.to_thread(solve, variant)

    def path_of(program: str) -> str:
        return program.split(":", 1)[1].split("/")[0]

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
