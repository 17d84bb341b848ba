"""Parent pages: the registration wizard, the live status page, change, withdraw, daftar ulang, the proof PDF."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import FormMultiDict, State, UploadFile
from litestar.params import PathParameter, QueryParameter
from litestar.response import Redirect, Template

from ppdb import authz
from ppdb.accounts.guards import requires_parent
from ppdb.applicants import documents, schemas, service
from ppdb.applicants.validation import Plan
from ppdb.errors import AppError
from ppdb.params import PeriodId, RegistrationNumber, Session
from ppdb.regions.models import Period, PeriodStatus
from ppdb.regions.rules import RuleSet
from ppdb.regions.service import accepting_registrations, get_period, rules_of, to_out
from ppdb.runtime import AppRuntime, Runtime
from ppdb.scores import service as scores
from ppdb.selection import schemas as selection_schemas
from ppdb.selection import service as selection
from ppdb.web.common import (
    FormErrors,
    convert,
    field_errors,
    form_value,
    render,
    reregister_from_form,
)
from ppdb.web.proof import proof_pdf

# The form's text fields and the required ones: the registration's, but for the lists (choices, documents).
FORM = [f for f in msgspec.structs.fields(schemas.ApplicationCreate) if f.name not in ("choices", "documents")]
TEXT_FIELDS = tuple(f.name for f in FORM)
REQUIRED = tuple(f.name for f in FORM if f.required)
FIXED = ("nik", "sex", "birth_date")  # a change cannot touch these: withdraw and register again
MEDIA_TYPES = {"pdf": "application/pdf", "jpg": "image/jpeg", "png": "image/png"}
UPLOADS = 40 * 1024 * 1024  # the whole wizard with its documents; each file is still held to its own limit


def form_values(form: Any, max_choices: int) -> dict[str, Any]:
    values: dict[str, Any] = {name: form_value(form, name) for name in TEXT_FIELDS}
    values["choices"] = [c for i in range(1, max_choices + 1) if (c := form_value(form, f"choice_{i}"))]
    values["documents"] = [d for d in form.getall("documents", []) if isinstance(d, str)]
    values["idempotency_key"] = form_value(form, "idempotency_key") or uuid.uuid4().hex
    return values


def to_create(values: dict[str, Any]) -> schemas.ApplicationCreate:
    body = {k: v for k, v in values.items() if k != "idempotency_key"}
    if not values["choices"]:
        raise FormErrors({"choices": "Pilih minimal satu sekolah."})
    return convert(body, schemas.ApplicationCreate, required=REQUIRED)


def uploads(form: Any, rules: RuleSet) -> dict[str, UploadFile]:
    return {
        kind: f for kind in rules.document_kinds if isinstance(f := form.get(f"file_{kind}"), UploadFile) and f.filename
    }


async def wizard_context(db_session: Session, runtime: Runtime, period_id: int) -> dict[str, Any]:
    """Loaded afresh: after a rolled-back attempt the session's objects are expired."""
    ctx = await service.load_context(db_session, period_id, runtime)
    period = service.loaded(ctx)
    kelurahan = await service.kelurahan_of(db_session, period.region_id)
    return {
        "period": to_out(period),
        "rules": ctx.rules,
        "kelurahan": kelurahan,
        "schools": sorted(ctx.schools.values(), key=lambda s: s.name),
        "document_kinds": list(ctx.rules.document_kinds.values()),
        "accept": lambda formats: ",".join(MEDIA_TYPES[f] for f in formats or MEDIA_TYPES),
    }


class Preview(FormErrors):
    """ "Hitung jarak" without JavaScript: the wizard again with the distances and quota of each choice."""

    def __init__(self, plan: Plan) -> None:
        super().__init__({})
        self.plan = plan


async def preview_if_asked(
    form: FormMultiDict, values: dict[str, Any], db_session: Session, runtime: Runtime, period_id: int
) -> None:
    if form_value(form, "action") == "preview":
        raise Preview(service.validate(await service.load_context(db_session, period_id, runtime), to_create(values)))


