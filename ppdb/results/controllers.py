"""Publishing results (agency) and reading them (public): summary, per-school lists, lookup, snapshot, CSV."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.openapi import ResponseSpec
from litestar.params import JSONBody, PathParameter, QueryParameter

from ppdb import flows
from ppdb.accounts.guards import requires_agency_admin, requires_staff
from ppdb.authz import assert_region, school_of
from ppdb.db.session import bind_of, reads
from ppdb.errors import NotFound
from ppdb.http_cache import etag, respond
from ppdb.params import MAX_ID, PeriodId, ReadSession, Session, client_address
from ppdb.reports import statistics
from ppdb.results import schemas, service

Npsn = Annotated[str, PathParameter(pattern=r"^[0-9]{8}$", description="NPSN of the school")]


class ResultsController(Controller):
    path = "/api/periods/{period_id:int}"
    tags = ["results"]

    @post("/publications", operation_id="publishResults", guards=[requires_agency_admin])
    async def publish(
        self, db_session: Session, request: Request, period_id: PeriodId, data: JSONBody[schemas.PublishRequest]
    ) -> schemas.PublicationOut:
        """Publish the latest official run as an immutable snapshot; a correction is a new version with a reason."""
        return service.publication_out(await flows.publish(db_session, period_id, request.user, data))

    @get("/results", operation_id="resultsSummary")
    async def summary(self, request: Request, period_id: PeriodId) -> Response[schemas.SummaryOut]:
        """The latest publication: version, digest, and per school and path the seats, fill and cut-off."""
        sessions = reads(request)
        latest = await service.latest_key(bind_of(sessions), period_id)

        async def build() -> schemas.SummaryOut:
            async with sessions() as session:
                publication, snapshot = await service.published(session, latest.id)
            schools = [
                msgspec.structs.replace(s, paths=[msgspec.structs.replace(p, placed=[]) for p in s.paths])
                for s in snapshot.schools
            ]
            return schemas.SummaryOut(publication=service.publication_out(publication), schools=schools)

        return await respond(request, etag("summary", latest.id, latest.digest), build, max_age=60)

    @get("/results/schools/{npsn:str}", operation_id="schoolResults")
    async def school(self, request: Request, period_id: PeriodId, npsn: Npsn) -> Response[schemas.SchoolResult]:
        """One school's placed applicants per path, names and numbers masked, with each path's cut-off."""
        sessions = reads(request)
        latest = await service.latest_key(bind_of(sessions), period_id)

        async def build() -> schemas.SchoolResult:
            async with sessions() as session:
                _, snapshot = await service.published(session, latest.id)
            found = next((s for s in snapshot.schools if s.npsn == npsn), None)
            if found is None:
                raise NotFound("school_not_found", "Sekolah tidak ada dalam pengumuman ini.", "npsn")
            return found

        return await respond(request, etag("school", latest.id, latest.digest, npsn), build, max_age=60)

    @get("/results/lookup", operation_id="lookupResult")
    async def lookup(
        self,
        state: State,
        request: Request,
        period_id: PeriodId,
        registration_number: Annotated[str, QueryParameter(pattern=r"^[0-9A-Z-]{1,24}$")],
        birth_date: Annotated[date, QueryParameter(description="The child's birth date")],
    ) -> schemas.LookupOut:
        """A parent's result, by registration number and the child's birth date; too many misses for a number
        or from an address are refused for 15 minutes (429 `lookup_throttled`)."""
        return await service.lookup(
            state.sessionmaker, period_id, registration_number, birth_date, address=client_address(request)
        )

    @get("/publications", operation_id="listPublications")
    async def versions(self, read_session: ReadSession, period_id: PeriodId) -> list[schemas.PublicationOut]:
        """Every published version, newest first, with its reason and digest (a correction never replaces one)."""
        return await service.versions(read_session, period_id)

    @get(
        "/results/snapshot",
        operation_id="resultsSnapshot",
        media_type="application/json",
        responses={200: ResponseSpec(schemas.Snapshot, description="The published bytes its digest covers")},
    )
    async def snapshot(
        self,
        read_session: ReadSession,
        request: Request,
        period_id: PeriodId,
        version: Annotated[
            int | None, QueryParameter(ge=1, le=MAX_ID, description="A version; default the latest")
        ] = None,
    ) -> Response[bytes]:
        """The exact published bytes of a version (the latest by default); their SHA-256 is the `X-Digest` header
        and the published digest. A correction's snapshot lists who moved (`changes`)."""
        publication = await service.version(read_session, period_id, version)
        response = await respond(
            request,
            etag("snapshot", publication.id, publication.digest),
            lambda: service.snapshot_bytes(read_session, publication),
            max_age=60,
        )
        response.headers.update({"X-Digest": publication.digest, "X-Version": str(publication.version)})
        return response

    @get("/statistics", operation_id="periodStatistics", guards=[requires_agency_admin])
    async def statistics(self, db_session: Session, request: Request, period_id: PeriodId) -> statistics.Statistics:
        """Applicants per school and path, fill rates, cut-offs, unplaced counts, share of afirmasi placed."""
        period = await service.period_of(db_session, period_id)
        assert_region(request.user, period.region_id)
        return (await statistics.statistics(db_session, period)).totals

    @get(
        "/exports/placements.csv",
        operation_id="exportPlacements",
        guards=[requires_agency_admin],
        media_type="text/csv",
    )
    async def export_all(self, db_session: Session, request: Request, period_id: PeriodId) -> Response[str]:
        """Agency: every applicant's published outcome with full identity (the export itself is audited)."""
        period = await service.period_of(db_session, period_id)
        assert_region(request.user, period.region_id)
        return Response(await service.export_csv(db_session, period_id, request.user), media_type="text/csv")

    @get(
        "/exports/schools/{npsn:str}/placements.csv",
        operation_id="exportSchoolPlacements",
        guards=[requires_staff],
        media_type="text/csv",
    )
    async def export_school(
        self, db_session: Session, request: Request, period_id: PeriodId, npsn: Npsn
    ) -> Response[str]:
        """A school's placed applicants (its operator or the agency)."""
        school = await school_of(db_session, npsn, request.user)
        if (await service.period_of(db_session, period_id)).region_id != school.region_id:
            raise NotFound("period_not_found", "Periode tidak ditemukan.", "period_id")
        return Response(await service.export_csv(db_session, period_id, request.user, npsn), media_type="text/csv")
