"""The laporan pelaksanaan (JSON, CSV, PDF) and the Dapodik export of accepted students."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import PathParameter

from ppdb.accounts.guards import requires_agency_admin, requires_staff
from ppdb.authz import assert_region, school_of
from ppdb.errors import NotFound
from ppdb.params import PeriodId, Session
from ppdb.regions.models import Period, Region
from ppdb.regions.service import get_period
from ppdb.reports import admission

Npsn = Annotated[str, PathParameter(pattern=r"^[0-9]{8}$", description="NPSN of the school")]


async def _agency_period(session: Session, request: Request, period_id: int) -> Period:
    period = await get_period(session, period_id)
    assert_region(request.user, period.region_id)
    return period


def _file(content: str | bytes, media_type: str, name: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"}
    return Response(content, media_type=media_type, headers=headers)


class ReportController(Controller):
    path = "/api/periods/{period_id:int}"
    tags = ["reports"]

    @get("/report", operation_id="admissionReport", guards=[requires_agency_admin])
    async def report(self, db_session: Session, request: Request, period_id: PeriodId) -> admission.AdmissionReport:
        """The laporan pelaksanaan of the admission the period is a stage of: per stage and path, applicants and
        published placements by sex, disability, afirmasi group, origin school and kelurahan; complaints by
        category and outcome with the median time to decision."""
        return await admission.report(db_session, await _agency_period(db_session, request, period_id))

    @get("/report.csv", operation_id="admissionReportCsv", guards=[requires_agency_admin], media_type="text/csv")
    async def report_csv(self, db_session: Session, request: Request, period_id: PeriodId) -> Response[str]:
        """The report's rows (stage, path, dimension, value, applicants, placed) as CSV."""
        data = await admission.report(db_session, await _agency_period(db_session, request, period_id))
        return _file(admission.rows_csv(data), "text/csv", f"laporan-{period_id}.csv")

    @get(
        "/report/complaints.csv",
        operation_id="admissionComplaintsCsv",
        guards=[requires_agency_admin],
        media_type="text/csv",
    )
    async def complaints_csv(self, db_session: Session, request: Request, period_id: PeriodId) -> Response[str]:
        """The complaints by stage, category and outcome, with the median hours to a decision, as CSV."""
        data = await admission.report(db_session, await _agency_period(db_session, request, period_id))
        return _file(admission.complaints_csv(data), "text/csv", f"laporan-pengaduan-{period_id}.csv")

    @get(
        "/report.pdf",
        operation_id="admissionReportPdf",
        guards=[requires_agency_admin],
        media_type="application/pdf",
        responses={200: ResponseSpec(bytes, media_type="application/pdf", generate_examples=False)},
    )
    async def report_pdf(self, db_session: Session, request: Request, period_id: PeriodId) -> Response[bytes]:
        """The report for the agency head, as a PDF."""
        period = await _agency_period(db_session, request, period_id)
        region = await db_session.get(Region, period.region_id)
        data = await admission.report(db_session, period)
        return _file(admission.pdf(data, region.name if region else ""), "application/pdf", f"laporan-{period_id}.pdf")

    @get("/exports/dapodik.csv", operation_id="exportDapodik", guards=[requires_agency_admin], media_type="text/csv")
    async def dapodik(self, db_session: Session, request: Request, period_id: PeriodId) -> Response[str]:
        """Every destination school's accepted students in Dapodik's columns (with NIK; the export is audited)."""
        period = await _agency_period(db_session, request, period_id)
        content = await admission.dapodik_csv(db_session, period, request.user)
        return _file(content, "text/csv", f"dapodik-{period_id}.csv")

    @get(
        "/exports/schools/{npsn:str}/dapodik.csv",
        operation_id="exportSchoolDapodik",
        media_type="text/csv",
        guards=[requires_staff],
    )
    async def school_dapodik(
        self, db_session: Session, request: Request, period_id: PeriodId, npsn: Npsn
    ) -> Response[str]:
        """One school's accepted students in Dapodik's columns (its operator, or the agency)."""
        school = await school_of(db_session, npsn, request.user)
        period = await get_period(db_session, period_id)
        if period.region_id != school.region_id:
            raise NotFound("period_not_found", "Periode tidak ditemukan.", "period_id")
        content = await admission.dapodik_csv(db_session, period, request.user, npsn)
        return _file(content, "text/csv", f"dapodik-{npsn}-{period_id}.csv")
