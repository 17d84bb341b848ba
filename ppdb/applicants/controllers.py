"""Registration API for parents: register, read back, change, withdraw."""
from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, patch, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import HeaderParameter, JSONBody, PathParameter
from sqlalchemy.ext.asyncio import AsyncSession

from ppdb.applicants import documents, schemas, service
from ppdb.regions.service import accepting_registrations, get_period

AccessToken = Annotated[str | None, HeaderParameter(name="X-Access-Token", required=False,
                                                    description="The token returned at registration")]
IdempotencyKey = Annotated[str | None, HeaderParameter(name="Idempotency-Key", required=False, max_length=200,
                                                       description="Retries with the same key return the first result")]
PeriodId = Annotated[int, PathParameter(description="Period id", gt=0)]
RegistrationNumber = Annotated[str, PathParameter(description="Registration number, e.g. 2027-SMP-7K3M9Q2X",
                                                  max_length=24)]
Session = NamedDependency[AsyncSession]


class ApplicationController(Controller):
    path = "/api"
    tags = ["registration"]

    @post("/periods/{period_id:int}/applications", operation_id="register")
    async def register(self, db_session: Session, data: JSONBody[schemas.ApplicationCreate], period_id: PeriodId,
                       idempotency_key: IdempotencyKey = None) -> schemas.ApplicationOut:
        """Register a child with a path and ranked school choices; distances are computed here."""
        return await service.register(db_session, period_id, data, idempotency_key=idempotency_key)

    @get("/applications/{registration_number:str}", operation_id="readApplication")
    async def read(self, db_session: Session, registration_number: RegistrationNumber,
                   access_token: AccessToken = None) -> schemas.ApplicationOut:
        """Read an application back, with the distances the server computed."""
        application = await service.authorize(db_session, registration_number, access_token)
        return await service.read(db_session, application.registration_number)

    @patch("/applications/{registration_number:str}", operation_id="changeApplication")
    async def change(self, db_session: Session, registration_number: RegistrationNumber, data: JSONBody[schemas.ApplicationUpdate],
                     access_token: AccessToken = None) -> schemas.ApplicationOut:
        """Change an application while registration is open; every rule is checked again."""
        return await service.change(db_session, registration_number, access_token, data)

    @post("/applications/{registration_number:str}/withdraw", operation_id="withdrawApplication", status_code=200)
    async def withdraw(self, db_session: Session, registration_number: RegistrationNumber,
                       access_token: AccessToken = None) -> schemas.ApplicationOut:
        """Withdraw (cabut berkas) while registration is open."""
        return await service.withdraw(db_session, registration_number, access_token)

    @put("/applications/{registration_number:str}/documents/{kind:str}", operation_id="uploadDocument",
         request_max_body_size=20 * 1024 * 1024)
    async def upload(self, db_session: Session, state: State, request: Request,
                     registration_number: RegistrationNumber, kind: Annotated[str, PathParameter(max_length=40)],
                     access_token: AccessToken = None) -> schemas.DocumentOut:
        """Upload a document (PDF, JPEG or PNG, checked by content) while registration is open; replaces the kind."""
        application = await service.authorize(db_session, registration_number, access_token, for_update=True)
        accepting_registrations(await get_period(db_session, application.period_id))
        settings = state.settings
        return await documents.store(db_session, application, kind, await request.body(),
                                     data_dir=settings.data_path, max_bytes=settings.max_upload_bytes)
