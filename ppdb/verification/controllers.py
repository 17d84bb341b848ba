"""Verification API for school operators and the agency."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, post, put
from litestar.params import JSONBody, PathParameter, QueryParameter

from ppdb.accounts.guards import requires_agency_admin, requires_staff
from ppdb.applicants.schemas import ChoiceOut, DocumentOut
from ppdb.params import MAX_ID, RegistrationNumber, Session
from ppdb.verification import schemas, service

Npsn = Annotated[str, PathParameter(pattern=r"^[0-9]{8}$", description="NPSN of the school")]
Kind = Annotated[str, PathParameter(max_length=40)]


class VerificationController(Controller):
    path = "/api"
    tags = ["verification"]
    guards = [requires_staff]

    @get("/schools/{npsn:str}/applicants", operation_id="schoolApplicants")
    async def applicants(
        self,
        db_session: Session,
        request: Request,
        npsn: Npsn,
        period_id: Annotated[int, QueryParameter(ge=1, le=MAX_ID)],
        flag: Annotated[schemas.Flag | None, QueryParameter()] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200,
        offset: Annotated[int, QueryParameter(ge=0, le=MAX_ID)] = 0,
    ) -> list[schemas.ApplicantRow]:
        """Applicants who chose this school, by choice rank and distance, with documents and fraud flags
        (optionally only one flag); a page of `limit` from `offset`."""
        listed = await service.applicants_of(
            db_session, npsn, period_id, request.user, flag, limit=limit, offset=offset
        )
        return listed.rows

    @post(
        "/applications/{registration_number:str}/documents/{kind:str}/decision",
        operation_id="decideDocument",
        status_code=200,
    )
    async def decide(
        self,
        db_session: Session,
        request: Request,
        registration_number: RegistrationNumber,
        kind: Kind,
        data: JSONBody[schemas.DocumentDecision],
    ) -> DocumentOut:
        """Verify or reject (with a reason) one document."""
        return await service.decide_document(db_session, registration_number, kind, request.user, data)

    @put("/applications/{registration_number:str}/program-check", operation_id="checkProgram")
    async def check_program(
        self,
        db_session: Session,
        request: Request,
        registration_number: RegistrationNumber,
        data: JSONBody[schemas.ProgramCheck],
    ) -> ChoiceOut:
        """Record the school's finding on the requirements of an SMK program the child chose (`program`:
        `NPSN/KODE`; colour blindness, height, health, a partner's test). It stays with the child and the
        program for the whole admission: a choice of it takes no part in a selection; none unmet clears it."""
        return await service.check_program(db_session, registration_number, request.user, data)

    @put("/applications/{registration_number:str}/certificate", operation_id="awardCertificate")
    async def award_certificate(
        self,
        db_session: Session,
        request: Request,
        registration_number: RegistrationNumber,
        data: JSONBody[schemas.CertificateCheck],
    ) -> schemas.CertificateOut:
        """Verify the uploaded competition certificate by what it says (level, rank, date, number); its points come
        from the region's table, and count in the path's score while this file stays verified."""
        return await service.award_certificate(db_session, registration_number, request.user, data)

    @post("/applications/{registration_number:str}/coordinate/verify", operation_id="verifyCoordinate", status_code=204)
    async def verify_coordinate(
        self, db_session: Session, request: Request, registration_number: RegistrationNumber
    ) -> None:
        """Confirm the home coordinate; it is locked from then on."""
        await service.verify_coordinate(db_session, registration_number, request.user)

    @put(
        "/applications/{registration_number:str}/coordinate",
        operation_id="correctCoordinate",
        status_code=204,
        guards=[requires_agency_admin],
    )
    async def correct_coordinate(
        self,
        db_session: Session,
        request: Request,
        registration_number: RegistrationNumber,
        data: JSONBody[schemas.CoordinateCorrection],
    ) -> None:
        """Agency only: move a home coordinate (even a locked one), with a reason; distances are recomputed."""
        await service.correct_coordinate(db_session, registration_number, request.user, data)

    @post(
        "/applications/{registration_number:str}/disqualify",
        operation_id="disqualify",
        status_code=204,
        guards=[requires_agency_admin],
    )
    async def disqualify(
        self,
        db_session: Session,
        request: Request,
        registration_number: RegistrationNumber,
        data: JSONBody[schemas.Disqualification],
    ) -> None:
        """Agency only: disqualify with a reason; the next selection run promotes the next applicant."""
        await service.disqualify(db_session, registration_number, request.user, data)
