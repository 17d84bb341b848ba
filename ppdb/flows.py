"""The steps of a period's life cycle that span domains: each checks the step against the life-cycle table,
asks the domain services to do their part, and moves the period on.

Controllers, pages, the CLI and the worker call these; domain services stay within their domain.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path

import msgspec
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ppdb.applicants import service as applicants
from ppdb.audit.service import record_period
from ppdb.authz import Principal
from ppdb.complaints import service as complaints
from ppdb.db.base import copy_period_rows
from ppdb.errors import AppError, Conflict
from ppdb.notifications import events as notify
from ppdb.regions import lifecycle
from ppdb.regions.lifecycle import Actor, Step
from ppdb.regions.models import Period, PeriodStatus
from ppdb.regions.schemas import NextStage
from ppdb.regions.service import get_period, rules_of
from ppdb.reregistration import service as reregistration
from ppdb.reregistration.models import Reregistration
from ppdb.results import schemas as result_schemas
from ppdb.results import service as results
from ppdb.results.models import Publication
from ppdb.schools.models import PeriodSchool, Program, ZoneEntry
from ppdb.scores import service as scores
from ppdb.selection import correction, vacancy
from ppdb.selection import service as selection
from ppdb.selection.models import RunKind, SelectionRun


async def _locked(session: AsyncSession, period_id: int, by: Actor) -> Period:
    """The period, row-locked (steps take turns), if `by` may act in its region."""
    return await get_period(session, period_id, for_update=True, user=by if isinstance(by, Principal) else None)


async def open_registration(session: AsyncSession, period_id: int, by: Actor) -> Period:
    period = await _locked(session, period_id, by)
    to = lifecycle.check(period, Step.OPEN_REGISTRATION, by)
    schools = await session.scalar(
        select(func.count()).select_from(PeriodSchool).where(PeriodSchool.period_id == period_id)
    )
    if not schools:
        raise Conflict("no_schools", "Impor sekolah terlebih dahulu sebelum membuka pendaftaran.", "schools")
    return lifecycle.transition(session, period, to, lifecycle.actor_name(by))


async def close_registration(session: AsyncSession, period_id: int, by: Actor) -> Period:
    """Close registration; from now on the period's lottery seed is shown (`regions.service.to_out`)."""
    period = await _locked(session, period_id, by)
    return lifecycle.advance(session, period, Step.CLOSE_REGISTRATION, by)


async def run_official(
    session: AsyncSession, period_id: int, by: Actor, *, secret: str, wait: bool = False
) -> SelectionRun:
    """The official selection, after registration closes and until daftar ulang starts (then: vacancy rounds)."""
    await get_period(session, period_id, user=by if isinstance(by, Principal) else None)
    await selection.lock(session, period_id, wait=wait)
    period = await _locked(session, period_id, by)
    to = lifecycle.check(period, Step.RUN_OFFICIAL, by)
    if await session.scalar(
        select(Reregistration.application_id).where(Reregistration.period_id == period_id).limit(1)
    ):
        # Confirmed seats are fixed from now on: only vacancy rounds may place more applicants.
        raise Conflict(
            "reregistration_started", "Daftar ulang sudah berjalan; gunakan putaran pengisian kursi kosong.", "status"
        )
    selection_run = await selection.run(session, period_id, by, secret=secret, kind=RunKind.OFFICIAL)
    lifecycle.transition(session, period, to, lifecycle.actor_name(by))
    await session.flush()
    return selection_run


async def publish(
    session: AsyncSession, period_id: int, user: Principal, request: result_schemas.PublishRequest
) -> Publication:
    """Announce the latest official run (again, with a reason, to correct it); the families are told."""
    period = await _locked(session, period_id, user)
    to = lifecycle.check(period, Step.PUBLISH, user)
    run = await selection.latest_run(session, period.id, RunKind.OFFICIAL)
    if await _unpublished(session, period.id) and await session.scalar(
        select(Reregistration.application_id)
        .where(Reregistration.period_id == period.id, Reregistration.decided_at > run.started_at)
        .limit(1)
    ):  # families decided about the seats announced before, while this run was solved without their answers
        raise Conflict(
            "decisions_since_run",
            "Ada keputusan daftar ulang sesudah seleksi ini dijalankan; jalankan seleksi koreksi lagi, lalu umumkan.",
            "status",
        )
    publication = await results.publish(session, period, user, request)
    await reregistration.void_changed(session, period.id, publication.id, user.actor)
    lifecycle.transition(session, period, to, user.actor)
    await session.flush()
    await notify.result_published(session, publication)
    return publication


