"""Daftar ulang (parents and schools) and the agency's window and vacancy rounds."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Request, post
from litestar.params import JSONBody

from ppdb import flows
from ppdb.accounts.guards import requires_agency_admin, requires_login
from ppdb.params import PeriodId, RegistrationNumber, Session
from ppdb.reregistration import service
from ppdb.reregistration.models import Decision
from ppdb.selection import schemas as selection_schemas
from ppdb.selection import service as selection


class WindowOpen(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    closes_at: Annotated[datetime, msgspec.Meta(tz=True)]


class DecisionIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    decision: Literal["confirmed", "declined"]


class DecisionOut(msgspec.Struct, kw_only=True):
    registration_number: str
    decision: str


class ReleasedOut(msgspec.Struct, kw_only=True):
    released: int


class ReregistrationController(Controller):
    path = "/api"
    tags = ["reregistration"]

    @post(
        "/periods/{period_id:int}/reregistration/open",
        operation_id="openReregistration",
        status_code=204,
        guards=[requires_agency_admin],
    )
    async def open(
        self, db_session: Session, request: Request, period_id: PeriodId, data: JSONBody[WindowOpen]
    ) -> None:
        """Open daftar ulang for the published placements, until `closes_at`."""
        await flows.open_reregistration(db_session, period_id, request.user, data.closes_at)

    @post(
        "/periods/{period_id:int}/reregistration/close",
        operation_id="closeReregistration",
        status_code=200,
        guards=[requires_agency_admin],
    )
    async def close(self, db_session: Session, request: Request, period_id: PeriodId) -> ReleasedOut:
        """At the deadline: release every unconfirmed seat for the vacancy round."""
        return ReleasedOut(released=await flows.release_unclaimed(db_session, period_id, request.user))

    @post(
        "/applications/{registration_number:str}/reregistration",
        operation_id="reregister",
        status_code=200,
        guards=[requires_login],
    )
    async def decide(
        self, db_session: Session, request: Request, registration_number: RegistrationNumber, data: JSONBody[DecisionIn]
    ) -> DecisionOut:
        """Confirm or decline the published seat (the parent, or the placing school's operator); once only."""
        decision = await service.decide(db_session, registration_number, request.user, Decision(data.decision))
        return DecisionOut(registration_number=registration_number, decision=decision.value)

    @post("/periods/{period_id:int}/vacancy-rounds", operation_id="vacancyRound", guards=[requires_agency_admin])
    async def vacancy(self, db_session: Session, request: Request, period_id: PeriodId) -> selection_schemas.RunOut:
        """Fill released and declined seats from unplaced applicants; confirmed placements stay fixed."""
        done = await flows.vacancy_round(db_session, period_id, request.user)
        return selection.run_out(done, await selection.outcomes(db_session, done.id))
