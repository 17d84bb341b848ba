"""Selection API: start a run, read results and cut-offs, replay the input, explain a decision."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.openapi import ResponseSpec
from litestar.params import JSONBody

from ppdb import flows
from ppdb.accounts.guards import requires_agency_admin, requires_login
from ppdb.db.session import bind_of, reads
from ppdb.http_cache import etag, respond
from ppdb.params import PeriodId, ReadSession, RegistrationNumber, RunId, Session
from ppdb.runtime import AppRuntime
from ppdb.selection import engine, schemas, service
from ppdb.selection.models import SelectionRun


class SelectionController(Controller):
    path = "/api/periods/{period_id:int}/selection-runs"
    tags = ["selection"]

    @post("/", operation_id="runSelection", guards=[requires_agency_admin])
    async def start(self, db_session: Session, state: State, request: Request, period_id: PeriodId) -> schemas.RunOut:
        """Run the official selection now: load, compile, solve and store in one transaction (one at a time)."""
        selection_run = await flows.run_official(db_session, period_id, request.user, secret=state.settings.secret_key)
        return service.run_out(selection_run, await service.outcomes(db_session, selection_run.id))

    @post("/correction", operation_id="correctionRun", guards=[requires_agency_admin])
    async def correct(self, db_session: Session, state: State, request: Request, period_id: PeriodId) -> schemas.RunOut:
        """After an announcement: solve the announced round again from the data as corrected since (upheld
        complaints' corrections); confirmed seats stay. Publish it as the round's next version, with a reason."""
        selection_run = await flows.correction_run(
            db_session, period_id, request.user, secret=state.settings.secret_key
        )
        return service.run_out(selection_run, await service.outcomes(db_session, selection_run.id))

    @get("/latest", operation_id="latestSelection")
    async def latest(self, request: Request, period_id: PeriodId) -> Response[schemas.RunOut]:
        """What the public may see: the provisional run while registration is open, afterwards the published
        run; every program's capacity, seats after transfers, fill and cut-off (no lottery, age in months).
        Refreshed all day: answered from the worker's cache, with an ETag, until the run changes."""
        sessions = reads(request)
        run_id, digest = await service.public_run(bind_of(sessions), period_id)

        async def build() -> schemas.RunOut:
            async with sessions() as session:
                selection_run = await session.get(SelectionRun, run_id)
                if selection_run is None:  # a provisional run replaced and deleted since it was found
                    raise service.no_run()
                return service.run_out(selection_run, await service.outcomes(session, run_id), public=True)

        return await respond(request, etag("run", run_id, digest), build, max_age=5)

    @post("/what-if", operation_id="whatIf", status_code=200, guards=[requires_agency_admin])
    async def what_if(
        self,
        db_session: Session,
        state: State,
        request: Request,
        period_id: PeriodId,
        data: JSONBody[schemas.WhatIfRequest],
    ) -> schemas.WhatIfOut:
        """Compare a rule variant (preset, quotas, transfer order, mechanism) on the current pool; nothing is saved."""
        return await service.what_if(db_session, period_id, data, request.user, secret=state.settings.secret_key)

    @get(
        "/{run_id:int}/instance",
        operation_id="selectionInstance",
        media_type="application/json",
        responses={200: ResponseSpec(engine.Instance, description="The engine instance (docs/selection-engine.md)")},
    )
    async def instance(
        self, read_session: ReadSession, request: Request, period_id: PeriodId, run_id: RunId
    ) -> Response[bytes]:
        """A run's engine input with opaque ids and keys as ranks: replay it with `ppdb selection solve`."""
        selection_run = await service.get_run(read_session, period_id, run_id)
        response = await respond(
            request,
            etag("instance", run_id, selection_run.instance_sha256),
            lambda: service.public_instance(read_session, selection_run),
            max_age=3600,
        )
        response.headers.update(
            {"X-Instance-SHA256": selection_run.instance_sha256, "X-Result-Digest": selection_run.digest}
        )
        return response


class ExplanationController(Controller):
    path = "/api/applications/{registration_number:str}"
    tags = ["registration"]

    @get("/status", operation_id="applicationStatus", guards=[requires_login])
    async def status(
        self, state: State, runtime: AppRuntime, request: Request, registration_number: RegistrationNumber
    ) -> schemas.Explanation:
        """Provisional or final placement, position and cut-off at each choice, a warning when all are at risk,
        and why: each choice's outcome with the applicant's own values beside the cut-off."""
        return await service.status(
            runtime, reads(request), registration_number, request.user, primary=state.sessionmaker
        )
