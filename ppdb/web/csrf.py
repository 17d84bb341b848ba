"""CSRF protection: a signed double-submit token for every cookie-authenticated unsafe request.

Pages put the token in a hidden `_csrf` field (htmx sends it as `X-CSRF-Token`); the API needs it only when a
request is authenticated by the session cookie alone. Bearer-token clients are not exposed to CSRF (a browser
never attaches the header by itself), so they need no token. The token is bound to the session it was issued
in: one planted in a browser (from a sibling site, say) is worthless without the victim's session, and signing
in or out issues a new one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any, cast
from urllib.parse import urlsplit

from litestar import Request, Response
from litestar.datastructures import Headers
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, HTTPResponseStartEvent, Message, Receive, Scope, Send

from ppdb.accounts.middleware import COOKIE as SESSION_COOKIE
from ppdb.accounts.middleware import cookie_name, is_demo

COOKIE = "ppdb_csrf"
HEADER = "x-csrf-token"
FIELD = "_csrf"
SAFE = {"GET", "HEAD", "OPTIONS", "TRACE"}
MESSAGE = "Formulir kedaluwarsa atau tidak sah (token CSRF). Muat ulang halaman lalu coba lagi."


def _sign(secret: str, nonce: str, session: str | None) -> str:
    message = f"csrf:{nonce}:{session or ''}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


def new_token(secret: str, session: str | None = None) -> str:
    """A token for the visitor's session (`session`: its cookie's value; None before signing in)."""
    nonce = secrets.token_urlsafe(18)
    return f"{nonce}.{_sign(secret, nonce, session)}"


def valid(secret: str, token: str | None, session: str | None = None) -> bool:
    """Whether `token` was issued by this server for this session (or for no session, with None)."""
    if not token or len(token) > 100 or "." not in token:
        return False
    nonce, _, signature = token.partition(".")
    return hmac.compare_digest(signature, _sign(secret, nonce, session))


def _cookies(headers: Headers) -> dict[str, str]:
    """Every Cookie header, in order, the first of a name winning: as authentication reads them
    (`accounts.middleware.token_from`), so a second header cannot carry a session past this check."""
    found: dict[str, str] = {}
    for part in ";".join(headers.getall("cookie", [])).split(";"):
        name, _, value = part.strip().partition("=")
        found.setdefault(name, value)
    return found


def _own(scope: Scope) -> dict[str, Any]:
    """The scope with this module's keys (`csrf_token`, `csrf_secret`, `csrf_cookie`), which ASGI's types lack."""
    return cast("dict[str, Any]", scope)


def matches(scope: Scope, submitted: str | None) -> bool:
    own = _own(scope)
    cookie = own.get("csrf_cookie")  # already checked against the session
    return bool(submitted and cookie and hmac.compare_digest(submitted, cookie))


def cross_site(headers: Headers) -> bool:
    """A browser names the page a write comes from; another site's page is refused outright (login CSRF too)."""
    origin = headers.get("origin")
    if not origin or origin == "null":
        return origin == "null"
    return urlsplit(origin).netloc != headers.get("host", "")


def is_page(path: str) -> bool:
    return not path.startswith(("/api/", "/schema", "/health", "/static/", "/metrics"))


class CSRFMiddleware(ASGIMiddleware):
    """Gives every visitor a token cookie and refuses cookie-authenticated API writes without the header.

    Page forms are checked by `check_form` (a before-request hook of the page router), which can read the body.
    """

    scopes = ("http",)  # type: ignore[assignment]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        own = _own(scope)
        if not is_page(scope["path"]) and any(
            name == b"authorization" and value[:7].lower() == b"bearer " for name, value in scope["headers"]
        ):
            own["csrf_token"] = None  # an API call with a bearer token: no cookie credential to forge
            await next_app(scope, receive, send)
            return
        secret = scope["litestar_app"].state.settings.secret_key
        headers = Headers.from_scope(scope)
        cookies = _cookies(headers)
        session = cookies.get(cookie_name(SESSION_COOKIE, secure=not is_demo(scope)))
        secure = scope.get("scheme") == "https"  # a Secure (and `__Host-`) cookie only where it comes back
        cookie = cookies.get(cookie_name(COOKIE, secure=secure))
        cookie = cookie if valid(secret, cookie, session) else None  # another session's token: a new one
        own["csrf_cookie"] = cookie
        page = is_page(scope["path"])
        own["csrf_token"] = cookie or (new_token(secret, session) if page else None)  # the API never renders one
        unsafe = own["method"] not in SAFE  # an http scope (see `scopes`)
        bearer = headers.get("authorization", "")[:7].lower() == "bearer "
        if (
            unsafe
            and not bearer
            and (cross_site(headers) or (not page and session is not None and not matches(scope, headers.get(HEADER))))
        ):
            body = json.dumps({"code": "csrf_failed", "message": MESSAGE, "field": FIELD}).encode()
            start: HTTPResponseStartEvent = {
                "type": "http.response.start",
                "status": 403,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
            await send(start)
            await send({"type": "http.response.body", "body": body, "more_body": False})
            return
        if cookie is None and page:
            # Secure (and `__Host-`) on HTTPS; the token alone is no credential (it must match the form and the
            # signature).
            set_cookie = (
                f"{cookie_name(COOKIE, secure=secure)}={own['csrf_token']}; Path=/; HttpOnly; SameSite=Lax"
                + ("; Secure" if secure else "")
            ).encode()

            async def send_with_cookie(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message.get("headers", []), (b"set-cookie", set_cookie)]
                await send(message)

            await next_app(scope, receive, send_with_cookie)
            return
        await next_app(scope, receive, send)


async def check_form(request: Request) -> Response | None:
    """Before-request hook for pages: an unsafe request must carry the token (form field or header)."""
    if request.method in SAFE:
        return None
    submitted = request.headers.get(HEADER)
    if submitted is None:
        submitted = (await request.form()).get(FIELD)
    if matches(request.scope, submitted if isinstance(submitted, str) else None):
        return None
    from ppdb.web.common import error_page

    return error_page(request, 403, MESSAGE)
