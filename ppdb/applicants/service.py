"""Registration: register, change, withdraw, read, bulk import.

Validation is in `validation`, the one write path of new registrations in `write`, Idempotency-Key in
`idempotency`, rows → API in `mapping`. The caches and the fast path's group commit are the app's `Runtime`.

Every function here works in the caller's session, which the request commits, except these, which own
their transaction(s) and are the only exceptions:
- `register_committed`: the admission-day fast path commits by one autocommitted statement (`store_group`,
  through the runtime's group commit); otherwise it registers in a transaction of its own, committed when it
  returns. A submit that stores more than the registration (the wizard's files) uses `register_in` instead.
- `store_group`: the group commit's write, one autocommitted statement for the registrations queued together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import asyncpg
import msgspec
from cachetools import LRUCache
from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from ppdb.accounts.models import LoginAttempt, Role
from ppdb.applicants import documents, idempotency, pins, schemas, write
from ppdb.applicants.mapping import Findings, applicant_out, current_data, of_application, written
from ppdb.applicants.models import (
    SELECTED_STATUSES,
    Applicant,
    Application,
    ApplicationStatus,
    Choice,
    Document,
    DocumentStatus,
    ProgramFinding,
)
from ppdb.applicants.validation import (
    ChoicePlan,
    OpenPeriod,
    PeriodContext,
    Plan,
    ProgramInfo,
    SchoolInfo,
    ZoneArea,
    validate,
)
from ppdb.audit.service import record_application, record_period
from ppdb.authz import Principal, load_application, own_school
from ppdb.db.session import bind_of, driver_connection
from ppdb.errors import AppError, ApplicationWithdrawn, Conflict, Forbidden, NotFound
from ppdb.regions.models import Kelurahan, Period, PeriodStatus, Region
from ppdb.regions.service import accepting_registrations, get_period, rules_of
from ppdb.reregistration.models import Decision, Reregistration
from ppdb.results.models import Publication, PublicationEntry
from ppdb.schools.models import PeriodSchool, Program, School, ZoneEntry

if TYPE_CHECKING:
    from ppdb.runtime import Runtime

__all__ = ["ChoicePlan", "OpenPeriod", "PeriodContext", "Plan", "SchoolInfo", "current_data", "validate"]


# --- the period's context -------------------------------------------------------------------------------------


async def load_context(session: AsyncSession, period_id: int, runtime: Runtime | None = None) -> PeriodContext:
    """The period (always fresh) with its schools and zones (kept in the runtime for a little while once the
    period has left draft: imports are draft-only, so on admission day they do not change)."""
    period = await get_period(session, period_id)
    places = None if runtime is None else runtime.places.get(period.id)
    if places is None:
        places = await _load_places(session, period.id)
        if runtime is not None and period.status is not PeriodStatus.DRAFT:
            runtime.places[period.id] = places
    return PeriodContext(period, rules_of(period), *places)


def loaded(ctx: PeriodContext) -> Period:
    """The period of a context from `load_context` (a row, not the fast path's copy)."""
    assert isinstance(ctx.period, Period)
    return ctx.period


async def _load_places(
    session: AsyncSession, period_id: int
) -> tuple[str, dict[str, SchoolInfo], dict[int, list[ZoneArea]], frozenset[str]]:
    region_code = await session.scalar(
        select(Region.code).join(Period, Period.region_id == Region.id).where(Period.id == period_id)
    )
    rows = await session.execute(
        select(
            School.id,
            School.npsn,
            School.name,
            School.level,
            School.latitude,
            School.longitude,
            PeriodSchool.capacity,
            School.ownership,
            School.kelurahan_code,
        )
        .join(PeriodSchool, PeriodSchool.school_id == School.id)
        .where(PeriodSchool.period_id == period_id)
    )
    programs: dict[int, dict[str, ProgramInfo]] = {}
    for p in await session.scalars(select(Program).where(Program.period_id == period_id).order_by(Program.code)):
        programs.setdefault(p.school_id, {})[p.code] = ProgramInfo(p.id, p.code, p.name, tuple(p.requirements))
    schools = {
        r.npsn: SchoolInfo(
            r.id,
            r.npsn,
            r.name,
            r.level.value,
            r.latitude,
            r.longitude,
            r.capacity,
            r.ownership,
            r.kelurahan_code,
            programs.get(r.id, {}),
        )
        for r in rows
    }
    zones: dict[int, list[ZoneArea]] = {}
    z = ZoneEntry
    for row in await session.execute(
        select(z.school_id, z.kelurahan_code, z.rw, z.rt, z.radius_m, z.priority).where(z.period_id == period_id)
    ):
        zones.setdefault(row.school_id, []).append(ZoneArea(*row[1:]))
    kelurahan = frozenset(
        await session.scalars(
            select(Kelurahan.code).join(Period, Period.region_id == Kelurahan.region_id).where(Period.id == period_id)
        )
    )
    return region_code or "", schools, zones, kelurahan


# --- registering -----------------------------------------------------------------------------------------------


async def register_committed(
    runtime: Runtime,
    sessionmaker: async_sessionmaker[AsyncSession],
    period_id: int,
    data: schemas.ApplicationCreate,
    parent: Principal,
    *,
    idempotency_key: str | None = None,
) -> schemas.ApplicationOut:
    """A registration, committed when this returns (it owns its transactions): by the admission-day fast path
    (one statement, no session) or, for anything unusual, with every check in a transaction of its own."""
    key = idempotency.key_for(parent, period_id, idempotency_key)
    walk_in = parent.role is Role.SCHOOL_OPERATOR  # rare: no need for the admission-day path
    if not walk_in:
        out = await _register_at_once(runtime, bind_of(sessionmaker), period_id, data, parent, key)
        if out is not None:
            return out
    await _pin_checked(sessionmaker, period_id, data, parent)
    try:
        async with sessionmaker.begin() as session:
            return await _register_checked(runtime, session, period_id, data, parent, key)
    except Conflict as refused:
        await _count_taken(sessionmaker, parent, refused)
        raise


TAKEN = "nik_taken"
"""The `LoginAttempt.email` of a registration refused because its NIK was already registered (`address`: the
account)."""
TAKEN_CODES = frozenset(("nik_registered_elsewhere", "claim_available"))
"""Another account's or a school's registration of the NIK (a family retrying its own is not counted)."""
TAKEN_MAX, TAKEN_WINDOW = 10, timedelta(days=1)
"""A family meets a registered NIK once or twice (its own child, registered by someone else); an account asking
about many NIKs is refused for a day, so whether a child is registered cannot be looked up NIK by NIK (security
review M1; where the region requires PINs, a NIK without its PIN learns nothing at all)."""


async def _count_taken(sessionmaker: async_sessionmaker[AsyncSession], parent: Principal, refused: Conflict) -> None:
    """A refusal for a registered NIK, counted for the account in a transaction of its own."""
    if refused.code in TAKEN_CODES and parent.role is Role.PARENT:
        async with sessionmaker.begin() as session:
            session.add(LoginAttempt(email=TAKEN, address=parent.actor, success=False))


async def _taken_budget(sessionmaker: async_sessionmaker[AsyncSession], parent: Principal) -> None:
    if parent.role is not Role.PARENT:  # a school registering families at its desk
        return
    async with sessionmaker() as session:
        asked = await session.scalar(
            select(func.count()).where(
                LoginAttempt.email == TAKEN,
                LoginAttempt.address == parent.actor,
                LoginAttempt.at > datetime.now(UTC) - TAKEN_WINDOW,
            )
        )
    if (asked or 0) >= TAKEN_MAX:
        raise AppError(
            "nik_checks_throttled",
            "Terlalu banyak pendaftaran dengan NIK yang sudah terdaftar dari akun ini. Coba lagi besok, atau "
            "hubungi helpdesk Dinas dengan membawa KK.",
            "nik",
            status_code=429,
        )


async def _pin_checked(
    sessionmaker: async_sessionmaker[AsyncSession], period_id: int, data: schemas.ApplicationCreate, parent: Principal
) -> None:
    async with sessionmaker() as session:
        period = await session.get(Period, period_id)
    if period is not None:  # else the registration itself says so
        accepting_registrations(period)  # no guessing at PINs before registration opens
        await pins.check(sessionmaker, period, data, parent)
        await _taken_budget(sessionmaker, parent)


async def _not_placed_earlier(session: AsyncSession, period: Period, nik: str) -> None:
    """A child placed in an earlier stage of the admission registers in no later one, unless it declined the
    seat at daftar ulang (`RuleSet.stage_lockout`: `placed`), or, where the rules say so, only one that
    confirmed it (`confirmed`)."""
    first = period.first_period_id or period.id
    earlier = (
        select(Period.name)
        .select_from(Application)
        .join(Applicant, Applicant.id == Application.applicant_id)
        .join(Period, Period.id == Application.period_id)
        .where(
            Applicant.nik == nik,
            Application.status.in_(SELECTED_STATUSES),
            or_(Period.id == first, Period.first_period_id == first),
            Period.stage < period.stage,
        )
        .limit(1)
    )
    rules = rules_of(period)
    decided = select(Reregistration.decision).where(Reregistration.application_id == Application.id)
    # placed in the stage's last announcement (its latest publication)
    latest = select(func.max(Publication.id)).where(Publication.period_id == Period.id).correlate(Period)
    taken = earlier.join(PublicationEntry, PublicationEntry.application_id == Application.id).where(
        PublicationEntry.publication_id == latest.scalar_subquery(), PublicationEntry.npsn.is_not(None)
    )
    if rules.stage_lockout_ranks is not None:  # Jabar: a seat at choice 1 or 2 only
        taken = taken.where(PublicationEntry.choice_rank <= rules.stage_lockout_ranks)
    if rules.stage_lockout == "confirmed":
        taken = taken.where(decided.where(Reregistration.decision == Decision.CONFIRMED).exists())
    else:
        taken = taken.where(~decided.where(Reregistration.decision == Decision.DECLINED).exists())
    if (stage := await session.scalar(taken)) is not None:
        raise Conflict(
            "placed_in_earlier_stage",
            f"Anak ini sudah diterima pada {stage} dan tidak menolak kursinya saat daftar ulang; pendaftaran tahap "
            "berikutnya tidak dapat dilakukan.",
            "nik",
        )


def _pin_digest(ctx: PeriodContext, data: schemas.ApplicationCreate, parent: Principal) -> str | None:
    """What the statement compares with the child's PIN: only where the rules require one of a parent."""
    if not ctx.rules.pin_required or parent.role is not Role.PARENT or data.pin is None:
        return None
    return pins.digest(ctx.period.admission_id, data.nik, data.pin)


async def register_in(
    runtime: Runtime,
    sessionmaker: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    period_id: int,
    data: schemas.ApplicationCreate,
    parent: Principal,
    *,
    idempotency_key: str | None = None,
) -> schemas.ApplicationOut:
    """A registration in the caller's transaction, with every check, for a submit that stores more with it
    (the wizard's files): it commits or rolls back with the rest (a wrong PIN is counted on its own)."""
    key = idempotency.key_for(parent, period_id, idempotency_key)
    await _pin_checked(sessionmaker, period_id, data, parent)
    try:
        return await _register_checked(runtime, session, period_id, data, parent, key)
    except Conflict as refused:
        await _count_taken(sessionmaker, parent, refused)
        raise


async def _register_checked(
    runtime: Runtime,
    session: AsyncSession,
    period_id: int,
    data: schemas.ApplicationCreate,
    parent: Principal,
    key: str | None,
) -> schemas.ApplicationOut:
    if key is not None:
        replay = await idempotency.claim(session, key, data)
        if replay is not None:
            return replay
    ctx = await load_context(session, period_id, runtime)
    period = loaded(ctx)
    if period.status is PeriodStatus.REGISTRATION_OPEN:
        runtime.open_periods[period_id] = replace(ctx, period=OpenPeriod.of(period))
    accepting_registrations(period)
    if period.stage > 1:
        await _not_placed_earlier(session, period, data.nik)
    walk_in = parent.role is Role.SCHOOL_OPERATOR
    if walk_in and (await own_school(session, parent)).region_id != period.region_id:
        raise Forbidden("forbidden_region", "Sekolah Anda bukan sekolah daerah periode ini.")
    plan = validate(ctx, data)
    new = write.new_registration(
        data,
        plan,
        number=write.new_registration_number(ctx.period),
        parent_id=None if walk_in else parent.id,
        registrar_school_id=parent.school_id if walk_in else None,
        actor=parent.actor,
        pin_digest=_pin_digest(ctx, data, parent),
    )
    known = await write.reuse_applicant(session, ctx.period.id, new.applicant, None if walk_in else parent.id)
    if known is not None:
        new = replace(new, extra={**new.extra, "applicant_id": known[0]}, coordinate_verified_at=known[1])
    rows = await write.run_in(session, ctx.period.id, [new], admission_id=ctx.period.admission_id)
    if not rows:  # its PIN was issued again since it was checked
        raise AppError("pin_invalid", "PIN tidak cocok dengan NIK ini.", "pin")
    (row,) = rows
    out = written(new, ctx.period.id, plan, submitted_at=row["submitted_at"], updated_at=row["updated_at"])
    if key is not None:
        await idempotency.answer(session, key, out)
    return out


async def store_group(
    open_periods: LRUCache[int, PeriodContext],
    key: tuple[AsyncEngine | AsyncConnection, OpenPeriod],
    news: list[write.NewRegistration],
) -> list[asyncpg.Record | None]:
    """Registrations queued together (the runtime's group commit), written and committed by one statement
    outside any session (it owns that transaction); None for each that was not written. A unique violation
    (a known NIK, a used Idempotency-Key, a taken number) fails the whole group, which is then written one by
    one so that only the offending registration is not."""
    bind, period = key
    try:
        async with driver_connection(bind) as connection:
            rows = await write.run(connection, period.id, period.version, news)
    except asyncpg.IntegrityConstraintViolationError:
        if len(news) == 1:
            return [None]
        return [(await store_group(open_periods, key, [new]))[0] for new in news]
    if not rows and not any(n.extra["pin_digest"] for n in news):
        # the period is no longer that version, or no longer open: forget this worker's copy (a group with a PIN
        # may also be empty because the PIN was wrong; the checked path answers, and the copy stays)
        open_periods.pop(period.id, None)
    stored = {row["registration_number"]: row for row in rows}
    return [stored.get(new.application["registration_number"]) for new in news]


async def _register_at_once(
    runtime: Runtime,
    bind: AsyncEngine | AsyncConnection,
    period_id: int,
    data: schemas.ApplicationCreate,
    parent: Principal,
    key: str | None,
) -> schemas.ApplicationOut | None:
    """The admission-day fast path: a new child in an open period, stored by one autocommitted statement
    together with the registrations that arrived at the same moment in this worker (group commit).

    Returns None, having written nothing, whenever anything is unusual (period unknown here or changed,
    invalid data, a known NIK or an active application, a used Idempotency-Key, a taken number): the
    transactional path then answers with the full checks, the right error or the replayed answer.
    """
    ctx = runtime.open_periods.get(period_id)
    if ctx is None:
        return None
    try:
        accepting_registrations(cast(Period, ctx.period))  # the copy has every field it reads
        plan = validate(ctx, data)
    except AppError:
        return None
    period = ctx.period
    assert isinstance(period, OpenPeriod)
    if period.stage > 1:
        return None  # the checked path looks at the child's earlier stages
    pin_digest = _pin_digest(ctx, data, parent)
    if ctx.rules.pin_required and parent.role is Role.PARENT and pin_digest is None:
        return None  # the checked path says a PIN is needed
    new = write.new_registration(
        data,
        plan,
        number=write.new_registration_number(period),
        parent_id=parent.id,
        actor=parent.actor,
        pin_digest=pin_digest,
    )
    now = datetime.now(UTC)  # replaced by the database's time in the stored and the returned answer
    out = written(new, period_id, plan, submitted_at=now, updated_at=now)
    if key is not None:
        body = msgspec.json.encode(out).decode()
        new = replace(
            new, extra={**new.extra, "key": key, "request_hash": idempotency.request_hash(data), "body": body}
        )
    row = await runtime.registrations((bind, period), new)
    if row is None:
        return None
    return msgspec.structs.replace(out, submitted_at=row["submitted_at"], updated_at=row["updated_at"])


async def store_many(
    session: AsyncSession,
    ctx: PeriodContext,
    items: list[tuple[schemas.ApplicationCreate, Plan, datetime]],
    *,
    actor: str,
) -> int:
    """Bulk import (offline imports, demo data): validated registrations, each with its time of submission,
    stored by the one write path in the session's transaction, audited as one entry.

    The caller validates each item with `validate`; NIK uniqueness is still enforced by the database.
    """
    if not items:
        return 0
    news = [
        write.new_registration(
            data, plan, number=write.new_registration_number(ctx.period), parent_id=None, submitted_at=submitted_at
        )
        for data, plan, submitted_at in items
    ]
    await write.run_in(session, ctx.period.id, news)
    record_period(
        session,
        ctx.period.id,
        "applications.bulk_create",
        actor=actor,
        new={"applications": len(items)},
    )
    return len(items)


async def carry_unplaced(session: AsyncSession, previous: Period, new: Period, *, actor: str, data_dir: Path) -> int:
    """Into a new stage (`Stage.unplaced` "carried"): the registrations of the stage before that its last
    announcement placed nowhere, on a path the new stage opens, as they stand (the same parent, data, choices
    and documents, each document with its file and verification), checked against the new stage's rules; one
    that no longer passes them is not carried (the family registers anew). The number carried."""
    latest = select(func.max(Publication.id)).where(Publication.period_id == previous.id).scalar_subquery()
    ctx = await load_context(session, new.id)
    unplaced = await session.scalars(
        select(Application)
        .join(PublicationEntry, PublicationEntry.application_id == Application.id)
        .where(
            PublicationEntry.publication_id == latest,
            PublicationEntry.npsn.is_(None),
            Application.status.in_(SELECTED_STATUSES),
            Application.path.in_(ctx.rules.stage_paths(new.stage)),
        )
        .order_by(Application.submitted_at)
        .options(
            selectinload(Application.applicant),
            selectinload(Application.choices).selectinload(Choice.program),
            selectinload(Application.documents),
        )
    )
    before = await load_context(session, previous.id)
    carried: list[tuple[Application, write.NewRegistration]] = []
    for application in unplaced:
        data = current_data(application, before)
        try:
            plan = validate(ctx, data)
        except AppError:
            continue
        new_one = write.new_registration(
            data,
            plan,
            number=write.new_registration_number(new),
            parent_id=application.parent_id,
            registrar_school_id=application.registrar_school_id,
            actor=actor,
        )
        carried.append((application, new_one))
    if not carried:
        return 0
    await write.run_in(session, new.id, [n for _, n in carried], admission_id=new.admission_id)
    numbers = {n.application["registration_number"]: old for old, n in carried}
    stored = await session.scalars(
        select(Application)
        .where(Application.registration_number.in_(numbers))
        .options(selectinload(Application.documents))
    )
    for application in stored:
        old = {d.kind: d for d in numbers[application.registration_number].documents}
        for document in application.documents:
            if document.kind in old:
                documents.carry(session, old[document.kind], document, new.id, data_dir=data_dir)
    record_period(
        session, new.id, "applications.carry", actor=actor, new={"from": previous.id, "carried": len(carried)}
    )
    return len(carried)


# --- for the parent pages ------------------------------------------------------------------------------------


async def periods_open(session: AsyncSession) -> list[Period]:
    """The periods open for registration (a parent's dashboard offers them)."""
    return list(
        await session.scalars(select(Period).where(Period.status == PeriodStatus.REGISTRATION_OPEN).order_by(Period.id))
    )


async def kelurahan_of(session: AsyncSession, region_id: int) -> list[Any]:
    """The region's kelurahan (code, name, kecamatan, centre where known), as the wizard lists them."""
    return list(
        await session.execute(
            select(Kelurahan.code, Kelurahan.name, Kelurahan.kecamatan, Kelurahan.latitude, Kelurahan.longitude)
            .where(Kelurahan.region_id == region_id)
            .order_by(Kelurahan.kecamatan, Kelurahan.name)
        )
    )


# --- reading, changing, withdrawing --------------------------------------------------------------------------


async def read(session: AsyncSession, registration_number: str) -> schemas.ApplicationOut:
    (out,) = await read_many(session, [registration_number])
    return out


async def read_many(session: AsyncSession, registration_numbers: list[str]) -> list[schemas.ApplicationOut]:
    """The applications, in the given order, with a fixed number of statements however many there are."""
    applications = {
        a.registration_number: a
        for a in await session.scalars(
            select(Application)
            .where(Application.registration_number.in_(registration_numbers))
            .options(
                selectinload(Application.applicant),
                selectinload(Application.choices).selectinload(Choice.program),
                selectinload(Application.documents),
            )
        )
    }
    school_ids = {c.school_id for a in applications.values() for c in a.choices}
    schools = {s.id: s for s in await session.scalars(select(School).where(School.id.in_(school_ids)))}
    found = await findings(session, [a for a in applications.values() if any(c.program_id for c in a.choices)])
    return [
        of_application(applications[number], schools, found.get(applications[number].id, {}))
        for number in registration_numbers
    ]


async def findings(session: AsyncSession, applications: list[Application]) -> Mapping[int, Findings]:
    """The schools' program findings on the children of these applications (loaded with their applicant), per
    application: (school id, program code) -> the finding."""
    if not applications:
        return {}
    admissions = select(Period.id, func.coalesce(Period.first_period_id, Period.id).label("admission")).subquery()
    rows = await session.execute(
        select(Application.id, ProgramFinding)
        .join(Applicant, Applicant.id == Application.applicant_id)
        .join(admissions, admissions.c.id == Application.period_id)
        .join(
            ProgramFinding,
            (ProgramFinding.admission_id == admissions.c.admission) & (ProgramFinding.nik == Applicant.nik),
        )
        .where(Application.id.in_([a.id for a in applications]))
    )
    found: dict[int, dict[tuple[int, str], ProgramFinding]] = {}
    for application_id, finding in rows:
        found.setdefault(application_id, {})[finding.school_id, finding.code] = finding
    return found


async def mine(session: AsyncSession, parent: Principal) -> list[schemas.ApplicationOut]:
    """A parent's applications, newest first."""
    numbers = list(
        await session.scalars(
            select(Application.registration_number)
            .where(Application.parent_id == parent.id)
            .order_by(Application.id.desc())
        )
    )
    return await read_many(session, numbers) if numbers else []


async def change(
    runtime: Runtime, session: AsyncSession, registration_number: str, user: Principal, patch: schemas.ApplicationUpdate
) -> schemas.ApplicationOut:
    application = await load_application(session, registration_number, user, write=True)
    ctx = await load_context(session, application.period_id, runtime)
    accepting_registrations(loaded(ctx))
    _still_active(application)
    current = current_data(application, ctx)
    merged = msgspec.convert(
        {**msgspec.to_builtins(current), **msgspec.to_builtins(patch)}, schemas.ApplicationCreate, strict=False
    )
    moved = (merged.latitude, merged.longitude, merged.kelurahan_code, merged.rw, merged.rt) != (
        current.latitude,
        current.longitude,
        current.kelurahan_code,
        current.rw,
        current.rt,
    )
    if moved and application.applicant.coordinate_verified_at is not None:
        raise Conflict(
            "coordinate_locked",
            "Lokasi rumah sudah diverifikasi dan dikunci; hubungi Dinas untuk perubahan.",
            "latitude",
        )
    plan = validate(ctx, merged)
    await apply_plan(session, application, merged, plan)
    changed = msgspec.to_builtins(patch)
    record_application(
        session,
        application,
        "application.change",
        actor=user.actor,
        old={k: v for k, v in msgspec.to_builtins(current).items() if k in changed},
        new=changed,
    )
    await session.flush()
    session.expire(application)
    return await read(session, registration_number)


async def apply_plan(
    session: AsyncSession, application: Application, merged: schemas.ApplicationCreate, plan: Plan
) -> None:
    """Write a validated version of an application: applicant data, path, choices, declared documents."""
    a = application.applicant
    new = write.new_registration(merged, plan, number=application.registration_number, parent_id=None)
    for key, value in new.applicant.items():
        if key != "nik":  # fixed: withdraw and register again
            setattr(a, key, value)
    application.path, application.category = plan.path.name, merged.category
    application.updated_at = func.clock_timestamp()  # also when only the choices (another table) changed
    application.kk_exception = merged.kk_exception
    # Replace choices in SQL, not via the ORM collection, so (application, rank) never collides mid-flush.
    await session.execute(delete(Choice).where(Choice.application_id == application.id))
    session.expire(application, ["choices"])
    session.add_all(
        Choice(application_id=application.id, **{k: v for k, v in c.items() if k != "registration_number"})
        for c in new.choices
    )
    kept = set(merged.documents)
    for document in list(application.documents):
        if document.kind not in kept and document.status is DocumentStatus.DECLARED:
            application.documents.remove(document)
    have = {d.kind for d in application.documents}
    application.documents.extend(Document(kind=k) for k in dict.fromkeys(merged.documents) if k not in have)


async def claim(
    sessionmaker: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    registration_number: str,
    user: Principal,
    data: schemas.Claim,
) -> schemas.ApplicationOut:
    """A family takes a registration a school made for it (walk-in) into its account, with the child's PIN.
    A number that is unknown, withdrawn or already in an account answers 404 (nothing to claim); a wrong PIN
    counts against the child's like one at registration."""
    stmt = (
        select(
            Application.id,
            func.coalesce(Period.first_period_id, Period.id).label("admission_id"),
            Application.parent_id,
            Application.status,
            Applicant.nik,
        )
        .join(Applicant, Applicant.id == Application.applicant_id)
        .join(Period, Period.id == Application.period_id)
        .where(Application.registration_number == registration_number)
    )
    row = (await session.execute(stmt)).first()
    if row is None or row.parent_id is not None or row.status is ApplicationStatus.WITHDRAWN:
        raise NotFound("application_not_found", "Pendaftaran tidak ditemukan.", "registration_number")
    await pins.verify(sessionmaker, row.admission_id, row.nik, data.pin, caller=user.actor)
    application = await session.get(Application, row.id, with_for_update=True)
    if application is None or application.parent_id is not None or application.status is ApplicationStatus.WITHDRAWN:
        raise NotFound("application_not_found", "Pendaftaran tidak ditemukan.", "registration_number")
    application.parent_id = user.id
    record_application(session, application, "application.claim", actor=user.actor, new={"parent_id": user.id})
    await session.flush()
    return await read(session, registration_number)


async def release(
    session: AsyncSession, registration_number: str, user: Principal, data: schemas.Release
) -> schemas.ApplicationOut:
    """The Dinas withdraws an application registered from an account that did not hold the child's NIK (a
    family's report, checked against the KK): the NIK is free again for the family; audited with the reason."""
    application = await load_application(session, registration_number, user, lock=True)
    period = await get_period(session, application.period_id)
    if period.status is not PeriodStatus.REGISTRATION_OPEN:  # the family must still be able to register
        raise Conflict("period_not_open", "Pendaftaran hanya dapat dilepas selama pendaftaran dibuka.", "period_id")
    _still_active(application)
    old = application.status
    _withdrawn(application)
    application.status_reason = data.reason
    record_application(
        session,
        application,
        "application.release",
        actor=user.actor,
        old={"status": old.value, "parent_id": application.parent_id},
        new={"status": ApplicationStatus.WITHDRAWN.value, "reason": data.reason},
    )
    await session.flush()
    session.expire(application)
    return await read(session, registration_number)


def _withdrawn(application: Application) -> None:
    """Withdrawn now, keeping the child's data as it stands: the withdrawn application shows it from now on
    (`Application.withdrawn_applicant`), whatever a later registration of the child writes."""
    application.status, application.withdrawn_at = ApplicationStatus.WITHDRAWN, datetime.now(UTC)
    application.withdrawn_applicant = msgspec.to_builtins(applicant_out(application.applicant))


def _still_active(application: Application) -> None:
    if application.status is ApplicationStatus.WITHDRAWN:
        raise ApplicationWithdrawn()
    if application.status is ApplicationStatus.DISQUALIFIED:
        raise Conflict(
            "applicant_disqualified", f"Pendaftaran ini didiskualifikasi: {application.status_reason}", "status"
        )


async def withdraw(session: AsyncSession, registration_number: str, user: Principal) -> schemas.ApplicationOut:
    application = await load_application(session, registration_number, user, write=True)
    period = await get_period(session, application.period_id)
    accepting_registrations(period)
    _still_active(application)
    old = application.status
    _withdrawn(application)
    record_application(
        session,
        application,
        "application.withdraw",
        actor=user.actor,
        old={"status": old.value},
        new={"status": ApplicationStatus.WITHDRAWN.value},
    )
    await session.flush()
    session.expire(application)
    return await read(session, registration_number)
