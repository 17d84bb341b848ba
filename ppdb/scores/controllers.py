"""Graduate lists (origin schools, the agency), test results and school indexes (the agency), and the score an
application ranks by (whoever may see the application)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, post, put
from litestar.params import JSONBody, QueryParameter

from ppdb.accounts.guards import requires_agency_admin, requires_login, requires_staff
from ppdb.params import PeriodId, RegistrationNumber, Session
from ppdb.schools.controllers import csv_text
from ppdb.schools.schemas import ImportResult
from ppdb.scores import schemas, service

GRADUATES_LIMIT = 64 * 1024 * 1024
"""A province's graduate list with rapor columns (50,000 rows × 40 columns is about 13 MB)."""


class ScoreController(Controller):
    path = "/api"
    tags = ["scores"]

    @post(
        "/periods/{period_id:int}/graduates/import",
        operation_id="importGraduates",
        status_code=200,
        request_max_body_size=GRADUATES_LIMIT,
        guards=[requires_staff],
    )
    async def import_graduates(self, request: Request, db_session: Session, period_id: PeriodId) -> ImportResult:
        """Import a graduate list, Dapodik-shaped CSV (nisn,nik,nama,tanggal_lahir,npsn_sekolah_asal, then rapor
        columns `<mapel>_<semester>`); all rows or none. It replaces the graduates of each origin school in it; an
        origin school's operator imports only its own."""
        return await service.import_graduates(db_session, period_id, await csv_text(request), request.user)

    @put("/periods/{period_id:int}/graduates", operation_id="putGraduate", guards=[requires_staff])
    async def put_graduate(
        self, request: Request, db_session: Session, period_id: PeriodId, data: JSONBody[schemas.GraduateIn]
    ) -> schemas.GraduateOut:
        """Enter or correct one graduate and its rapor (by NIK); audited with the old and new rapor."""
        return await service.put_graduate(db_session, period_id, data, request.user)

    @get("/periods/{period_id:int}/graduates", operation_id="listGraduates", guards=[requires_staff])
    async def list_graduates(
        self,
        request: Request,
        db_session: Session,
        period_id: PeriodId,
        after: Annotated[str | None, QueryParameter(pattern=r"^[0-9]{10}$", description="NISN to page after")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 500,
    ) -> list[schemas.GraduateOut]:
        """Graduates by NISN: an origin school's own, or all of the period for its agency."""
        return await service.list_graduates(db_session, period_id, request.user, after=after, limit=limit)

    @post(
        "/periods/{period_id:int}/tests/import",
        operation_id="importTestResults",
        status_code=200,
        request_max_body_size=GRADUATES_LIMIT,
        guards=[requires_agency_admin],
    )
    async def import_tests(self, request: Request, db_session: Session, period_id: PeriodId) -> ImportResult:
        """Import test results (nisn,komponen,nilai), `komponen` a test component of the rules; all rows or none."""
        return await service.import_tests(db_session, period_id, await csv_text(request), request.user)

    @post(
        "/periods/{period_id:int}/school-indexes/import",
        operation_id="importSchoolIndexes",
        status_code=200,
        guards=[requires_agency_admin],
    )
    async def import_school_indexes(self, request: Request, db_session: Session, period_id: PeriodId) -> ImportResult:
        """Import the origin schools' indexes (npsn,indeks); the file replaces the period's indexes."""
        return await service.import_school_indexes(db_session, period_id, await csv_text(request), request.user)

    @get(
        "/applications/{registration_number:str}/score",
        operation_id="applicationScore",
        guards=[requires_login],
    )
    async def score(
        self, request: Request, db_session: Session, registration_number: RegistrationNumber
    ) -> schemas.ScoreOut:
        """The score the application ranks by, computed from its sources, with its breakdown."""
        return await service.application_score(db_session, registration_number, request.user)
