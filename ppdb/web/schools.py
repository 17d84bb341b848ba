"""School operator pages: applicant list with flags and filters, the verification screen, daftar ulang."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import PathParameter, QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy import select

from ppdb.accounts.guards import requires_staff
from ppdb.applicants import documents
from ppdb.applicants import service as applicants
from ppdb.errors import AppError
from ppdb.params import RegistrationNumber, Session
from ppdb.regions.models import Period, PeriodStatus
from ppdb.regions.service import get_period, to_out
from ppdb.schools.models import School
from ppdb.verification import schemas, service
from ppdb.web.common import FLAG_NAMES, field_errors, form_value, render, reregister_from_form

Kind = Annotated[str, PathParameter(max_length=40)]


class SchoolPages(Controller):
    include_in_schema = False
    guards = [requires_staff]

    @get("/sekolah")
    async def applicants(
        self,
        request: Request,
        db_session: Session,
        periode: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1)] = None,
        flag: Annotated[str | None, QueryParameter(max_length=40)] = None,
        status: Annotated[str | None, QueryParameter(max_length=20)] = None,
        jalur: Annotated[str | None, QueryParameter(max_length=40)] = None,
    ) -> Template:
        school = await db_session.get(School, request.user.school_id) if request.user.school_id else None
        if school is None:
            raise AppError("no_school", "Akun ini tidak terhubung ke sekolah.", status_code=403)
        periods = (
            await db_session.scalars(
                select(Period).where(Period.region_id == school.region_id).order_by(Period.id.desc())
            )
        ).all()
        period = next((p for p in periods if p.id == periode), periods[0] if periods else None)
        # A flag the page does not offer (an old link, a typo) shows everyone: an empty list would read as
        # "no applicant is flagged". The API answers it with a 400 instead.
        flag = flag if flag in FLAG_NAMES else None
        rows = []
        if period is not None:
            rows = await service.applicants_of(db_session, school.npsn, period.id, request.user, flag)
            rows = [r for r in rows if (not status or r.status == status) and (not jalur or r.path == jalur)]
        return render(
            request,
            "school/applicants.html",
            school=school,
            periods=[to_out(p) for p in periods],
            period=to_out(period) if period else None,
            rows=rows,
            flags=FLAG_NAMES,
            filters={"flag": flag or "", "status": status or "", "jalur": jalur or ""},
        )

    @get("/sekolah/pendaftar/{registration_number:str}")
    async def verification(
        self, request: Request, db_session: Session, registration_number: RegistrationNumber
    ) -> Template:
        return await self._screen(request, db_session, registration_number, {})

    async def _screen(
        self, request: Request, db_session: Session, number: str, errors: dict, status: int = 200
    ) -> Template:
        application = await applicants.authorize(db_session, number, request.user)
        period = await get_period(db_session, application.period_id)
        return render(
            request,
            "school/verify.html",
            status=status,
            app=await applicants.read(db_session, number),
            period=to_out(period),
            errors=errors,
            reregistering=period.status == PeriodStatus.REREGISTRATION,
        )

    @get("/sekolah/pendaftar/{registration_number:str}/dokumen/{kind:str}")
    async def document(
        self, request: Request, db_session: Session, state: State, registration_number: RegistrationNumber, kind: Kind
    ) -> Response[bytes]:
        application = await applicants.authorize(db_session, registration_number, request.user)
        content, content_type, filename = await documents.fetch(
            db_session, application, kind, actor=request.user, data_dir=state.settings.data_path
        )
        return Response(
            content,
            media_type=content_type,
            headers={"Content-Disposition": f'inline; filename="{filename}"', "Cache-Control": "private, no-store"},
        )

    @post("/sekolah/pendaftar/{registration_number:str}/dokumen/{kind:str}")
    async def decide(
        self, request: Request, db_session: Session, registration_number: RegistrationNumber, kind: Kind
    ) -> Response:
        form = await request.form()
        decision = form_value(form, "decision")
        reason = form_value(form, "reason") or None
        try:
            if decision not in ("verified", "rejected"):
                raise AppError("decision_invalid", "Pilih verifikasi atau tolak.", "reason")
            await service.decide_document(
                db_session,
                registration_number,
                kind,
                request.user,
                schemas.DocumentDecision(decision=decision, reason=reason),
            )
        except AppError as err:
            await db_session.rollback()
            errors = {f"reason_{kind}": message for message in field_errors(err).values()}
            return await self._screen(request, db_session, registration_number, errors, status=err.status_code)
        return Redirect(f"/sekolah/pendaftar/{registration_number}")

    @post("/sekolah/pendaftar/{registration_number:str}/koordinat")
    async def verify_coordinate(
        self, request: Request, db_session: Session, registration_number: RegistrationNumber
    ) -> Response:
        await service.verify_coordinate(db_session, registration_number, request.user)
        return Redirect(f"/sekolah/pendaftar/{registration_number}")

    @post("/sekolah/pendaftar/{registration_number:str}/daftar-ulang")
    async def reregister(
        self, request: Request, db_session: Session, registration_number: RegistrationNumber
    ) -> Response:
        await reregister_from_form(request, db_session, registration_number)
        return Redirect(f"/sekolah/pendaftar/{registration_number}")
