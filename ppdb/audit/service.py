"""The audit log: written in the transaction of the change it records, read by the region's agency."""

from __future__ import annotations

from typing import Any, TypedDict, Unpack

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ppdb.applicants.models import Application, Choice
from ppdb.audit.models import AuditEntry
from ppdb.audit.schemas import AuditOut
from ppdb.authz import Principal
from ppdb.results.models import Publication
from ppdb.schools.models import School


def record(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: object,
    period_id: int | None = None,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
) -> None:
    """Add an entry to the current transaction: it lands exactly when the change it describes does."""
    session.add(
        AuditEntry(
            actor=actor, action=action, entity=entity, entity_id=str(entity_id), period_id=period_id, old=old, new=new
        )
    )


class Change(TypedDict, total=False):
    """What an entry says changed: the values before and after."""

    old: dict[str, Any] | None
    new: dict[str, Any] | None


def record_period(session: AsyncSession, period_id: int, action: str, *, actor: str, **change: Unpack[Change]) -> None:
    """`record` for an event about a period as a whole (its creation, rules, status, imports)."""
    record(session, actor=actor, action=action, entity="period", entity_id=period_id, period_id=period_id, **change)


def record_application(
    session: AsyncSession, application: Application, action: str, *, actor: str, **change: Unpack[Change]
) -> None:
    """`record` for an event about one application (its change, documents, coordinate, decisions)."""
    number, period_id = application.registration_number, application.period_id
    record(session, actor=actor, action=action, entity="application", entity_id=number, period_id=period_id, **change)


def record_publication(
    session: AsyncSession, publication: Publication, action: str, *, actor: str, **change: Unpack[Change]
) -> None:
    """`record` for an event about one published result (its publication, its exports)."""
    period_id = publication.period_id
    record(
        session,
        actor=actor,
        action=action,
        entity="publication",
        entity_id=publication.id,
        period_id=period_id,
        **change,
    )


class LogFilter(msgspec.Struct, kw_only=True):
    """What to read of a period's log: every filter given must match; a page of entries older than `before`."""

    applicant: str | None = None
    school: str | None = None
    actor: str | None = None
    action: str | None = None
    before: int | None = None
    limit: int = 100


async def read_log(session: AsyncSession, period_id: int, user: Principal, filters: LogFilter) -> list[AuditOut]:
    """A period's audit log for its region's agency, newest first."""
    from ppdb.regions.service import get_period  # regions writes to the log: imported late to avoid a cycle

    await get_period(session, period_id, user=user)
    stmt = select(AuditEntry).where(AuditEntry.period_id == period_id)
    if filters.applicant:
        stmt = stmt.where(AuditEntry.entity_id == filters.applicant)
    if filters.school:
        chose = (
            select(Application.registration_number)
            .join(Choice, Choice.application_id == Application.id)
            .join(School, School.id == Choice.school_id)
            .where(School.npsn == filters.school, Application.period_id == period_id)
        )
        stmt = stmt.where(AuditEntry.entity_id.in_(chose))
    if filters.actor:
        stmt = stmt.where(AuditEntry.actor == filters.actor)
    if filters.action:
        stmt = stmt.where(AuditEntry.action == filters.action)
    if filters.before:
        stmt = stmt.where(AuditEntry.id < filters.before)
    entries = await session.scalars(stmt.order_by(AuditEntry.id.desc()).limit(filters.limit))
    return [msgspec.convert(e, AuditOut, from_attributes=True) for e in entries]
