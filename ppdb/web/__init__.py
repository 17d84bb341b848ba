"""Server-rendered pages (Jinja2, htmx where it saves a reload) on top of the domain services."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from litestar import Router
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig
from litestar.types import ControllerRouterHandler, ExceptionHandlersMap

from ppdb.http_cache import PageETags
from ppdb.web import assets
from ppdb.web.csrf import CSRFMiddleware, check_form

HERE = Path(__file__).parent


def template_config() -> TemplateConfig:
    return TemplateConfig(directory=HERE / "templates", engine=JinjaTemplateEngine)


def routers() -> list[ControllerRouterHandler]:
    from ppdb.web.accounts import AccountPages
    from ppdb.web.agency import AgencyPages
    from ppdb.web.common import PAGE_EXCEPTION_HANDLERS
    from ppdb.web.complaints import ComplaintPages
    from ppdb.web.parents import ParentPages
    from ppdb.web.public import PublicPages
    from ppdb.web.schools import SchoolPages

    pages = Router(
        path="/",
        route_handlers=[PublicPages, AccountPages, ParentPages, SchoolPages, AgencyPages, ComplaintPages],
        before_request=check_form,
        middleware=[PageETags()],
        exception_handlers=cast(ExceptionHandlersMap, PAGE_EXCEPTION_HANDLERS),  # handlers of subclasses
        include_in_schema=False,
    )
    return [pages, assets.serve]


__all__ = ["CSRFMiddleware", "routers", "template_config"]
