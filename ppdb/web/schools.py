"""School operator pages: applicant list with flags and filters, the verification screen, daftar ulang, and
registering a family that came to the school (walk-in, luring) with its proof and the child's PIN."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State, UploadFile
from litestar.params import PathParameter, QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy import select

from ppdb.accounts.guards import requires_registrar, requires_staff
from ppdb.accounts.models import Role
from ppdb.applicants import documents, pins
from ppdb.applicants import schemas as applicant_schemas
from ppdb.applicants import service as applicants
from ppdb.authz import Principal, load_application, own_school
from ppdb.errors import AppError, Forbidden
from ppdb.params import PeriodId, RegistrationNumber, Session
from ppdb.regions.models import Period, PeriodStatus
from ppdb.regions.service import accepting_registrations, get_period, periods_of_region, rules_of, to_out
from ppdb.runtime import AppRuntime
from ppdb.schools.models import PeriodSchool
from ppdb.schools.service import decode_csv
from ppdb.scores import service as scores
from ppdb.scores.controllers import GRADUATES_LIMIT
from ppdb.scores.formula import LEVEL_WORDS
from ppdb.verification import schemas, service
from ppdb.web.common import (
    FILES,
    FLAG_NAMES,
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
from ppdb.web.wizard import UPLOADS, go_to, wizard_distances, wizard_page, wizard_submit

Kind = Annotated[str, PathParameter(max_length=40)]
DECISIONS: dict[str, Literal["verified", "rejected"]] = {"verified": "verified", "rejected": "rejected"}
PAGE = 50
"""Applicants per page of the school's list."""
PERIOD_COOKIE = "ppdb_sekolah_periode"


# The walk-in pages are a school operator's (staff, and a registrar): the Dinas registers nobody.
OPERATOR = [requires_registrar]


def walk_in_page(period_id: int) -> dict[str, Any]:
    return {
        "action": f"/sekolah/daftar/{period_id}",
        "distances": f"/sekolah/daftar/{period_id}/jarak",
        "walk_in": True,
    }


