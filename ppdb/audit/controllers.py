"""The agency reads its period's audit log, filtered by applicant, school, user or action."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get
from litestar.params import QueryParameter

from ppdb.accounts.guards import requires_agency_admin
from ppdb.audit.schemas import AuditOut
from ppdb.audit.service import LogFilter, read_log
from ppdb.params import MAX_ID, PeriodId, Session


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
        filters = LogFilter(applicant=applicant, school=school, actor=actor, action=action, before=before, limit=limit)
        return await read_log(db_session, period_id, request.user, filters)
