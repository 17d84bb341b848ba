"""Guards: small role checks that sit on routes; object scope (this region, this school) sits in services.

Guards are async: Litestar runs a sync guard in a thread pool, a thread hop on every request."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from ppdb.accounts.models import Role
from ppdb.authz import Principal
from ppdb.errors import Forbidden, Unauthenticated


def _user(connection: ASGIConnection) -> Principal:
    user = connection.scope.get("user")
    if user is None:
        raise Unauthenticated("login_required", "Silakan masuk terlebih dahulu.")
    return user


def _role(connection: ASGIConnection, *roles: Role) -> Principal:
    user = _user(connection)
    if user.role not in roles:
        raise Forbidden("forbidden", "Anda tidak berwenang melakukan ini.")
    return user


async def requires_login(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    _user(connection)


async def requires_agency_admin(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    _role(connection, Role.AGENCY_ADMIN)


async def requires_parent(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    _role(connection, Role.PARENT)


async def requires_staff(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Agency admins and school operators."""
    _role(connection, Role.AGENCY_ADMIN, Role.SCHOOL_OPERATOR)


async def requires_registrar(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Who registers a child: its parent, or a school operator for a family at the school (walk-in)."""
    _role(connection, Role.PARENT, Role.SCHOOL_OPERATOR)
