"""Resolves the caller (bearer token or session cookie) before routing, so guards can read `connection.user`."""

from __future__ import annotations

from datetime import timedelta

from litestar.datastructures import Cookie
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from ppdb.accounts.service import cached_principal, principal_for
from ppdb.db.session import bind_of

COOKIE = "ppdb_session"


def cookie_name(name: str, *, secure: bool) -> str:
    """A cookie's name: a Secure one with the `__Host-` prefix, which a browser accepts only from this very host
    over HTTPS, so a sibling site cannot plant one (a session of its own, a CSRF token)."""
    return f"__Host-{name}" if secure else name


def is_demo(scope: Scope) -> bool:
    return bool(scope["litestar_app"].state.settings.demo)


def token_from(scope: Scope) -> str | None:
    """The bearer token, else the session cookie (read from the raw headers: this runs on every request). Every
    Cookie header counts, in order, the first of a name winning, as the CSRF check reads them (`web.csrf`)."""
    wanted = cookie_name(COOKIE, secure=not is_demo(scope))
    cookies = []
    for name, value in scope["headers"]:
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            return value[7:].strip().decode("latin-1") or None
        if name == b"cookie":
            cookies.append(value)
    for part in b";".join(cookies).decode("latin-1").split(";"):
        key, _, found = part.strip().partition("=")
        if key == wanted:
            return found or None
    return None


class AuthMiddleware(ASGIMiddleware):
    scopes = ("http",)  # type: ignore[assignment]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        token = token_from(scope)
        scope["user"] = None
        if token is not None and len(token) <= 100:
            state = scope["litestar_app"].state
            scope["user"] = cached_principal(state.runtime.principals, token)
            if scope["user"] is None:
                scope["user"] = await principal_for(bind_of(state.sessionmaker), token, state.runtime.principals)
        await next_app(scope, receive, send)


def session_cookie(token: str, lifetime: timedelta, *, demo: bool) -> Cookie:
    """The session for pages: HTTP-only, same-site, secure except in a local demo (plain http); an empty token
    with no lifetime ends it."""
    return Cookie(
        key=cookie_name(COOKIE, secure=not demo),
        value=token,
        httponly=True,
        secure=not demo,
        samesite="lax",
        max_age=int(lifetime.total_seconds()),
        path="/",
    )
