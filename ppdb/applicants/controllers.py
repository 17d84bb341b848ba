"""Registration API for parents: register, read back, change, withdraw."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, get, patch, post, put
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter, JSONBody, PathParameter

from ppdb import authz
from ppdb.accounts.guards import (
    requires_agency_admin,
    requires_login,
    requires_parent,
    requires_registrar,
    requires_staff,
)
from ppdb.applicants import documents, pins, schemas, service
from ppdb.params import PeriodId, RegistrationNumber, Session
from ppdb.regions.service import get_period, rules_of
from ppdb.runtime import AppRuntime

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        max_length=200,
        description="Retries with the same key return the first result",
    ),
]


class ApplicationController(Controller):
    path = "/api"
    tags = ["registration"]

    @post("/periods/{period_id:int}/applications", operation_id="register", guards=[requires_registrar])
    async def register(
        self,
        state: State,
        runtime: AppRuntime,
        request: Request,
        data: JSONBody[schemas.ApplicationCreate],
        period_id: PeriodId,
        idempotency_key: IdempotencyKey = None,
    ) -> schemas.ApplicationOut:
        """Register a child with a path and ranked school choices; distances are computed here. A school
        operator registers a family that came to the school (walk-in, identity checked in person): the same
        rules, the operator recorded as the actor, the family claims it later with the child's PIN."""
        return await service.register_committed(
            runtime, state.sessionmaker, period_id, data, request.user, idempotency_key=idempotency_key
        )

    @post("/periods/{period_id:int}/pins", operation_id="issuePins", guards=[requires_staff])
    async def issue_pins(
        self,
        db_session: Session,
        runtime: AppRuntime,
        request: Request,
        period_id: PeriodId,
        data: JSONBody[schemas.PinIssue],
    ) -> list[schemas.PinOut]:
        """Issue a PIN for each child after checking its KK (the Dinas, a school of the region, or an origin
        school for its own graduates); a PIN issued before is replaced. The PINs are shown this once."""
        return await pins.issue(db_session, period_id, data, request.user, runtime)

    @post(
        "/applications/{registration_number:str}/release",
        operation_id="releaseApplication",
        status_code=200,
        guards=[requires_agency_admin],
    )
    async def release(
        self,
        db_session: Session,
        request: Request,
        registration_number: RegistrationNumber,
        data: JSONBody[schemas.Release],
    ) -> schemas.ApplicationOut:
        """Agency only: withdraw an application registered from an account that did not hold the child's NIK,
        with what was checked; the family can then register the child."""
        return await service.release(db_session, registration_number, request.user, data)

    @post(
        "/applications/{registration_number:str}/claim",
        operation_id="claimApplication",
        status_code=200,
        guards=[requires_parent],
    )
    async def claim(
        self,
        state: State,
        db_session: Session,
        request: Request,
        registration_number: RegistrationNumber,
        data: JSONBody[schemas.Claim],
    ) -> schemas.ApplicationOut:
        """A family takes into its account the registration a school made for it, with the child's PIN."""
        return await service.claim(state.sessionmaker, db_session, registration_number, request.user, data)

    @get("/applications/{registration_number:str}", operation_id="readApplication", guards=[requires_login])
    async def read(
        self, db_session: Session, request: Request, registration_number: RegistrationNumber
    ) -> schemas.ApplicationOut:
        """Read an application back, with the distances the server computed."""
        application = await authz.load_application(db_session, registration_number, request.user)
        return await service.read(db_session, application.registration_number)

    @patch("/applications/{registration_number:str}", operation_id="changeApplication", guards=[requires_parent])
    async def change(
        self,
        runtime: AppRuntime,
        db_session: Session,
        request: Request,
        registration_number: RegistrationNumber,
        data: JSONBody[schemas.ApplicationUpdate],
    ) -> schemas.ApplicationOut:
        """Change an application while registration is open; every rule is checked again."""
        return await service.change(runtime, db_session, registration_number, request.user, data)

    @post(
        "/applications/{registration_number:str}/withdraw",
        operation_id="withdrawApplication",
        status_code=200,
        guards=[requires_parent],
    )
    async def withdraw(
        self, db_session: Session, request: Request, registration_number: RegistrationNumber
    ) -> schemas.ApplicationOut:
        """Withdraw (cabut berkas) while registration is open."""
        return await service.withdraw(db_session, registration_number, request.user)

    @put(
        "/applications/{registration_number:str}/documents/{kind:str}",
        operation_id="uploadDocument",
        request_max_body_size=20 * 1024 * 1024,
        guards=[requires_parent],
    )
    async def upload(
        self,
        db_session: Session,
        state: State,
        request: Request,
        registration_number: RegistrationNumber,
        kind: Annotated[str, PathParameter(max_length=40)],
    ) -> schemas.DocumentOut:
        """Upload a document (PDF, JPEG or PNG, checked by content) while registration is open, or again one a
        verifier rejected until the selection runs; replaces the kind."""
        application = await authz.load_application(db_session, registration_number, request.user, write=True)
        period = await get_period(db_session, application.period_id)
        documents.may_upload(period, application, kind)
        settings = state.settings
        if int(request.headers.get("content-length") or 0) > settings.max_upload_bytes:  # refused before reading
            documents.refuse_size(settings.max_upload_bytes)
        return await documents.store(
            db_session,
            application,
            kind,
            await request.body(),
            rules=rules_of(period),
            actor=request.user.actor,
            data_dir=settings.data_path,
            max_bytes=settings.max_upload_bytes,
        )

    @get(
        "/applications/{registration_number:str}/documents/{kind:str}",
        operation_id="downloadDocument",
        guards=[requires_login],
        responses={
            200: ResponseSpec(
                bytes,
                media_type="*/*",
                generate_examples=False,
                description="The stored file: application/pdf, image/jpeg or image/png, as an attachment",
            )
        },
    )
    async def download(
        self,
        db_session: Session,
        state: State,
        request: Request,
        registration_number: RegistrationNumber,
        kind: Annotated[str, PathParameter(max_length=40)],
    ) -> Response[bytes]:
        """Download an uploaded document: the parent who owns it, operators of a chosen school, the region's agency."""
        application = await authz.load_application(db_session, registration_number, request.user)
        stored = await documents.fetch(
            db_session, application, kind, actor=request.user, data_dir=state.settings.data_path
        )
        return documents.serve(*stored)
