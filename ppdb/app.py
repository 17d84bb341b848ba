"""create_app(): the one place where the application is assembled."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Iterator
from contextlib import asynccontextmanager

import msgspec
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Schema

from ppdb.accounts.controllers import AuthController, OperatorController
from ppdb.accounts.middleware import AuthMiddleware
from ppdb.applicants.controllers import ApplicationController
from ppdb.audit.controllers import AuditController
from ppdb.complaints.controllers import ComplaintController
from ppdb.config import Settings, load_settings
from ppdb.db.migrate import ensure_migrated
from ppdb.db.session import make_engine, make_sessionmaker, provide_read_session, provide_session
from ppdb.errors import EXCEPTION_HANDLERS, document_errors
from ppdb.health import health
from ppdb.logs import RequestIdMiddleware, configure
from ppdb.metrics import MetricsMiddleware, metrics
from ppdb.regions.controllers import PeriodController, PresetController, RegionController, TemplateController
from ppdb.reports.controllers import ReportController
from ppdb.reregistration.controllers import ReregistrationController
from ppdb.results.controllers import ResultsController
from ppdb.runtime import Runtime, provide_runtime
from ppdb.schools.controllers import SchoolController
from ppdb.scores.controllers import ScoreController
from ppdb.security import add_security_headers, json_bodies_only
from ppdb.selection.controllers import ExplanationController, SelectionController
from ppdb.shedding import LoadShedding
from ppdb.verification.controllers import VerificationController
from ppdb.web import CSRFMiddleware, routers, template_config
from ppdb.worker import loop as background_loop

log = logging.getLogger("ppdb")


class StartupError(SystemExit):
    """Start-up refused, with a message saying what to do."""


# The API docs page (/schema) runs Swagger UI from this site's own npm assets (ppdb/web/package.json), pinned by
# the lock file: no script from a CDN on the origin of the staff pages (security review L7). JSON: /schema/openapi.json.
_VENDOR = "/static/vendor/swagger-ui-dist"
API_DOCS = SwaggerRenderPlugin(
    js_url=f"{_VENDOR}/swagger-ui-bundle.js",
    css_url=f"{_VENDOR}/swagger-ui.css",
    standalone_preset_js_url=f"{_VENDOR}/swagger-ui-standalone-preset.js",
    path=["/", "/swagger"],
    favicon="<link rel='icon' href='data:,'>",
)


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or load_settings()
    if reason := settings.insecure_reason():
        raise StartupError(reason)
    configure(logging.DEBUG if settings.debug else logging.INFO)
    if not settings.database_url:
        raise StartupError(
            "PPDB_DATABASE_URL is not set: start the service with `ppdb serve` (embedded PostgreSQL) "
            "or set it to your PostgreSQL server."
        )

    @asynccontextmanager
    async def database(app: Litestar) -> AsyncGenerator[None, None]:
        url = settings.database_url
        assert url is not None  # checked above
        pool_size, max_overflow, pool_timeout = (
            settings.db_pool_size,
            settings.db_max_overflow,
            settings.db_pool_timeout,
        )
        engine = make_engine(url, pool_size=pool_size, max_overflow=max_overflow, pool_timeout=pool_timeout)
        read_engine = make_engine(
            settings.read_database_url or url,
            read_only=True,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
        )
        try:
            await ensure_migrated(engine)
            app.state.engine = engine
            app.state.sessionmaker = make_sessionmaker(engine)
            app.state.read_sessionmaker = make_sessionmaker(read_engine)
            worker = None
            if settings.provisional_interval > 0:
                worker = asyncio.create_task(
                    background_loop(app.state.sessionmaker, settings, interval=settings.provisional_interval)
                )
            yield
            if worker is not None:
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
        finally:
            app.state.runtime.passwords.close()
            await engine.dispose()
            await read_engine.dispose()

    app = Litestar(
        route_handlers=[
            health,
            metrics,
            AuthController,
            OperatorController,
            PresetController,
            TemplateController,
            PeriodController,
            RegionController,
            SchoolController,
            ScoreController,
            ApplicationController,
            SelectionController,
            ExplanationController,
            VerificationController,
            ResultsController,
            ReregistrationController,
            ComplaintController,
            ReportController,
            AuditController,
            *routers(),
        ],
        middleware=[
            MetricsMiddleware(),
            LoadShedding(settings.max_in_flight, settings.body_timeout),
            RequestIdMiddleware(),
            AuthMiddleware(),
            CSRFMiddleware(),
        ],
        before_send=[add_security_headers],
        before_request=json_bodies_only,
        dependencies={
            "db_session": Provide(provide_session),
            "read_session": Provide(provide_read_session),
            "runtime": Provide(provide_runtime, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]  # errors.py's handlers, typed there
        lifespan=[database],
        openapi_config=OpenAPIConfig(
            title="PPDB API",
            version="0.1.0",
            description="Penerimaan Peserta Didik Baru / SPMB: registration, selection and results.",
            render_plugins=[API_DOCS],
        ),
        template_config=template_config(),
        debug=settings.debug,
        logging_config=None,  # logs.configure(): JSON lines, not Litestar's plain-text default
        state=State({"settings": settings, "runtime": Runtime()}),
    )
    document_errors(h for route in app.routes for h in getattr(route, "route_handlers", ()))
    closed_objects(app)
    return app


def _structs(cls: type[msgspec.Struct]) -> Iterator[type[msgspec.Struct]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _structs(sub)


def closed_objects(app: Litestar) -> None:
    """Bodies that refuse unknown fields (`forbid_unknown_fields`) say so in the OpenAPI schema
    (`additionalProperties: false`), so a client generated from it never sends one."""
    structs = [s for s in _structs(msgspec.Struct) if s.__module__.startswith("ppdb.")]
    closed = {s.__name__ for s in structs if s.__struct_config__.forbid_unknown_fields}
    closed -= {s.__name__ for s in structs if not s.__struct_config__.forbid_unknown_fields}  # a name used twice
    components = app.openapi_schema.components
    for schema in (components.schemas or {}).values() if components else ():
        if isinstance(schema, Schema) and schema.title in closed:
            schema.additional_properties = False
