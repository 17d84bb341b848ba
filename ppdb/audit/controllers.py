"""The agency reads its period's audit log, filtered by applicant, school, user or action."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get
from litestar.params import QueryParameter
from sqlalchemy import select

from ppdb.accounts.guards import requires_agency_admin
from ppdb.applicants.models import Application, Choice
from ppdb.audit.models import AuditEntry
from ppdb.audit.schemas import AuditOut
from ppdb.params import MAX_ID, PeriodId, Session
from ppdb.regions.service import get_period
from ppdb.schools.models import School


class AuditController(Controller):
    path = "/api/periods/{period_id:int}/audit"
    tags = ["agency"]
    guards = [requires_agency_admin]

    @get("/", operation_id="readAuditLog")
    async def read(
        self,
        db_session: Session,
        request: Request,
        period_id: PeriodId,
        applicant: Annotated[
            str | None, QueryParameter(pattern=r"^[0-9A-Z-]{1,24}$", description="Registration number")
        ] = None,
        school: Annotated[str | None, QueryParameter(pattern=r"^[0-9]{8}$", description="NPSN")] = None,
        actor: Annotated[
            str | None,
            QueryParameter(pattern=r"^[a-z_]+:[0-9a-z_]+$", max_length=120, description="e.g. agency_admin:3"),
        ] = None,
        action: Annotated[str | None, QueryParameter(pattern=r"^[a-z_.]+$", max_length=60)] = None,
        before: Annotated[
            int | None, QueryParameter(ge=1, le=MAX_ID, description="Page: entries older than this id")
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> list[AuditOut]:
        """Newest first; combine filters freely."""
        await get_period(db_session, period_id, user=request.user)
        stmt = select(AuditEntry).where(AuditEntry.period_id == period_id)
        if applicant:
            stmt = stmt.where(AuditEntry.entity_id == applicant)
        if school:
            chose = (
                select(Application.registration_number)
                .join(Choice, Choice.application_id == Application.id)
                .join(School, School.id == Choice.school_id)
                .where(School.npsn == school, Application.period_id == period_id)
            )
            stmt = stmt.where(AuditEntry.entity_id.in_(chose))
        if actor:
            stmt = stmt.where(AuditEntry.actor == actor)
        if action:
            stmt = stmt.where(AuditEntry.action == action)
        if before:
            stmt = stmt.where(AuditEntry.id < before)
        entries = await db_session.scalars(stmt.order_by(AuditEntry.id.desc()).limit(limit))
        return [
            AuditOut(
                id=e.id,
                at=e.at,
                actor=e.actor,
                action=e.action,
                entity=e.entity,
                entity_id=e.entity_id,
                old=e.old,
                new=e.new,
            )
            for e in entries
        ]
