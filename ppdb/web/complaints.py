"""Complaint pages: a family files and follows its sanggah, anyone reports a suspected fraud (anonymously, with a
code to follow it), the schools concerned read the cases, the Dinas decides them and corrects the data."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import CacheControlHeader, State, UploadFile
from litestar.params import PathParameter, QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ppdb.accounts.guards import requires_agency_admin, requires_login, requires_staff
from ppdb.accounts.models import Role
from ppdb.applicants import documents
from ppdb.applicants import service as applicants
from ppdb.complaints import schemas, service
from ppdb.complaints.service import CATEGORY_WORDS, STATUS_WORDS
from ppdb.errors import AppError
from ppdb.params import MAX_ID, PeriodId, Session, client_address
from ppdb.regions.models import Period, PeriodStatus
from ppdb.regions.service import get_period
from ppdb.schools import service as schools
from ppdb.verification import schemas as verification_schemas
from ppdb.verification import service as verification
from ppdb.web.common import FILES, FormErrors, convert, field_errors, form_value, render

NO_STORE = CacheControlHeader(no_store=True)
CaseNumber = Annotated[str, PathParameter(pattern=r"^ADU-[0-9A-Z]{8}$")]
UPLOAD = 21 * 1024 * 1024
WORDS: dict[str, Any] = {
    "category_name": lambda c: CATEGORY_WORDS.get(c, c),
    "case_status": lambda s: str(STATUS_WORDS.get(s, s)).capitalize(),
}


class ComplaintPages(Controller):
    include_in_schema = False
    cache_control = NO_STORE

    @get("/pengaduan")
    async def start(
        self,
        request: Request,
        db_session: Session,
        periode: Annotated[int | None, QueryParameter(ge=1, le=MAX_ID)] = None,
        nomor: Annotated[str | None, QueryParameter(pattern=r"^[0-9A-Z-]{1,24}$")] = None,
    ) -> Template:
        """The form (a parent's own registrations; anyone's fraud report) and a parent's cases."""
        return await self._form(request, db_session, {"period_id": periode, "registration_number": nomor}, {})

    async def _form(
        self, request: Request, db_session: AsyncSession, values: dict[str, Any], errors: dict, status: int = 200
    ) -> Template:
        user = request.scope.get("user")
        parent = user is not None and user.role is Role.PARENT
        periods = list(
            await db_session.scalars(select(Period).where(Period.status != PeriodStatus.DRAFT).order_by(Period.id))
        )
        ids = [p.id for p in periods]
        chosen = values.get("period_id") if values.get("period_id") in ids else (ids[-1] if ids else None)
        return render(
            request,
            "complaint/form.html",
            status=status,
            periods=periods,
            chosen=chosen,
            mine=await applicants.mine(db_session, user) if parent else [],
            cases=await service.mine(db_session, user) if parent else [],
            school_list=await schools.list_schools(db_session, chosen) if chosen else [],
            parent=parent,
            values=values,
            errors=errors,
            **WORDS,
        )

    @post("/pengaduan", request_max_body_size=UPLOAD)
    async def file(self, request: Request, db_session: Session, state: State) -> Response:
        form = await request.form()
        values = {
            name: form_value(form, name) or None
            for name in ("period_id", "category", "registration_number", "npsn", "text")
        }
        user = request.scope.get("user")
        given = values["period_id"] or ""
        period_id = int(given) if given.isascii() and given.isdigit() and len(given) <= 10 else 0
        values["period_id"] = period_id  # type: ignore[assignment]
        try:
            if not 1 <= period_id <= MAX_ID:
                raise FormErrors({"period_id": "Pilih periode penerimaan."})
            fields = {k: v for k, v in values.items() if k != "period_id"}
            data = convert(fields, schemas.ComplaintIn, required=("category", "text"))
            proof = form.get("file")
            content = await proof.read() if isinstance(proof, UploadFile) else b""
            filed = await service.file(db_session, period_id, data, user, address=client_address(request))
            if content:
                await service.attach(
                    db_session,
                    filed.number,
                    content,
                    user=user,
                    code=filed.code,
                    data_dir=state.settings.data_path,
                    max_bytes=state.settings.max_upload_bytes,
                )
        except (FormErrors, AppError) as err:
            await db_session.rollback()
            if isinstance(err, AppError) and err.status_code == 401:
                raise
            errors = err.errors if isinstance(err, FormErrors) else field_errors(err)
            if "text" in errors and isinstance(err, FormErrors):
                errors["text"] = "Uraikan pengaduan Anda (10-2000 huruf)."
            status = err.status_code if isinstance(err, AppError) else 400
            return await self._form(request, db_session, values, errors, status)
        if filed.code is not None:  # anonymous: the code is shown this once
            return render(request, "complaint/filed.html", case=filed, **WORDS)
        return Redirect(f"/pengaduan/{filed.number}?baru=1")

    @get("/pengaduan/lacak")
    async def follow_form(self, request: Request) -> Template:
        return render(request, "complaint/follow.html", values={}, errors={})

    @post("/pengaduan/lacak")
    async def follow(self, request: Request, db_session: Session) -> Template:
        form = await request.form()
        values = {"number": form_value(form, "number").upper(), "code": form_value(form, "code")}
        try:
            if not service.NUMBER.fullmatch(values["number"]) or not values["code"]:
                raise AppError("complaint_not_found", "Nomor pengaduan atau kode tidak cocok.", "code", status_code=404)
            case = await service.follow(db_session, values["number"], values["code"][:20])
        except AppError:
            errors = {"code": "Nomor pengaduan atau kode tidak cocok."}
            return render(request, "complaint/follow.html", status=404, values=values, errors=errors)
        return render(request, "complaint/case.html", case=case, errors={}, new=False, staff=False, **WORDS)

    @get("/pengaduan/{number:str}", guards=[requires_login])
    async def case(
        self,
        request: Request,
        db_session: Session,
        number: CaseNumber,
        baru: Annotated[int | None, QueryParameter(ge=0, le=1)] = None,
    ) -> Template:
        return await self._case(request, db_session, number, {}, new=bool(baru))

    async def _case(
        self,
        request: Request,
        db_session: AsyncSession,
        number: str,
        errors: dict[str, str],
        *,
        status: int = 200,
        new: bool = False,
        values: dict[str, Any] | None = None,
    ) -> Template:
        case = await service.read(db_session, number, request.user)
        return render(
            request,
            "complaint/case.html",
            status=status,
            case=case,
            errors=errors,
            values=values or {},
            new=new,
            staff=request.user.role is not Role.PARENT,
            agency=request.user.role is Role.AGENCY_ADMIN,
            **WORDS,
        )

    @post("/pengaduan/{number:str}/bukti", guards=[requires_login], request_max_body_size=UPLOAD)
    async def attach(self, request: Request, db_session: Session, state: State, number: CaseNumber) -> Response:
        proof = (await request.form()).get("file")
        try:
            content = await proof.read() if isinstance(proof, UploadFile) else b""
            await service.attach(
                db_session,
                number,
                content,
                user=request.user,
                code=None,
                data_dir=state.settings.data_path,
                max_bytes=state.settings.max_upload_bytes,
            )
        except AppError as err:
            await db_session.rollback()
            return await self._case(request, db_session, number, {"file": err.message}, status=err.status_code)
        return Redirect(f"/pengaduan/{number}")

    @get("/pengaduan/{number:str}/bukti/{file_id:int}", guards=[requires_login], opt=FILES)
    async def evidence(
        self,
        request: Request,
        db_session: Session,
        state: State,
        number: CaseNumber,
        file_id: Annotated[int, PathParameter(ge=1, le=MAX_ID)],
    ) -> Response[bytes]:
        found = await service.evidence(db_session, number, file_id, request.user, data_dir=state.settings.data_path)
        return documents.serve(*found, inline=True)

    @post("/pengaduan/{number:str}/putusan", guards=[requires_agency_admin])
    async def decide(self, request: Request, db_session: Session, number: CaseNumber) -> Response:
        form = await request.form()
        values = {name: form_value(form, name) or None for name in ("status", "reason", "registration_number")}
        try:
            await service.move(db_session, number, request.user, convert(values, schemas.Move, required=("status",)))
        except (FormErrors, AppError) as err:
            await db_session.rollback()
            errors = err.errors if isinstance(err, FormErrors) else field_errors(err)
            status = err.status_code if isinstance(err, AppError) else 400
            return await self._case(request, db_session, number, errors, status=status, values=values)
        return Redirect(f"/pengaduan/{number}")

    @post("/pengaduan/{number:str}/koreksi", guards=[requires_agency_admin])
    async def correct(self, request: Request, db_session: Session, number: CaseNumber) -> Response:
        """A correction for an upheld case: the registration's home point, or its disqualification."""
        form = await request.form()
        values = {name: form_value(form, name) or None for name in ("what", "latitude", "longitude", "reason")}
        try:
            case = await service.read(db_session, number, request.user)
            if case.registration_number is None:
                raise AppError("registration_required", "Tetapkan dulu pendaftaran yang diadukan.", "what")
            fields = {"reason": values["reason"], "complaint": number}
            if values["what"] == "coordinate":
                fields |= {"latitude": values["latitude"], "longitude": values["longitude"]}
                correction = convert(
                    fields, verification_schemas.CoordinateCorrection, required=("latitude", "longitude", "reason")
                )
                await verification.correct_coordinate(db_session, case.registration_number, request.user, correction)
            elif values["what"] == "disqualify":
                data = convert(fields, verification_schemas.Disqualification, required=("reason",))
                await verification.disqualify(db_session, case.registration_number, request.user, data)
            else:
                raise FormErrors({"what": "Pilih koreksi yang dibuat."})
        except (FormErrors, AppError) as err:
            await db_session.rollback()
            errors = err.errors if isinstance(err, FormErrors) else field_errors(err)
            status = err.status_code if isinstance(err, AppError) else 400
            errors = {f"fix_{k}": v for k, v in errors.items()}
            return await self._case(request, db_session, number, errors, status=status, values=values)
        return Redirect(f"/pengaduan/{number}")

    @get(
        ["/dinas/periode/{period_id:int}/pengaduan", "/sekolah/periode/{period_id:int}/pengaduan"],
        guards=[requires_staff],
    )
    async def cases(
        self,
        request: Request,
        db_session: Session,
        period_id: PeriodId,
        status: Annotated[str | None, QueryParameter(pattern=r"^(received|in_review|upheld|rejected)$")] = None,
    ) -> Template:
        """The period's cases the staff member sees, open ones first, the nearest deadline first."""
        period = await get_period(db_session, period_id)
        rows = await service.of_period(db_session, period_id, request.user, status)
        return render(request, "complaint/list.html", period=period, rows=rows, filtered=status, **WORDS)
