"""The events that tell many families at once, each an INSERT ... SELECT into the outbox in the event's own
transaction (a registration's and a rejected document's message are written where they happen:
`applicants.write`, `verification.service`)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, literal, not_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ppdb.applicants.models import SELECTED_STATUSES, Application
from ppdb.notifications.outbox import about, to_parents
from ppdb.regions.models import Period, PeriodStatus
from ppdb.reregistration.models import Reregistration
from ppdb.results.models import Publication, PublicationEntry
from ppdb.selection.models import Placement, RunKind, SelectionRun

REMIND_BEFORE = timedelta(hours=24)


async def result_published(session: AsyncSession, publication: Publication) -> None:
    """Every family in a publication; in a correction or a vacancy round, only those whose result changed."""
    entry, before = PublicationEntry, PublicationEntry.__table__.alias("before")
    previous = (
        select(Publication.id)
        .where(Publication.period_id == publication.period_id, Publication.version < publication.version)
        .order_by(Publication.version.desc())
        .limit(1)
        .scalar_subquery()
    )
    unchanged = (
        select(before.c.application_id)
        .where(
            before.c.publication_id == previous,
            before.c.application_id == entry.application_id,
            before.c.npsn.is_not_distinct_from(entry.npsn),
            before.c.path.is_not_distinct_from(entry.path),
        )
        .exists()
    )
    source = (
        select(
            Application.parent_id,
            literal(f"result:{publication.id}:").concat(entry.registration_number).label("key"),
            about(entry.registration_number).label("params"),
        )
        .select_from(entry)
        .join(Application, Application.id == entry.application_id)
        .where(entry.publication_id == publication.id, Application.parent_id.is_not(None), not_(unchanged))
    )
    await session.execute(to_parents(source, "result_published"))


async def choices_at_risk(session: AsyncSession) -> None:
    """Families placed nowhere by the latest provisional run of an open period: told at most once a day while it
    lasts (a family at the margin may flip between runs every minute; a message each time would be noise, and
    an SMS costs money). A job of the worker, every `worker.REMINDERS_EVERY`, not of each re-solve."""
    latest = (
        select(func.max(SelectionRun.id))
        .where(SelectionRun.period_id == Period.id, SelectionRun.kind == RunKind.PROVISIONAL)
        .correlate(Period)
        .scalar_subquery()
    )
    today = func.to_char(func.timezone("Asia/Jakarta", func.now()), "YYYY-MM-DD")
    source = (
        select(
            Application.parent_id,
            literal("at_risk:").concat(today).concat(":").concat(Application.registration_number).label("key"),
            about(Application.registration_number).label("params"),
        )
        .select_from(Placement)
        .join(Application, Application.id == Placement.application_id)
        .join(Period, Period.id == Application.period_id)
        .where(
            Period.status == PeriodStatus.REGISTRATION_OPEN,
            Placement.run_id == latest,
            Placement.program.is_(None),
            Application.parent_id.is_not(None),
            Application.status.in_(SELECTED_STATUSES),
        )
    )
    await session.execute(to_parents(source, "choices_at_risk"))


async def reregistration_due(session: AsyncSession) -> None:
    """Families placed in the latest publication who have not yet confirmed or declined, once their daftar ulang
    closes within `REMIND_BEFORE` (once per publication)."""
    entry = PublicationEntry
    latest = (
        select(func.max(Publication.id)).where(Publication.period_id == Period.id).correlate(Period).scalar_subquery()
    )
    decided = (
        select(Reregistration.application_id)
        .where(Reregistration.period_id == Period.id, Reregistration.application_id == entry.application_id)
        .exists()
    )
    deadline = func.to_char(func.timezone("Asia/Jakarta", Period.reregistration_closes_at), "DD-MM-YYYY HH24:MI")
    source = (
        select(
            Application.parent_id,
            literal("reregistration_due:")
            .concat(entry.publication_id)
            .concat(":")
            .concat(entry.registration_number)
            .label("key"),
            about(entry.registration_number, deadline=deadline.concat(" WIB")).label("params"),
        )
        .select_from(entry)
        .join(Application, Application.id == entry.application_id)
        .join(Period, Period.id == Application.period_id)
        .where(
            Period.status == PeriodStatus.REREGISTRATION,
            Period.reregistration_closes_at > func.now(),
            Period.reregistration_closes_at <= func.now() + REMIND_BEFORE,
            entry.publication_id == latest,
            entry.npsn.is_not(None),
            Application.parent_id.is_not(None),
            Application.status.in_(SELECTED_STATUSES),
            not_(decided),
        )
    )
    await session.execute(to_parents(source, "reregistration_due"))