async def wizard_again(
    request: Request, db_session: Session, runtime: Runtime, period_id: int, err: FormErrors | AppError, **page: Any
) -> Template:
    """The wizard again after a refused submit or a preview: nothing of it stored, the input kept, errors by field."""
    await db_session.rollback()
    errors = err.errors if isinstance(err, FormErrors) else field_errors(err)
    return render(
        request,
        "parent/wizard.html",
        status=400 if errors else 200,
        **await wizard_context(db_session, runtime, period_id),
        errors=errors,
        plan=err.plan if isinstance(err, Preview) else None,
        **page,
    )


class ParentPages(Controller):
    include_in_schema = False
    guards = [requires_parent]

    @get("/orangtua")
    async def dashboard(self, request: Request, db_session: Session) -> Template:
        applications = await service.mine(db_session, request.user)
        periods = await service.periods_open(db_session)
        return render(request, "parent/dashboard.html", applications=applications, periods=[to_out(p) for p in periods])

    @get("/periode/{period_id:int}/daftar")
    async def wizard(self, request: Request, db_session: Session, runtime: AppRuntime, period_id: PeriodId) -> Template:
        period = await get_period(db_session, period_id)
        accepting_registrations(period)
        return render(
            request,
            "parent/wizard.html",
            **await wizard_context(db_session, runtime, period_id),
            values={"idempotency_key": uuid.uuid4().hex, "choices": [], "documents": []},
            errors={},
            plan=None,
            action=f"/periode/{period_id}/daftar",
            fixed=(),
        )

    @post("/periode/{period_id:int}/daftar", request_max_body_size=UPLOADS)
    async def submit(
        self, request: Request, db_session: Session, state: State, runtime: AppRuntime, period_id: PeriodId
    ) -> Response:
        period = await get_period(db_session, period_id)
        form = await request.form()
        values = form_values(form, rules_of(period).max_choices)
        try:
            await preview_if_asked(form, values, db_session, runtime, period_id)
            data = to_create(values)
            files = await self._checked_files(state, rules_of(period), uploads(form, rules_of(period)))
            key = values["idempotency_key"]
            if files:  # one submit, one outcome: the registration and its files commit together
                out = await service.register_in(
                    runtime, state.sessionmaker, db_session, period_id, data, request.user, idempotency_key=key
                )
                await self._store_files(db_session, state, request, out.registration_number, files, rules_of(period))
            else:  # nothing else to store: the admission-day fast path, committed on its own
                out = await service.register_committed(
                    runtime, state.sessionmaker, period_id, data, request.user, idempotency_key=key
                )
        except (FormErrors, AppError) as err:
            action = f"/periode/{period_id}/daftar"
            return await wizard_again(
                request, db_session, runtime, period_id, err, values=values | {"pin": ""}, action=action, fixed=()
            )
        return Redirect(f"/pendaftaran/{out.registration_number}?baru=1")

    @post("/periode/{period_id:int}/daftar/jarak")
    async def distances(
        self, request: Request, db_session: Session, runtime: AppRuntime, period_id: PeriodId
    ) -> Template:
        """htmx: the distance to each chosen school, computed by the same validation as the real submit."""
        period = await get_period(db_session, period_id)
        values = form_values(await request.form(), rules_of(period).max_choices)
        try:
            ctx = await service.load_context(db_session, period_id, runtime)
            plan, errors = service.validate(ctx, to_create(values)), {}
        except FormErrors as err:
            plan, errors = None, err.errors
        except AppError as err:
            plan, errors = None, field_errors(err)
        return render(request, "parent/distances.html", plan=plan, errors=errors)

    @staticmethod
    async def _checked_files(state: State, rules: RuleSet, files: dict[str, UploadFile]) -> dict[str, bytes]:
        """The uploaded files' contents, each checked before anything is stored."""
        contents = {kind: await upload.read() for kind, upload in files.items()}
        for kind, content in contents.items():
            try:
                documents.check(rules, kind, content, max_bytes=state.settings.max_upload_bytes)
            except AppError as err:
                raise FormErrors({f"file_{kind}": err.message}) from None
        return contents

    @staticmethod
    async def _store_files(
        db_session: Session, state: State, request: Request, number: str, files: dict[str, bytes], rules: RuleSet
    ) -> None:
        if not files:
            return
        application = await authz.load_application(db_session, number, request.user, write=True)
        for kind, content in files.items():
            try:
                await documents.store(
                    db_session,
                    application,
                    kind,
                    content,
                    rules=rules,
                    actor=request.user.actor,
                    data_dir=state.settings.data_path,
                    max_bytes=state.settings.max_upload_bytes,
                )
            except AppError as err:
                raise FormErrors({f"file_{kind}": err.message}) from None

    @get("/pendaftaran/{registration_number:str}")
    async def status(
        self,
        request: Request,
        db_session: Session,
        state: State,
        runtime: AppRuntime,
        registration_number: RegistrationNumber,
        baru: Annotated[str | None, QueryParameter(max_length=5)] = None,
    ) -> Template:
        return await self._status_page(request, db_session, state, runtime, registration_number, new=baru is not None)

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
            await self._store_files(db_session, state, request, registration_number, files, rules_of(period))
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
            status = await selection.status(runtime, request.app.state.read_sessionmaker, number, request.user)
        except AppError:
            status = None
        return await service.read(db_session, number), period, status

    @post("/pendaftaran/{registration_number:str}/cabut")
    async def withdraw(
        self, request: Request, db_session: Session, registration_number: RegistrationNumber
    ) -> Response:
        await service.withdraw(db_session, registration_number, request.user)
        return Redirect(f"/pendaftaran/{registration_number}")

    @get("/pendaftaran/{registration_number:str}/ubah")
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
        return render(
            request,
            "parent/wizard.html",
            **await wizard_context(db_session, runtime, period.id),
            values=values,
            errors={},
            plan=None,
            action=f"/pendaftaran/{registration_number}/ubah",
            fixed=FIXED,
            number=registration_number,
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
        try:
            await preview_if_asked(form, values, db_session, runtime, period_id)
            changes = {k: v for k, v in values.items() if k not in (*FIXED, "idempotency_key", "pin")}
            if not changes["choices"]:
                raise FormErrors({"choices": "Pilih minimal satu sekolah."})
            update = convert(
                {k: (None if v == "" and k in ("nisn", "kk_exception", "category") else v) for k, v in changes.items()},
                schemas.ApplicationUpdate,
            )
            files = await self._checked_files(state, rules_of(period), uploads(form, rules_of(period)))
            await service.change(runtime, db_session, registration_number, request.user, update)
            await self._store_files(db_session, state, request, registration_number, files, rules_of(period))
        except (FormErrors, AppError) as err:
            page = dict(
                values=values,
                fixed=FIXED,
                number=registration_number,
                action=f"/pendaftaran/{registration_number}/ubah",
            )
            return await wizard_again(request, db_session, runtime, period_id, err, **page)
        return Redirect(f"/pendaftaran/{registration_number}")

    @post("/pendaftaran/{registration_number:str}/daftar-ulang")
    async def reregister(
        self, request: Request, db_session: Session, registration_number: RegistrationNumber
    ) -> Response:
        await reregister_from_form(request, db_session, registration_number)
        return Redirect(f"/pendaftaran/{registration_number}")

    @get("/pendaftaran/{registration_number:str}/bukti.pdf")
    async def proof(self, request: Request, db_session: Session, registration_number: RegistrationNumber) -> Response:
        await authz.load_application(db_session, registration_number, request.user)
        out = await service.read(db_session, registration_number)
        period = to_out(await get_period(db_session, out.period_id))
        base = str(request.base_url).rstrip("/")
        lookup = f"{base}/periode/{out.period_id}/hasil?nomor={out.registration_number}"
        return Response(
            proof_pdf(out, period.name, lookup, f"{base}/bantuan"),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="bukti-{registration_number}.pdf"'},
        )
