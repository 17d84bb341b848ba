"""create_app(): the one place where the application is assembled."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

import msgspec
from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Reference, RequestBody, Schema
from litestar.openapi.spec.base import BaseSchemaObject
from litestar.routes import HTTPRoute

from ppdb.accounts.controllers import AuthController, OperatorController
from ppdb.accounts.middleware import AuthMiddleware
from ppdb.applicants.controllers import ApplicationController
from ppdb.audit.controllers import AuditController
from ppdb.complaints.controllers import ComplaintController
from ppdb.config import Settings, load_settings
from ppdb.db.migrate import ensure_migrated
from ppdb.db.session import make_engine, make_sessionmaker, mark_writes, provide_read_session, provide_session
from ppdb.errors import EXCEPTION_HANDLERS, document_errors
from ppdb.health import health, live
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
            fallback=url if settings.read_database_url else None,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
        )
        try:
            await ensure_migrated(engine)
            app.state.engine, app.state.read_engine = engine, read_engine
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
            live,
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
        before_send=[add_security_headers, mark_writes],
        # Pages compressed for phones on slow networks (a rank list's HTML: 23 -> 3 KB); the API is left alone
        # (its hot answers are small and every byte of CPU counts there), static files come compressed already.
        compression_config=CompressionConfig(
            backend="brotli",
            brotli_quality=4,
            minimum_size=1024,
            exclude=["^/api/", "^/static/", "^/health", "^/metrics"],
            exclude_opt_key="files",  # uploads and PDFs (`web.common.FILES`)
        ),
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
    exact_bodies(app)
    app.state.allowed = {  # every method of each address, for OPTIONS (`security.add_security_headers`)
        route.path_format: ", ".join(sorted(route.methods)).encode()
        for route in app.routes
        if isinstance(route, HTTPRoute)
    }
    return app


def _structs(cls: type[msgspec.Struct]) -> Iterator[type[msgspec.Struct]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _structs(sub)


@dataclass
class _Described(BaseSchemaObject):
    """A component as msgspec describes it (already the JSON of the schema)."""

    described: dict[str, Any]

    def to_schema(self) -> dict[str, Any]:
        return self.described


def exact_bodies(app: Litestar) -> None:
    """Request bodies in the OpenAPI schema as msgspec itself validates them. Litestar's own description of a
    msgspec body drops the bounds inside lists, dicts and `| UNSET` unions (a NIK list's pattern, a rules
    change's ranges), so a client built from it would send what the server refuses; msgspec's also says that
    a body refuses unknown fields (`additionalProperties: false`)."""
    by_name: dict[str, list[type[msgspec.Struct]]] = {}
    for struct in _structs(msgspec.Struct):
        if struct.__module__.startswith("ppdb."):
            by_name.setdefault(struct.__name__, []).append(struct)
    openapi = app.openapi_schema
    refs = {
        operation.request_body.content["application/json"].schema.ref.rsplit("/", 1)[1]
        for item in (openapi.paths or {}).values()
        for operation in (item.get, item.put, item.post, item.patch, item.delete)
        if operation is not None
        and isinstance(operation.request_body, RequestBody)
        and "application/json" in operation.request_body.content
        and isinstance(operation.request_body.content["application/json"].schema, Reference)
    }
    bodies = [by_name[name][0] for name in sorted(refs) if len(by_name.get(name, ())) == 1]
    _, described = msgspec.json.schema_components(bodies, ref_template="#/components/schemas/{name}")
    assert openapi.components is not None and openapi.components.schemas is not None
    for name, schema in described.items():
        openapi.components.schemas[name] = cast(Schema, _Described(schema))