async def assert_region_school(db_session: Session, user: Principal, period: Period) -> None:
    """The wizard is offered to a school of the period's region only (the registration service refuses the
    others' submit the same way)."""
    if (await own_school(db_session, user)).region_id != period.region_id:
        raise Forbidden("forbidden_region", "Sekolah Anda bukan sekolah daerah periode ini.")


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
        cari: Annotated[str | None, QueryParameter(max_length=60)] = None,
        hal: Annotated[int, QueryParameter(ge=1, le=100_000)] = 1,
    ) -> Template:
        """The school's applicants, a page of `PAGE` at a time, searchable by name, registration number or NISN;
        the period chosen last (a cookie), else the newest one the school takes part in."""
        school = await own_school(db_session, request.user)
        periods = await periods_of_region(db_session, school.region_id)
        remembered = request.cookies.get(PERIOD_COOKIE, "")
        wanted = periode or (int(remembered) if remembered.isdigit() else None)
        period = next((p for p in periods if p.id == wanted), None)
        if period is None and periods:  # none chosen: the newest the school takes part in
            taking_part = set(
                await db_session.scalars(select(PeriodSchool.period_id).where(PeriodSchool.school_id == school.id))
            )
            period = next((p for p in periods if p.id in taking_part), periods[0])
        # A flag the page does not offer (an old link, a typo) shows everyone: an empty list would read as
        # "no applicant is flagged". The API answers it with a 400 instead.
        flag = flag if flag in FLAG_NAMES else None
        search = (cari or "").strip()
        listed, pages = service.Listed([], 0), 1
        if period is not None:
            page_of = partial(
                service.applicants_of,
                db_session,
                school.npsn,
                period.id,
                request.user,
                flag,
                limit=PAGE,
                status=status or None,
                path=jalur or None,
                search=search or None,
            )
            listed = await page_of(offset=(hal - 1) * PAGE)
            pages = max(1, -(-listed.total // PAGE))
            if hal > pages:  # an old link past the end: the last page
                listed = await page_of(offset=(pages - 1) * PAGE)
        filters = {
            "periode": period.id if period else "",
            "flag": flag or "",
            "status": status or "",
            "jalur": jalur or "",
        }
        page = min(hal, pages)

        def link(n: int) -> str:
            return "/sekolah?" + urlencode({**filters, "cari": search, "hal": n})

        template = render(
            request,
            "school/applicants.html",
            school=school,
            periods=[to_out(p) for p in periods],
            period=to_out(period) if period else None,
            rows=listed.rows,
            total=listed.total,
            first=(page - 1) * PAGE + 1,
            previous=link(page - 1) if page > 1 else None,
            following=link(page + 1) if page < pages else None,
            flags=FLAG_NAMES,
            filters={**filters, "cari": search},
            walk_in_open=request.user.role is Role.SCHOOL_OPERATOR
            and any(p.status is PeriodStatus.REGISTRATION_OPEN for p in periods),
        )
        if periode is not None and period is not None:
            template.set_cookie(PERIOD_COOKIE, str(period.id), max_age=180 * 86400, httponly=True, samesite="lax")
        return template

    # --- registration at the school (luring) -------------------------------------------------------------

    @get("/sekolah/daftar", guards=OPERATOR, cache_control=NO_STORE)
    async def walk_in_periods(self, request: Request, db_session: Session) -> Template:
        """Registering a family at the school: the region's periods open for registration."""
        school = await own_school(db_session, request.user)
        periods = await periods_of_region(db_session, school.region_id)
        open_ = [to_out(p) for p in periods if p.status is PeriodStatus.REGISTRATION_OPEN]
        return render(request, "school/walk_in_periods.html", school=school, periods=open_)

    @get("/sekolah/daftar/{period_id:int}", guards=OPERATOR, cache_control=NO_STORE)
    async def walk_in(
        self, request: Request, db_session: Session, runtime: AppRuntime, period_id: PeriodId
    ) -> Template:
        """The parents' wizard, empty, for the family at the school (no PIN: the KK is checked in person)."""
        period = await get_period(db_session, period_id)
        await assert_region_school(db_session, request.user, period)
        accepting_registrations(period)
        return await wizard_page(request, db_session, runtime, period_id, **walk_in_page(period_id))

    @post("/sekolah/daftar/{period_id:int}", guards=OPERATOR, cache_control=NO_STORE, request_max_body_size=UPLOADS)
    async def register_walk_in(
        self, request: Request, db_session: Session, state: State, runtime: AppRuntime, period_id: PeriodId
    ) -> Response:
        """Registered by the registration service with the operator as the actor; then its page (the school
        keeps seeing a family it registered, whichever schools the child chose)."""
        done = go_to("/sekolah/pendaftar/{number}/luring")
        return await wizard_submit(request, db_session, state, runtime, period_id, done=done, **walk_in_page(period_id))

    @post("/sekolah/daftar/{period_id:int}/jarak", guards=OPERATOR, cache_control=NO_STORE)
    async def walk_in_distances(
        self, request: Request, db_session: Session, runtime: AppRuntime, period_id: PeriodId
    ) -> Template:
        """htmx: the distance to each chosen school, as in the parents' wizard."""
        return await wizard_distances(request, db_session, runtime, period_id)

    @get("/sekolah/pendaftar/{registration_number:str}/luring", guards=OPERATOR, cache_control=NO_STORE)
    async def walk_in_done(
        self, request: Request, db_session: Session, registration_number: RegistrationNumber
    ) -> Template:
        """After a walk-in registration: its number, the proof to print and the child's PIN to issue."""
        return await self._walk_in_done(request, db_session, registration_number)

    @post("/sekolah/pendaftar/{registration_number:str}/pin", guards=OPERATOR, cache_control=NO_STORE)
    async def walk_in_pin(
        self, request: Request, db_session: Session, runtime: AppRuntime, registration_number: RegistrationNumber
    ) -> Template:
        """The child's PIN, issued by the school that checked its KK, shown this once (a new one voids the old)."""
        application = await load_application(db_session, registration_number, request.user)
        niks = applicant_schemas.PinIssue(niks=[application.applicant.nik])
        try:
            (issued,) = await pins.issue(db_session, application.period_id, niks, request.user, runtime)
        except AppError as err:
            await db_session.rollback()
            errors = {"pin": err.message}
            return await self._walk_in_done(request, db_session, registration_number, errors, err.status_code)
        return await self._walk_in_done(request, db_session, registration_number, pin=issued.pin)

    async def _walk_in_done(
        self,
        request: Request,
        db_session: Session,
        number: str,
        errors: dict[str, str] | None = None,
        status: int = 200,
        pin: str | None = None,
    ) -> Template:
        application = await load_application(db_session, number, request.user)
        period = await get_period(db_session, application.period_id)
        return render(
            request,
            "school/walk_in_done.html",
            status=status,
            app=await applicants.read(db_session, number),
            period=to_out(period),
            in_account=application.parent_id is not None,
            pin_open=period.status in (PeriodStatus.DRAFT, PeriodStatus.REGISTRATION_OPEN),
            pin=pin,
            errors=errors or {},
        )

    @get("/sekolah/pendaftar/{registration_number:str}/bukti.pdf", cache_control=NO_STORE, opt=FILES)
    async def proof(self, request: Request, db_session: Session, registration_number: RegistrationNumber) -> Response:
        """The registration proof for the school's or the Dinas' staff to print (a walk-in's: with how the family
        follows it); the same scope as the verification screen."""
        application = await load_application(db_session, registration_number, request.user)
        period = await get_period(db_session, application.period_id)
        out = await applicants.read(db_session, registration_number)
        return proof_response(request, out, to_out(period).name, walk_in=application.parent_id is None)

    @get("/sekolah/lulusan")
    async def graduates(
        self,
        request: Request,
        db_session: Session,
        periode: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1)] = None,
    ) -> Template:
        """The origin school's (sekolah asal) graduates with their rapor, for a period still taking them."""
        return await self._graduates(request, db_session, periode)

    @post("/sekolah/lulusan/{period_id:int}/impor", request_max_body_size=GRADUATES_LIMIT)
    async def import_graduates(self, request: Request, db_session: Session, period_id: PeriodId) -> Response:
        form = await request.form()
        upload = form.get("file")
        try:
            text = decode_csv(await upload.read()) if isinstance(upload, UploadFile) else ""
            if not text.strip():
                raise AppError("csv_empty", "Pilih berkas CSV daftar lulusan.", "file")
            outcome = await scores.import_graduates(db_session, period_id, text, request.user)
        except AppError as err:
            await db_session.rollback()
            errors = {"file": err.message}
            return await self._graduates(request, db_session, period_id, errors, err.details or [], err.status_code)
        notice = (
            f"Impor berhasil: {outcome.rows} lulusan ({outcome.created} baru, {outcome.updated} diperbarui, "
            f"{outcome.removed} dihapus)."
        )
        return await self._graduates(request, db_session, period_id, notice=notice)

    async def _graduates(
        self,
        request: Request,
        db_session: Session,
        period_id: int | None,
        errors: dict | None = None,
        import_errors: list | None = None,
        status: int = 200,
        notice: str | None = None,
    ) -> Template:
        school = await own_school(db_session, request.user)
        periods = await scores.periods_for_entry(db_session, school.level)
        period = next((p for p in periods if p.id == period_id), periods[0] if periods else None)
        rows = [] if period is None else await scores.list_graduates(db_session, period.id, request.user, limit=1000)
        return render(
            request,
            "school/graduates.html",
            status=status,
            school=school,
            periods=[to_out(p) for p in periods],
            period=to_out(period) if period else None,
            rows=rows,
            errors=errors or {},
            import_errors=import_errors or [],
            notice=notice,
        )

    @get("/sekolah/pendaftar/{registration_number:str}", cache_control=NO_STORE)
    async def verification(
        self, request: Request, db_session: Session, registration_number: RegistrationNumber
    ) -> Template:
        return await self._screen(request, db_session, registration_number, {})

    async def _screen(
        self, request: Request, db_session: Session, number: str, errors: dict, status: int = 200
    ) -> Template:
        application = await load_application(db_session, number, request.user)
        period = await get_period(db_session, application.period_id)
        rules = rules_of(period)
        own = request.user.school_id
        return render(
            request,
            "school/verify.html",
            # the SMK programs whose requirements this school checks (until the official selection):
            # choice rank -> the requirements' names and words
            program_checks={
                c.rank: [(n, rules.programs.title(n)) for n in c.program.requirements]
                for c in application.choices
                if c.program is not None and c.program.requirements and own in (None, c.school_id)
            }
            if period.status not in service.DECIDED
            else {},
            status=status,
            app=await applicants.read(db_session, number),
            score=await scores.score_if_used(db_session, number, request.user),
            certificate_scored=service.certificate_component(application, period) is not None,
            certificate_levels=LEVEL_WORDS,
            period=to_out(period),
            rules=rules,
            errors=errors,
            reregistering=period.status == PeriodStatus.REREGISTRATION,
        )

    @get("/sekolah/pendaftar/{registration_number:str}/dokumen/{kind:str}", opt=FILES)
    async def document(
        self, request: Request, db_session: Session, state: State, registration_number: RegistrationNumber, kind: Kind
    ) -> Response[bytes]:
        application = await load_application(db_session, registration_number, request.user)
        stored = await documents.fetch(
            db_session, application, kind, actor=request.user, data_dir=state.settings.data_path
        )
        return documents.serve(*stored, inline=True)

    @post("/sekolah/pendaftar/{registration_number:str}/dokumen/{kind:str}")
    async def decide(
        self, request: Request, db_session: Session, registration_number: RegistrationNumber, kind: Kind
    ) -> Response:
        form = await request.form()
        decision = DECISIONS.get(form_value(form, "decision"))
        reason = form_value(form, "reason") or None
        try:
            if decision is None:
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

    @post("/sekolah/pendaftar/{registration_number:str}/sertifikat")
    async def award_certificate(
        self, request: Request, db_session: Session, registration_number: RegistrationNumber
    ) -> Response:
        form = await request.form()
        values = {name: form_value(form, name) for name in ("level", "rank", "issued_on", "number")}
        try:
            check = convert(values | {"team": "team" in form}, schemas.CertificateCheck, ("level", "rank", "issued_on"))
            await service.award_certificate(db_session, registration_number, request.user, check)
        except (FormErrors, AppError) as err:
            await db_session.rollback()
            errors = err.errors if isinstance(err, FormErrors) else field_errors(err)
            status = 400 if isinstance(err, FormErrors) else err.status_code
            return await self._screen(
                request, db_session, registration_number, {f"certificate_{k}": v for k, v in errors.items()}, status
            )
        return Redirect(f"/sekolah/pendaftar/{registration_number}")

    @post("/sekolah/pendaftar/{registration_number:str}/syarat-program")
    async def check_program(
        self, request: Request, db_session: Session, registration_number: RegistrationNumber
    ) -> Response:
        form = await request.form()
        values = {
            "program": form_value(form, "program"),
            "unmet": [str(n) for n in form.getall("unmet", [])],
            "reason": form_value(form, "reason"),
        }
        try:
            check = convert(values, schemas.ProgramCheck, ("program",))
            await service.check_program(db_session, registration_number, request.user, check)
        except (FormErrors, AppError) as err:
            await db_session.rollback()
            errors = err.errors if isinstance(err, FormErrors) else field_errors(err)
            status = 400 if isinstance(err, FormErrors) else err.status_code
            found = {f"program_{values['program']}": message for message in errors.values()}
            return await self._screen(request, db_session, registration_number, found, status)
        return Redirect(f"/sekolah/pendaftar/{registration_number}")

    @post("/sekolah/pendaftar/{registration_number:str}/koordinat")
    async def verify_coordinate(
        self, request: Request, db_session: Session, registration_number: RegistrationNumber
    ) -> Response:
        back = f"/sekolah/pendaftar/{registration_number}"
        asked = ask_first(
            request,
            await request.form(),
            title="Verifikasi dan kunci koordinat rumah?",
            consequence="Jarak ke sekolah dihitung dari koordinat ini; orang tua tidak dapat mengubahnya lagi.",
            button="Ya, verifikasi dan kunci",
            back=back,
            style="primary",
        )
        if asked is not None:
            return asked
        await service.verify_coordinate(db_session, registration_number, request.user)
        return finished(back, "koordinat-dikunci")

    @post("/sekolah/pendaftar/{registration_number:str}/daftar-ulang")
    async def reregister(
        self, request: Request, db_session: Session, registration_number: RegistrationNumber
    ) -> Response:
        return await reregister_from_form(
            request, db_session, registration_number, f"/sekolah/pendaftar/{registration_number}"
        )
