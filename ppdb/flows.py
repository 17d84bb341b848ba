"""The steps of a period's life cycle that span domains: each checks the step against the life-cycle table,
asks the domain services to do their part, and moves the period on.

Controllers, pages, the CLI and the worker call these; domain services stay within their domain.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ppdb.authz import Principal
from ppdb.errors import Conflict
from ppdb.notifications import events as notify
from ppdb.regions import lifecycle
from ppdb.regions.lifecycle import Actor, Step
from ppdb.regions.models import Period, PeriodStatus
from ppdb.regions.service import get_period
from ppdb.reregistration import service as reregistration
from ppdb.reregistration.models import Reregistration
from ppdb.results import schemas as result_schemas
from ppdb.results import service as results
from ppdb.results.models import Publication
from ppdb.schools.models import PeriodSchool
from ppdb.selection import service as selection
from ppdb.selection import vacancy
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
    publication = await results.publish(session, period, user, request)
    lifecycle.transition(session, period, to, user.actor)
    await session.flush()
    await notify.result_published(session, publication)
    return publication


async def open_reregistration(session: AsyncSession, period_id: int, user: Principal, closes_at: datetime) -> Period:
    period = await _locked(session, period_id, user)
    to = lifecycle.check(period, Step.OPEN_REREGISTRATION, user)
    reregistration.set_deadline(period, closes_at)
    return lifecycle.transition(session, period, to, user.actor)


async def release_unclaimed(session: AsyncSession, period_id: int, by: Actor) -> int:
    """Close daftar ulang (the agency, at or before the deadline): unclaimed seats go to the vacancy round."""
    period = await _locked(session, period_id, by)
    return await _release(session, period, by)


async def _release(session: AsyncSession, period: Period, by: Actor) -> int:
    to = lifecycle.check(period, Step.RELEASE_UNCLAIMED, by)
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
    for period in expired:
        await _release(session, period, "system:deadline")
    return [p.id for p in expired]


async def vacancy_round(session: AsyncSession, period_id: int, user: Principal) -> SelectionRun:
    """Fill released and declined seats; confirmed placements stay where they are."""
    period = await _locked(session, period_id, user)
    to = lifecycle.check(period, Step.VACANCY_ROUND, user)
    published = await results.latest(session, period.id)
    selection_run = await vacancy.vacancy_round(session, period, published.run_id, user)
    lifecycle.transition(session, period, to, user.actor)
    await session.flush()
    return selection_run
