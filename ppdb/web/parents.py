"""Parent pages: the registration wizard, the live status page, change, withdraw, daftar ulang, the proof PDF."""

from __future__ import annotations

import contextlib
import re
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State, UploadFile
from litestar.params import PathParameter, QueryParameter
from litestar.response import Redirect, Template

from ppdb import authz
from ppdb.accounts.guards import requires_parent
from ppdb.applicants import documents, schemas, service
from ppdb.db.session import reads
from ppdb.errors import AppError, ApplicationWithdrawn
from ppdb.params import PeriodId, RegistrationNumber, Session
from ppdb.regions.models import Period, PeriodStatus
from ppdb.regions.service import accepting_registrations, get_period, rules_of, to_out
from ppdb.runtime import AppRuntime, Runtime
from ppdb.scores import service as scores
from ppdb.selection import schemas as selection_schemas
from ppdb.selection import service as selection
from ppdb.web.common import (
    FIELD_MESSAGES,
    FILES,
    NO_STORE,
    FormErrors,
    ask_first,
    convert,
    field_errors,
    finished,
    form_value,
    render,
    reregister_from_form,
)
from ppdb.web.proof import proof_response
from ppdb.web.wizard import (
    UPLOADS,
    attachments,
    form_values,
    go_to,
    preview_if_asked,
    store_files,
    wizard_again,
    wizard_distances,
    wizard_page,
    wizard_submit,
)

FIXED = ("nik", "sex", "birth_date")  # a change cannot touch these: withdraw and register again
REGISTRATION_NUMBER = re.compile(r"[0-9A-Z-]{1,24}")  # as the routes take it (`params.RegistrationNumber`)


