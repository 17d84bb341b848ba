"""Complaints: filed by families and the public, followed by their complainants, decided by the Dinas."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter, JSONBody, PathParameter, QueryParameter

from ppdb.accounts.guards import requires_agency_admin, requires_login, requires_parent, requires_staff
from ppdb.applicants import documents
from ppdb.complaints import schemas, service
from ppdb.params import MAX_ID, PeriodId, Session, client_address

CaseNumber = Annotated[str, PathParameter(pattern=r"^ADU-[0-9A-Z]{8}$", description="Complaint, e.g. ADU-7K3M9Q2X")]


class ComplaintController(Controller):
    path = "/api"
    tags = ["complaints"]

    @post("/periods/{period_id:int}/complaints", operation_id="fileComplaint")
    async def file(
        self, db_session: Session, request: Request, period_id: PeriodId, data: JSONBody[schemas.ComplaintIn]
    ) -> schemas.ComplaintOut:
        """File a complaint: a parent about their own registration (`registration`, `verification`, `result`
        within the masa sanggah), anyone about a suspected fraud at a school (`fraud`; anonymous reports get a
        `code` to follow them, shown once)."""
        user = request.scope.get("user")
        return await service.file(db_session, period_id, data, user, address=client_address(request))

    @get("/periods/{period_id:int}/complaints", operation_id="listComplaints", guards=[requires_staff])
    async def of_period(
        self,
        db_session: Session,
        request: Request,
        period_id: PeriodId,
        status: Annotated[Literal["received", "in_review", "upheld", "rejected"] | None, QueryParameter()] = None,
    ) -> list[schemas.ComplaintRow]:
        """The period's cases the caller sees (the agency: all; a school: those about it or its applicants),
        open ones first, the nearest deadline first."""
        return await service.of_period(db_session, period_id, request.user, status)

    @get("/complaints", operation_id="myComplaints", guards=[requires_parent])
    async def mine(self, db_session: Session, request: Request) -> list[schemas.ComplaintOut]:
        """The signed-in parent's complaints, newest first."""
        return await service.mine(db_session, request.user)

    @get("/complaints/{number:str}", operation_id="readComplaint", guards=[requires_login])
    async def read(self, db_session: Session, request: Request, number: CaseNumber) -> schemas.ComplaintOut:
        """A case with its steps, evidence and corrections: its complainant, the agency, the schools concerned."""
        return await service.read(db_session, number, request.user)

    @post("/complaints/{number:str}/follow", operation_id="followComplaint", status_code=200)
    async def follow(
        self, db_session: Session, number: CaseNumber, data: JSONBody[schemas.Follow]
    ) -> schemas.ComplaintOut:
        """An anonymous report, by its number and the code given when it was filed."""
        return await service.follow(db_session, number, data.code)

    @post(
        "/complaints/{number:str}/files",
        operation_id="attachEvidence",
        request_max_body_size=20 * 1024 * 1024,
    )
    async def attach(
        self,
        db_session: Session,
        state: State,
        request: Request,
        number: CaseNumber,
        code: Annotated[str | None, HeaderParameter(name="X-Complaint-Code", max_length=20)] = None,
    ) -> schemas.EvidenceOut:
        """Attach an evidence file (PDF, JPEG or PNG, checked by content) while the case is open: its parent, or
        an anonymous reporter with the code (`X-Complaint-Code`)."""
        settings = state.settings
        if int(request.headers.get("content-length") or 0) > settings.max_upload_bytes:
            documents.refuse_size(settings.max_upload_bytes)
        return await service.attach(
            db_session,
            number,
            await request.body(),
            user=request.scope.get("user"),
            code=code,
            data_dir=settings.data_path,
            max_bytes=settings.max_upload_bytes,
        )

    @get(
        "/complaints/{number:str}/files/{file_id:int}",
        operation_id="downloadEvidence",
        guards=[requires_login],
        responses={
            200: ResponseSpec(
                bytes, media_type="*/*", generate_examples=False, description="The evidence file, as an attachment"
            )
        },
    )
    async def download(
        self,
        db_session: Session,
        state: State,
        request: Request,
        number: CaseNumber,
        file_id: Annotated[int, PathParameter(ge=1, le=MAX_ID)],
    ) -> Response[bytes]:
        """An evidence file: the complainant, the agency, the schools concerned (staff reads are audited)."""
        found = await service.evidence(db_session, number, file_id, request.user, data_dir=state.settings.data_path)
        return documents.serve(*found)

    @post(
        "/complaints/{number:str}/decision",
        operation_id="decideComplaint",
        status_code=200,
        guards=[requires_agency_admin],
    )
    async def move(
        self, db_session: Session, request: Request, number: CaseNumber, data: JSONBody[schemas.Move]
    ) -> schemas.ComplaintOut:
        """Review a case (`in_review`), or decide it (`upheld`, `rejected`) with a reason the complainant is sent;
        a fraud report may name the registration it turned out to be about."""
        return await service.move(db_session, number, request.user, data)
