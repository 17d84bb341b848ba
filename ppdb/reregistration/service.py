"""Daftar ulang window: one decision per published placement, released seats at the deadline."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ppdb.applicants.models import SELECTED_STATUSES
from ppdb.audit.service import record
from ppdb.authz import Principal, assert_placing_school, assert_reregistration_actor, load_application
from ppdb.errors import AppError, Conflict
from ppdb.regions.models import Period, PeriodStatus
from ppdb.regions.service import get_period, transition
from ppdb.reregistration.models import Decision, Reregistration
from ppdb.results.models import PublicationEntry
from ppdb.results.service import latest


async def open_window(session: AsyncSession, period_id: int, user: Principal, closes_at: datetime) -> None:
    period = await get_period(session, period_id, for_update=True, user=user)
    if period.status is not PeriodStatus.PUBLISHED:
        raise Conflict("invalid_transition", "Daftar ulang dibuka setelah hasil diumumkan.", "status")
    if closes_at <= datetime.now(UTC):
        raise AppError("schedule_invalid", "Batas daftar ulang harus di masa depan.", "closes_at")
    period.reregistration_closes_at = closes_at
    transition(session, period, PeriodStatus.REREGISTRATION, user.actor)


async def decide(session: AsyncSession, registration_number: str, user: Principal, decision: Decision) -> Decision:
    """Confirm or decline a published seat: by the parent, or by the operator of the placing school."""
    assert_reregistration_actor(user)
    application = await load_application(session, registration_number, user)
    if application.status not in SELECTED_STATUSES:
        raise Conflict("not_eligible", "Pendaftaran ini tidak dapat melakukan daftar ulang.", "status")
    period = await get_period(session, application.period_id)
    if period.status is not PeriodStatus.REREGISTRATION or (
        period.reregistration_closes_at and datetime.now(UTC) >= period.reregistration_closes_at
    ):
        raise Conflict("reregistration_closed", "Masa daftar ulang tidak sedang berlangsung.", "status")
    publication = await latest(session, period.id)
    entry = await session.get(PublicationEntry, (publication.id, application.id))
    if entry is None or entry.npsn is None:
        raise Conflict("not_placed", "Pendaftaran ini tidak diterima pada pengumuman terakhir.", "registration_number")
    await assert_placing_school(session, user, entry.npsn)
    # One decision, whoever asks first: the primary key makes concurrent confirm/decline settle on one.
    decided = await session.scalar(
        insert(Reregistration)
        .values(
            period_id=period.id,
            application_id=application.id,
            publication_id=publication.id,
            program=f"{entry.npsn}:{entry.path}",
            decision=decision,
            decided_by=user.actor,
        )
        .on_conflict_do_nothing(index_elements=["period_id", "application_id"])
        .returning(Reregistration.decision)
    )
    if decided is None:
        raise Conflict("already_decided", "Daftar ulang untuk pendaftaran ini sudah dicatat.", "registration_number")
    record(
        session,
        actor=user.actor,
        action=f"reregistration.{decision.value}",
        entity="application",
        entity_id=registration_number,
        period_id=period.id,
        new={"decision": decision.value, "program": f"{entry.npsn}:{entry.path}"},
    )
    return decided


async def close_window(session: AsyncSession, period_id: int, user: Principal) -> int:
    """The agency closes daftar ulang (at or before the deadline)."""
    period = await get_period(session, period_id, for_update=True, user=user)
    if period.status is not PeriodStatus.REREGISTRATION:
        raise Conflict("invalid_transition", "Masa daftar ulang tidak sedang berlangsung.", "status")
    return await _release(session, period, user.actor)


async def release_expired(session: AsyncSession) -> list[int]:
    """Close every daftar ulang window whose deadline has passed (run by the background loop)."""
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


async def _release(session: AsyncSession, period: Period, actor: str) -> int:
    """Every placement without a decision is released for the vacancy round."""
    publication = await latest(session, period.id)
    decided = select(Reregistration.application_id).where(Reregistration.period_id == period.id)
    unclaimed = list(
        await session.scalars(
            select(PublicationEntry).where(
                PublicationEntry.publication_id == publication.id,
                PublicationEntry.npsn.is_not(None),
                PublicationEntry.application_id.not_in(decided),
            )
        )
    )
    session.add_all(
        Reregistration(
            period_id=period.id,
            application_id=e.application_id,
            publication_id=publication.id,
            program=f"{e.npsn}:{e.path}",
            decision=Decision.RELEASED,
            decided_by=actor,
        )
        for e in unclaimed
    )
    transition(session, period, PeriodStatus.VACANCY, actor)
    record(
        session,
        actor=actor,
        action="reregistration.close",
        entity="period",
        entity_id=period.id,
        period_id=period.id,
        new={"released": len(unclaimed)},
    )
    await session.flush()
    return len(unclaimed)