async def _unpublished(session: AsyncSession, period_id: int) -> bool:
    """Whether the latest official run is not the one announced last (a correction or a round not yet announced)."""
    announced = await session.scalar(
        select(Publication.run_id).where(Publication.period_id == period_id).order_by(Publication.version.desc())
    )
    latest = await session.scalar(
        select(func.max(SelectionRun.id)).where(
            SelectionRun.period_id == period_id, SelectionRun.kind == RunKind.OFFICIAL
        )
    )
    return announced is not None and latest != announced


async def _announced_first(session: AsyncSession, period: Period) -> None:
    """A step that builds on the announcement waits until the latest run is announced (`_unpublished`)."""
    if await _unpublished(session, period.id):
        raise Conflict(
            "run_unpublished",
            "Hasil seleksi terakhir (mis. seleksi koreksi) belum diumumkan; umumkan dulu.",
            "status",
        )


async def open_reregistration(session: AsyncSession, period_id: int, user: Principal, closes_at: datetime) -> Period:
    period = await _locked(session, period_id, user)
    to = lifecycle.check(period, Step.OPEN_REREGISTRATION, user)
    await _announced_first(session, period)
    reregistration.set_deadline(period, closes_at)
    return lifecycle.transition(session, period, to, user.actor)


async def release_unclaimed(session: AsyncSession, period_id: int, by: Actor) -> int:
    """Close daftar ulang (the agency, at or before the deadline): unclaimed seats go to the vacancy round."""
    period = await _locked(session, period_id, by)
    return await _release(session, period, by)


async def _release(session: AsyncSession, period: Period, by: Actor) -> int:
    to = lifecycle.check(period, Step.RELEASE_UNCLAIMED, by)
    await _announced_first(session, period)
    released = await reregistration.release(
        session, period, await results.latest(session, period.id), lifecycle.actor_name(by)
    )
    lifecycle.transition(session, period, to, lifecycle.actor_name(by))
    await session.flush()
    return released


async def release_expired(session: AsyncSession) -> list[int]:
    """Close every daftar ulang window whose deadline has passed (a job of the worker)."""
    expired = list(
        await session.scalars(
            select(Period)
            .where(Period.status == PeriodStatus.REREGISTRATION, Period.reregistration_closes_at <= func.now())
            .with_for_update(skip_locked=True)
        )
    )
    released = []
    for period in expired:
        if await _unpublished(session, period.id):  # a correction waits to be announced: the agency closes later
            continue
        await _release(session, period, "system:deadline")
        released.append(period.id)
    return released


async def vacancy_round(session: AsyncSession, period_id: int, user: Principal) -> SelectionRun:
    """Fill released and declined seats; confirmed placements stay where they are."""
    period = await _locked(session, period_id, user)
    to = lifecycle.check(period, Step.VACANCY_ROUND, user)
    if await _next_stage_of(session, period) is not None:
        raise Conflict("next_stage_started", "Kursi kosong tahap ini sudah dibawa ke tahap berikutnya.", "status")
    await _corrections_in(session, period)
    published = await results.latest(session, period.id)
    selection_run = await vacancy.vacancy_round(session, period, published.run_id, user)
    lifecycle.transition(session, period, to, user.actor)
    await session.flush()
    return selection_run


async def _corrections_in(session: AsyncSession, period: Period) -> None:
    """A step that builds on the announced results waits for the corrections made for cases to be run and
    announced (a vacancy round, the next stage)."""
    if await complaints.pending(session, period.id):
        raise Conflict(
            "corrections_pending",
            "Ada koreksi atas pengaduan yang belum masuk seleksi: jalankan seleksi koreksi dan umumkan dulu.",
            "status",
        )
    await _announced_first(session, period)


