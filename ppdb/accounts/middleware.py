"""Resolves the caller (bearer token or session cookie) before routing, so guards can read `connection.user`."""
from __future__ import annotations

from litestar.datastructures import Headers
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from ppdb.accounts.service import cached_principal, principal_for

COOKIE = "ppdb_session"


def token_from(scope: Scope) -> str | None:
    headers = Headers.from_scope(scope)
    authorization = headers.get("authorization", "")
    if authorization[:7].lower() == "bearer ":
        return authorization[7:].strip() or None
    for part in headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE and value:
            return value
    return None


class AuthMiddleware(ASGIMiddleware):
    scopes = ("http",)  # type: ignore[assignment]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        token = token_from(scope)
        scope["user"] = None
        if token is not None and len(token) <= 100:
            scope["user"] = cached_principal(token)
            if scope["user"] is None:
                async with scope["litestar_app"].state.sessionmaker() as session:
                    scope["user"] = await principal_for(session, token)
        await next_app(scope, receive, send)
