"""Daftar ulang window: one decision per published placement, released seats at the deadline."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ppdb.applicants.models import SELECTED_STATUSES, Application
from ppdb.audit.service import record_application, record_period
from ppdb.authz import Principal, assert_placing_school, assert_reregistration_actor, load_application
from ppdb.errors import AppError, Conflict
from ppdb.regions.models import Period, PeriodStatus
from ppdb.regions.service import get_period
from ppdb.reregistration.models import Decision, Reregistration
from ppdb.results.models import Publication, PublicationEntry
from ppdb.results.service import latest
from ppdb.schools.models import School
from ppdb.selection.programs import ProgramKey


def set_deadline(period: Period, closes_at: datetime) -> None:
    """Daftar ulang runs until `closes_at` (the flow that opens it checks the period's status)."""
    if closes_at <= datetime.now(UTC):
        raise AppError("schedule_invalid", "Batas daftar ulang harus di masa depan.", "closes_at")
    period.reregistration_closes_at = closes_at


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
    program = ProgramKey.of(entry.npsn, entry.path or "").id
    # One decision, whoever asks first: the primary key makes concurrent confirm/decline settle on one.
    decided = await session.scalar(
        insert(Reregistration)
        .values(
            period_id=period.id,
            application_id=application.id,
            publication_id=publication.id,
            program=program,
            decision=decision,
            decided_by=user.actor,
        )
        .on_conflict_do_nothing(index_elements=["period_id", "application_id"])
        .returning(Reregistration.decision)
    )
    if decided is None:
        raise Conflict("already_decided", "Daftar ulang untuk pendaftaran ini sudah dicatat.", "registration_number")
    record_application(
        session,
        application,
        f"reregistration.{decision.value}",
        actor=user.actor,
        new={"decision": decision.value, "program": program},
    )
    return decided


async def release(session: AsyncSession, period: Period, publication: Publication, actor: str) -> int:
    """Every placement of `publication` without a decision is released for the vacancy round."""
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
            program=ProgramKey.of(e.npsn or "", e.path or "").id,
            decision=Decision.RELEASED,
            decided_by=actor,
        )
        for e in unclaimed
    )
    record_period(
        session,
        period.id,
        "reregistration.close",
        actor=actor,
        new={"released": len(unclaimed)},
    )
    await session.flush()
    return len(unclaimed)


async def confirmed_per_place(session: AsyncSession, period_id: int) -> dict[tuple[int, str | None], int]:
    """Seats confirmed at daftar ulang in the period, per school id and program (None: the school's own seats;
    a holder disqualified since frees it)."""
    npsn = func.split_part(Reregistration.program, ":", 1)
    program = func.nullif(func.split_part(Reregistration.program, "@", 2), "")
    rows = await session.execute(
        select(School.id, program, func.count())
        .select_from(Reregistration)
        .join(Application, Application.id == Reregistration.application_id)
        .join(School, School.npsn == npsn)
        .where(
            Reregistration.period_id == period_id,
            Reregistration.decision == Decision.CONFIRMED,
            Application.status.in_(SELECTED_STATUSES),
        )
        .group_by(School.id, program)
    )
    return {(school_id, code): count for school_id, code, count in rows}


async def void_changed(session: AsyncSession, period_id: int, publication_id: int, actor: str) -> list[str]:
    """After a new version of the results, a decision about a seat the child no longer holds is void: the
    family decides again about the seat it holds now (a correction moved it, or placed a child who had given
    a seat up). A child who gave a seat up and holds none keeps its decision. The registrations, audited."""
    rows = await session.execute(
        select(Reregistration, Application, PublicationEntry.npsn, PublicationEntry.path)
        .join(Application, Application.id == Reregistration.application_id)
        .outerjoin(
            PublicationEntry,
            (PublicationEntry.publication_id == publication_id)
            & (PublicationEntry.application_id == Reregistration.application_id),
        )
        .where(Reregistration.period_id == period_id)
    )
    voided = []
    for decision, application, npsn, path in rows.all():
        seat = ProgramKey.of(npsn, path or "").id if npsn else None
        if seat == decision.program or (seat is None and decision.decision is not Decision.CONFIRMED):
            continue
        await session.delete(decision)
        record_application(
            session,
            application,
            "reregistration.void",
            actor=actor,
            old={"decision": decision.decision.value, "program": decision.program},
            new={"program": seat},
        )
        voided.append(application.registration_number)
    await session.flush()
    return voided