async def correction_run(session: AsyncSession, period_id: int, user: Principal, *, secret: str) -> SelectionRun:
    """Solve the announced round again from the data as corrected since (upheld complaints' corrections, taken in
    and linked to the run); confirmed seats stay. Announced as the round's next version, with a reason."""
    await get_period(session, period_id, user=user)
    await selection.lock(session, period_id)
    period = await _locked(session, period_id, user)
    to = lifecycle.check(period, Step.CORRECTION_RUN, user)
    if await _next_stage_of(session, period) is not None:
        raise Conflict("next_stage_started", "Kursi kosong tahap ini sudah dibawa ke tahap berikutnya.", "status")
    published = await results.latest(session, period.id)
    taken = await complaints.pending(session, period.id, lock=True)
    selection_run = await correction.correction_run(
        session,
        period,
        published.run_id,
        user,
        secret=secret,
        complaints=sorted({number for _, number in taken}),
        corrected={c.application_id for c, _ in taken},
    )
    complaints.take_in([c for c, _ in taken], selection_run.id)
    lifecycle.transition(session, period, to, user.actor)
    await session.flush()
    return selection_run


async def _next_stage_of(session: AsyncSession, period: Period) -> int | None:
    return await session.scalar(
        select(Period.id).where(
            Period.first_period_id == (period.first_period_id or period.id), Period.stage == period.stage + 1
        )
    )


async def next_stage(
    session: AsyncSession, period_id: int, user: Principal, data: NextStage, *, data_dir: Path
) -> Period:
    """Start the admission's next stage (`RuleSet.stages`) once this one's daftar ulang is closed: a period of its
    own, in draft, with the same rules, schools, zones, graduate lists, test results and school indexes; each
    school's seats are what this stage started with
    less the seats confirmed in it (declined, released and unfilled seats go on). Its registration window is
    given, or the stage's planned one. Children placed nowhere register anew, or, where the stage says so,
    their registrations are carried into it (`Stage.unplaced`)."""
    period = await _locked(session, period_id, user)
    lifecycle.check(period, Step.NEXT_STAGE, user)
    await _corrections_in(session, period)
    rules = rules_of(period)
    if period.stage >= len(rules.stages):
        raise Conflict("no_next_stage", "Aturan periode ini tidak memiliki tahap berikutnya.", "stages")
    stage = rules.stages[period.stage]
    opens_at, closes_at = data.registration_opens_at or stage.opens_at, data.registration_closes_at or stage.closes_at
    if opens_at is None or closes_at is None or closes_at <= opens_at:
        raise AppError(
            "schedule_invalid",
            f"Isi jadwal pendaftaran {stage.name}: pembukaan sebelum penutupan.",
            "registration_opens_at",
        )
    first = period.first_period_id or period.id
    new = Period(
        region_id=period.region_id,
        name=f"{(await session.get(Period, first) or period).name} · {stage.name}",
        school_year=period.school_year,
        level=period.level,
        status=PeriodStatus.DRAFT,
        registration_opens_at=opens_at,
        registration_closes_at=closes_at,
        rules=msgspec.to_builtins(msgspec.structs.replace(rules, lottery_seed=secrets.token_hex(16))),
        stage=period.stage + 1,
        first_period_id=first,
    )
    session.add(new)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict("stage_exists", f"{stage.name} sudah dimulai.", "stages") from None
    taken = await reregistration.confirmed_per_place(session, period.id)
    left: dict[int, int] = {}  # an SMK's seats are its programs': each program keeps what was not confirmed in it
    for p in await session.scalars(select(Program).where(Program.period_id == period.id)):
        seats = max(0, p.capacity - taken.get((p.school_id, p.code), 0))
        left[p.school_id] = left.get(p.school_id, 0) + seats
        session.add(
            Program(
                period_id=new.id,
                school_id=p.school_id,
                code=p.code,
                name=p.name,
                capacity=seats,
                requirements=p.requirements,
                partner=p.partner,
            )
        )
    for row in await session.scalars(select(PeriodSchool).where(PeriodSchool.period_id == period.id)):
        left.setdefault(row.school_id, max(0, row.capacity - taken.get((row.school_id, None), 0)))
        session.add(PeriodSchool(period_id=new.id, school_id=row.school_id, capacity=left[row.school_id]))
    await session.execute(copy_period_rows(ZoneEntry.__table__, period.id, new.id))  # type: ignore[arg-type]
    await scores.carry_to_stage(session, period.id, new.id)
    record_period(
        session,
        new.id,
        "period.create",
        actor=user.actor,
        new={"stage": new.stage, "after_period": period.id, "seats": sum(left.values())},
    )
    record_period(session, period.id, "period.next_stage", actor=user.actor, new={"period_id": new.id})
    await session.flush()
    if stage.unplaced == "carried":
        await applicants.carry_unplaced(session, period, new, actor=user.actor, data_dir=data_dir)
    return new
