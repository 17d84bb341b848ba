"""Agency set-up API: regions, presets, periods, rules, registration window."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, patch, post, put
from litestar.datastructures import State
from litestar.params import JSONBody, PathParameter, QueryParameter

from ppdb import flows
from ppdb.accounts.guards import requires_agency_admin
from ppdb.params import MAX_ID, PeriodId, ReadSession, Session
from ppdb.regions import juknis, schemas, service
from ppdb.regions.models import Level
from ppdb.regions.rules import PRESETS


class PresetController(Controller):
    path = "/api/presets"
    tags = ["public"]

    @get("/", operation_id="listPresets")
    async def list(
        self, level: Annotated[Level | None, QueryParameter(description="Only presets of this level")] = None
    ) -> list[schemas.PresetOut]:
        """National rule presets with their quota bounds, ranking keys and seat-transfer order."""
        return [service.preset_out(p) for (_, lvl), p in PRESETS.items() if level is None or lvl is level]


class TemplateController(Controller):
    path = "/api/templates"
    tags = ["public"]

    @get("/", operation_id="listTemplates")
    async def list(
        self, level: Annotated[Level | None, QueryParameter(description="Only templates of this level")] = None
    ) -> list[juknis.Template]:
        """Regions' juknis as rule files, each with its sources: load one into a draft period in one step."""
        return [t for t in juknis.templates().values() if level is None or t.level is level]


class PeriodController(Controller):
    path = "/api/periods"
    tags = ["agency"]

    @post("/", operation_id="createPeriod", guards=[requires_agency_admin])
    async def create(
        self, db_session: Session, request: Request, data: JSONBody[schemas.PeriodCreate]
    ) -> schemas.PeriodOut:
        """Create an admission period from a national preset, in the admin's region."""
        return service.to_out(await service.create_period(db_session, data, request.user))

    @get("/{period_id:int}", operation_id="getPeriod", tags=["public"])
    async def read(self, read_session: ReadSession, period_id: PeriodId) -> schemas.PeriodOut:
        """A period with its schedule, status and full rule set."""
        return service.to_out(await service.get_period(read_session, period_id))

    @patch("/{period_id:int}/rules", operation_id="updatePeriodRules", guards=[requires_agency_admin])
    async def update_rules(
        self, db_session: Session, request: Request, data: JSONBody[schemas.RulesUpdate], period_id: PeriodId
    ) -> schemas.PeriodOut:
        """Change quotas, mechanism, choices or transfer order; refused when a national bound is broken."""
        return service.to_out(await service.update_rules(db_session, period_id, data, request.user))

    @post(
        "/{period_id:int}/rules/template",
        operation_id="loadRulesTemplate",
        status_code=200,
        guards=[requires_agency_admin],
    )
    async def load_template(
        self, db_session: Session, request: Request, data: JSONBody[schemas.TemplateLoad], period_id: PeriodId
    ) -> schemas.PeriodOut:
        """Load a juknis template into the period: one rules change, checked, audited and versioned."""
        return service.to_out(await service.load_template(db_session, period_id, data, request.user))

    @post("/{period_id:int}/open", operation_id="openRegistration", status_code=200, guards=[requires_agency_admin])
    async def open(self, db_session: Session, request: Request, period_id: PeriodId) -> schemas.PeriodOut:
        """Open registration (the schedule still bounds when it is accepted)."""
        return service.to_out(await flows.open_registration(db_session, period_id, request.user))

    @post("/{period_id:int}/close", operation_id="closeRegistration", status_code=200, guards=[requires_agency_admin])
    async def close(self, db_session: Session, request: Request, period_id: PeriodId) -> schemas.PeriodOut:
        """Close registration."""
        return service.to_out(await flows.close_registration(db_session, period_id, request.user))

    @post("/{period_id:int}/next-stage", operation_id="startNextStage", guards=[requires_agency_admin])
    async def next_stage(
        self,
        db_session: Session,
        state: State,
        request: Request,
        period_id: PeriodId,
        data: JSONBody[schemas.NextStage],
    ) -> schemas.PeriodOut:
        """After this stage's daftar ulang is closed: the admission's next stage (`rules.stages`) as a period of
        its own, in draft, with the seats this stage left (all but those confirmed)."""
        started = await flows.next_stage(db_session, period_id, request.user, data, data_dir=state.settings.data_path)
        return service.to_out(started)


class RegionController(Controller):
    path = "/api/regions"
    tags = ["regions"]

    @get("/{region_id:int}/helpdesk", operation_id="getHelpdesk", tags=["public"])
    async def helpdesk(
        self, read_session: ReadSession, region_id: Annotated[int, PathParameter(ge=1, le=MAX_ID)]
    ) -> schemas.HelpdeskOut:
        """Where the region's families get help: contacts, WhatsApp, hours, its FAQ and the general one."""
        return await service.helpdesk(read_session, region_id)

    @put("/{region_id:int}/helpdesk", operation_id="updateHelpdesk", guards=[requires_agency_admin])
    async def set_helpdesk(
        self,
        db_session: Session,
        request: Request,
        region_id: Annotated[int, PathParameter(ge=1, le=MAX_ID)],
        data: JSONBody[schemas.Helpdesk],
    ) -> schemas.HelpdeskOut:
        """Agency only, its own region: the helpdesk details, replaced whole (audited)."""
        return await service.set_helpdesk(db_session, region_id, data, request.user)