class ParentPages(Controller):
    include_in_schema = False
    guards = [requires_parent]

    @get("/orangtua")
    async def dashboard(self, request: Request, db_session: Session) -> Template:
        return await self._dashboard(request, db_session)

    async def _dashboard(
        self,
        request: Request,
        db_session: Session,
        claim: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> Template:
        applications = await service.mine(db_session, request.user)
        periods = await service.periods_open(db_session)
        return render(
            request,
            "parent/dashboard.html",
            status=status,
            applications=applications,
            periods=[to_out(p) for p in periods],
            claim=claim or {},
            claim_errors=errors or {},
        )

    @post("/orangtua/klaim")
    async def claim(self, request: Request, db_session: Session, state: State) -> Response:
        """A registration a school made for the family (walk-in), into this account with the child's PIN."""
        form = await request.form()
        values = {
            "registration_number": form_value(form, "registration_number").upper(),
            "pin": form_value(form, "pin"),
        }
        number = values["registration_number"]
        try:
            errors = {name: FIELD_MESSAGES["required"] for name, value in values.items() if not value}
            if number and not REGISTRATION_NUMBER.fullmatch(number):
                errors["registration_number"] = "Nomor pendaftaran tidak valid; contoh: 2027-SMP-7K3M9Q2X."
            if errors:
                raise FormErrors(errors)
            data = convert({"pin": values["pin"]}, schemas.Claim)
            await service.claim(state.sessionmaker, db_session, number, request.user, data)
        except (FormErrors, AppError) as err:
            await db_session.rollback()
            errors = err.errors if isinstance(err, FormErrors) else field_errors(err)
            status = err.status_code if isinstance(err, AppError) else 400
            return await self._dashboard(request, db_session, values | {"pin": ""}, errors, status)
        return Redirect(f"/pendaftaran/{number}?klaim=1")

    @get("/periode/{period_id:int}/daftar")
    async def wizard(self, request: Request, db_session: Session, runtime: AppRuntime, period_id: PeriodId) -> Template:
        accepting_registrations(await get_period(db_session, period_id))
        return await wizard_page(request, db_session, runtime, period_id, **self._wizard_urls(period_id))

    @post("/periode/{period_id:int}/daftar", request_max_body_size=UPLOADS)
    async def submit(
        self, request: Request, db_session: Session, state: State, runtime: AppRuntime, period_id: PeriodId
    ) -> Response:
        done = go_to("/pendaftaran/{number}?baru=1")
        return await wizard_submit(
            request, db_session, state, runtime, period_id, done=done, **self._wizard_urls(period_id)
        )

    @staticmethod
    def _wizard_urls(period_id: int) -> dict[str, Any]:
        return {"action": f"/periode/{period_id}/daftar", "distances": f"/periode/{period_id}/daftar/jarak"}

    @post("/periode/{period_id:int}/daftar/jarak")
    async def distances(
        self, request: Request, db_session: Session, runtime: AppRuntime, period_id: PeriodId
    ) -> Template:
        """htmx: the distance to each chosen school, computed by the same validation as the real submit."""
        return await wizard_distances(request, db_session, runtime, period_id)

    @get("/pendaftaran/{registration_number:str}")
    async def status(
        self,
        request: Request,
        db_session: Session,
        state: State,
        runtime: AppRuntime,
        registration_number: RegistrationNumber,
        baru: Annotated[str | None, QueryParameter(max_length=5)] = None,
        klaim: Annotated[str | None, QueryParameter(max_length=5)] = None,
    ) -> Template:
        return await self._status_page(
            request, db_session, state, runtime, registration_number, new=baru is not None, claimed=klaim is not None
        )

    @post("/pendaftaran/{registration_number:str}/dokumen/{kind:str}", request_max_body_size=UPLOADS)
    async def upload_again(
        self,
        request: Request,
        db_session: Session,
        state: State,
        runtime: AppRuntime,
        registration_number: RegistrationNumber,
        kind: Annotated[str, PathParameter(max_length=40)],
    ) -> Response:
        """A document again, from the status page: a rejected one even after registration closed."""
        upload = (await request.form()).get("file")
        try:
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise FormErrors({f"file_{kind}": "Pilih berkasnya dulu."})
            application = await authz.load_application(db_session, registration_number, request.user)
            period = await get_period(db_session, application.period_id)
            documents.may_upload(period, application, kind)
            files = {kind: await upload.read()}
            await store_files(db_session, state, request, registration_number, files, rules_of(period))
        except (FormErrors, AppError) as err:
            await db_session.rollback()
            errors = err.errors if isinstance(err, FormErrors) else {f"file_{kind}": err.message}
            status = err.status_code if isinstance(err, AppError) else 400
            return await self._status_page(
                request, db_session, state, runtime, registration_number, errors=errors, status=status
            )
        return Redirect(f"/pendaftaran/{registration_number}?unggah={kind}")

    async def _status_page(
        self,
        request: Request,
        db_session: Session,
        state: State,
        runtime: Runtime,
        registration_number: str,
        *,
        new: bool = False,
        claimed: bool = False,
        errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> Template:
        out, period, outcome = await self._status(db_session, runtime, request, registration_number)
        reregistering = period.status == PeriodStatus.REREGISTRATION
        return render(
            request,
            "parent/status.html",
            status=status,
            app=out,
            period=to_out(period),
            rules=rules_of(period),
            outcome=outcome,
            new=new,
            claimed=claimed,
            open=period.status == PeriodStatus.REGISTRATION_OPEN,
            fixing=period.status in (PeriodStatus.REGISTRATION_OPEN, PeriodStatus.REGISTRATION_CLOSED),
            uploaded=request.query_params.get("unggah"),
            reregistering=reregistering,
            score=await scores.score_if_used(db_session, registration_number, request.user),
            errors=errors or {},
            # Poll about as often as the provisional result can change, never more than every 5 s.
            poll=int(min(60, max(5, state.settings.provisional_interval or 60))),
        )

    @get("/pendaftaran/{registration_number:str}/status")
    async def status_fragment(
        self, request: Request, db_session: Session, runtime: AppRuntime, registration_number: RegistrationNumber
    ) -> Template:
        """htmx polls this, so the placement refreshes without a full reload."""
        out, period, outcome = await self._status(db_session, runtime, request, registration_number)
        return render(request, "parent/status_fragment.html", app=out, period=to_out(period), outcome=outcome)

    @staticmethod
    async def _status(
        db_session: Session, runtime: Runtime, request: Request, number: str
    ) -> tuple[schemas.ApplicationOut, Period, selection_schemas.Explanation | None]:
        application = await authz.load_application(db_session, number, request.user)
        period = await get_period(db_session, application.period_id)
        try:
            status = await selection.status(
                runtime, reads(request), number, request.user, primary=request.app.state.sessionmaker
            )
        except AppError:
            status = None
        return await service.read(db_session, number), period, status

    @post("/pendaftaran/{registration_number:str}/cabut")
    async def withdraw(
        self, request: Request, db_session: Session, registration_number: RegistrationNumber
    ) -> Response:
        back = f"/pendaftaran/{registration_number}"
        asked = ask_first(
            request,
            await request.form(),
            title="Cabut pendaftaran?",
            consequence=f"Pendaftaran {registration_number} dan semua pilihan sekolahnya dibatalkan. "
            "Tindakan ini tidak dapat dibatalkan.",
            button="Ya, cabut pendaftaran",
            back=back,
        )
        if asked is not None:
            return asked
        with contextlib.suppress(ApplicationWithdrawn):  # withdrawn already (a second tap, a resent form): say so
            await service.withdraw(db_session, registration_number, request.user)
        return finished(back, "dicabut")

    @get("/pendaftaran/{registration_number:str}/ubah", cache_control=NO_STORE)
    async def change_form(
        self, request: Request, db_session: Session, runtime: AppRuntime, registration_number: RegistrationNumber
    ) -> Template:
        application = await authz.load_application(db_session, registration_number, request.user, write=True)
        period = await get_period(db_session, application.period_id)
        accepting_registrations(period)
        ctx = await service.load_context(db_session, period.id, runtime)
        current = msgspec.to_builtins(service.current_data(application, ctx))
        values = {k: "" if v is None else str(v) for k, v in current.items() if k not in ("choices", "documents")}
        values.update(choices=current["choices"], documents=current["documents"], idempotency_key="")
        return await wizard_page(
            request, db_session, runtime, period.id, values=values, **self._change_page(registration_number, period.id)
        )

    @post("/pendaftaran/{registration_number:str}/ubah", request_max_body_size=UPLOADS)
    async def change(
        self,
        request: Request,
        db_session: Session,
        state: State,
        runtime: AppRuntime,
        registration_number: RegistrationNumber,
    ) -> Response:
        application = await authz.load_application(db_session, registration_number, request.user)
        period_id = application.period_id
        period = await get_period(db_session, period_id)
        form = await request.form()
        values = form_values(form, rules_of(period).max_choices)
        attached = await attachments(state, request, form, rules_of(period), values["documents"])
        try:
            await preview_if_asked(form, values, db_session, runtime, period_id)
            changes = {k: v for k, v in values.items() if k not in (*FIXED, "idempotency_key", "pin")}
            if not changes["choices"]:
                raise FormErrors({"choices": "Pilih minimal satu sekolah."})
            update = convert(
                {k: (None if v == "" and k in ("nisn", "kk_exception", "category") else v) for k, v in changes.items()},
                schemas.ApplicationUpdate,
            )
            if attached.errors:
                raise FormErrors(attached.errors)
            await service.change(runtime, db_session, registration_number, request.user, update)
            await store_files(db_session, state, request, registration_number, attached.files, rules_of(period))
        except (FormErrors, AppError) as err:
            page = self._change_page(registration_number, period_id)
            kept = {"staged": attached.keep(state, request.user)}
            return await wizard_again(request, db_session, runtime, period_id, err, values=values | kept, **page)
        attached.stored(state, request.user, db_session)
        return Redirect(f"/pendaftaran/{registration_number}")

    @staticmethod
    def _change_page(number: str, period_id: int) -> dict[str, Any]:
        action = f"/pendaftaran/{number}/ubah"
        return {"action": action, "distances": f"/periode/{period_id}/daftar/jarak", "fixed": FIXED, "number": number}

    @post("/pendaftaran/{registration_number:str}/daftar-ulang")
    async def reregister(
        self, request: Request, db_session: Session, registration_number: RegistrationNumber
    ) -> Response:
        return await reregister_from_form(
            request, db_session, registration_number, f"/pendaftaran/{registration_number}"
        )

    @get("/pendaftaran/{registration_number:str}/bukti.pdf", opt=FILES)
    async def proof(self, request: Request, db_session: Session, registration_number: RegistrationNumber) -> Response:
        await authz.load_application(db_session, registration_number, request.user)
        out = await service.read(db_session, registration_number)
        period = await get_period(db_session, out.period_id)
        return proof_response(request, out, to_out(period).name, walk_in=False)
