"""School and zone import (CSV) and the public school list."""

from __future__ import annotations

from litestar import Controller, Request, get, post

from ppdb.accounts.guards import requires_agency_admin
from ppdb.params import PeriodId, ReadSession, Session
from ppdb.schools import schemas, service

CSV_LIMIT = 10 * 1024 * 1024


async def csv_text(request: Request) -> str:
    return service.decode_csv(await request.body())


class SchoolController(Controller):
    path = "/api/periods/{period_id:int}"

    @post(
        "/schools/import",
        operation_id="importSchools",
        tags=["agency"],
        status_code=200,
        request_max_body_size=CSV_LIMIT,
        guards=[requires_agency_admin],
    )
    async def import_schools(self, request: Request, db_session: Session, period_id: PeriodId) -> schemas.ImportResult:
        """Import schools from CSV (npsn,name,level,latitude,longitude,capacity[,kelurahan_code]); all rows or none."""
        return await service.import_schools(db_session, period_id, await csv_text(request), request.user)

    @post(
        "/zones/import",
        operation_id="importZones",
        tags=["agency"],
        status_code=200,
        request_max_body_size=CSV_LIMIT,
        guards=[requires_agency_admin],
    )
    async def import_zones(self, request: Request, db_session: Session, period_id: PeriodId) -> schemas.ImportResult:
        """Import zones from CSV (npsn,kelurahan_code,radius_m,priority[,rw,rt]); replaces the zones of the schools
        listed. An RW (and an RT of it) narrows a kelurahan row to that neighbourhood, for a finer tier."""
        return await service.import_zones(db_session, period_id, await csv_text(request), request.user)

    @post(
        "/programs/import",
        operation_id="importPrograms",
        tags=["agency"],
        status_code=200,
        request_max_body_size=CSV_LIMIT,
        guards=[requires_agency_admin],
    )
    async def import_programs(self, request: Request, db_session: Session, period_id: PeriodId) -> schemas.ImportResult:
        """Import SMK programs (kompetensi keahlian) from CSV (npsn,code,name,capacity[,requirements,partner]);
        replaces the programs of the schools listed, whose capacity becomes their programs' sum. `requirements`:
        names from the rules' `programs.requirements`, separated by `;`; `partner`: a kelas industri's partner."""
        return await service.import_programs(db_session, period_id, await csv_text(request), request.user)

    @get("/schools", operation_id="listSchools", tags=["public"])
    async def list(self, read_session: ReadSession, period_id: PeriodId) -> list[schemas.SchoolOut]:
        """Schools of a period with capacity and seats per path."""
        return await service.list_schools(read_session, period_id)
