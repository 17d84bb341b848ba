"""Registration API for parents: register, read back, change, withdraw."""
from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, patch, post, put
from litestar.datastructures import State
from litestar.params import HeaderParameter, JSONBody, PathParameter

from ppdb.accounts.guards import requires_login, requires_parent
from ppdb.applicants import documents, schemas, service
from ppdb.params import PeriodId, RegistrationNumber, Session
from ppdb.regions.service import accepting_registrations, get_period

IdempotencyKey = Annotated[str | None, HeaderParameter(name="Idempotency-Key", required=False, max_length=200,
                                                       description="Retries with the same key return the first result")]


class ApplicationController(Controller):
    path = "/api"
    tags = ["registration"]

    @post("/periods/{period_id:int}/applications", operation_id="register", guards=[requires_parent])
    async def register(self, db_session: Session, request: Request, data: JSONBody[schemas.ApplicationCreate],
                       period_id: PeriodId, idempotency_key: IdempotencyKey = None) -> schemas.ApplicationOut:
        """Register a child with a path and ranked school choices; distances are computed here."""
        return await service.register(db_session, period_id, data, request.user, idempotency_key=idempotency_key)

    @get("/applications/{registration_number:str}", operation_id="readApplication", guards=[requires_login])
    async def read(self, db_session: Session, request: Request,
                   registration_number: RegistrationNumber) -> schemas.ApplicationOut:
        """Read an application back, with the distances the server computed."""
        application = await service.authorize(db_session, registration_number, request.user)
        return await service.read(db_session, application.registration_number)

    @patch("/applications/{registration_number:str}", operation_id="changeApplication", guards=[requires_parent])
    async def change(self, db_session: Session, request: Request, registration_number: RegistrationNumber,
                     data: JSONBody[schemas.ApplicationUpdate]) -> schemas.ApplicationOut:
        """Change an application while registration is open; every rule is checked again."""
        return await service.change(db_session, registration_number, request.user, data)

    @post("/applications/{registration_number:str}/withdraw", operation_id="withdrawApplication", status_code=200,
          guards=[requires_parent])
    async def withdraw(self, db_session: Session, request: Request,
                       registration_number: RegistrationNumber) -> schemas.ApplicationOut:
        """Withdraw (cabut berkas) while registration is open."""
        return await service.withdraw(db_session, registration_number, request.user)

    @put("/applications/{registration_number:str}/documents/{kind:str}", operation_id="uploadDocument",
         request_max_body_size=20 * 1024 * 1024, guards=[requires_parent])
    async def upload(self, db_session: Session, state: State, request: Request,
                     registration_number: RegistrationNumber,
                     kind: Annotated[str, PathParameter(max_length=40)]) -> schemas.DocumentOut:
        """Upload a document (PDF, JPEG or PNG, checked by content) while registration is open; replaces the kind."""
        application = await service.authorize(db_session, registration_number, request.user, write=True)
        accepting_registrations(await get_period(db_session, application.period_id))
        settings = state.settings
        return await documents.store(db_session, application, kind, await request.body(), actor=request.user.actor,
                                     data_dir=settings.data_path, max_bytes=settings.max_upload_bytes)
