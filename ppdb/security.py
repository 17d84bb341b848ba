"""Security headers on every response, including errors raised before routing (a `before_send` hook), and the
media type a JSON body must declare (a `before_request` hook)."""

from __future__ import annotations

from litestar import Request
from litestar.types import Message, Scope

from ppdb.errors import AppError
from ppdb.web.assets import PAGE_CSS_HASH

HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(self)"),
]
CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
# The API docs (/schema, Swagger UI): its scripts and styles from this site only; it starts with an inline script
# holding the schema, and draws with inline styles and data: images.
DOCS_CSP = (
    b"content-security-policy",
    (
        b"default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
        b"img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
)
# Pages (ppdb/web): self-hosted scripts and styles only, no inline script; map tiles from OpenStreetMap
# (offline the map hides itself and the coordinate fields remain).
# The pages' own style sheet is inlined (`web.assets.PAGE_CSS`), allowed by its hash only.
PAGE_CSP = (
    b"content-security-policy",
    (
        f"default-src 'none'; script-src 'self'; style-src 'self' '{PAGE_CSS_HASH}'; img-src 'self' data: "
        "https://tile.openstreetmap.org; connect-src 'self'; font-src 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'"
    ).encode(),
)


async def add_security_headers(message: Message, scope: Scope) -> None:
    if message["type"] != "http.response.start":
        return
    path = scope["path"]
    if path.startswith("/schema"):
        extra = [*HEADERS, DOCS_CSP]
    else:
        extra = [*HEADERS, CSP if path.startswith(("/api/", "/health", "/metrics")) else PAGE_CSP]
    headers = list(message.get("headers", []))
    if scope.get("method") == "OPTIONS" and message["status"] == 204:
        # Litestar's OPTIONS answer names the methods of the first handler class that declared the path only
        # (GET and PATCH of one address in two places: `Allow: OPTIONS, PATCH`); the route knows them all.
        allow = scope["litestar_app"].state.allowed.get(scope.get("path_template"))
        if allow is not None:
            headers = [(n, v) for n, v in headers if n.lower() != b"allow"] + [(b"allow", allow)]
    present = {name.lower() for name, _ in headers}
    message["headers"] = [*headers, *(h for h in extra if h[0] not in present)]


async def json_bodies_only(request: Request) -> None:
    """A route that reads a JSON body reads one that says it is JSON: `application/xml`, a form or plain text
    sent to it is refused (415) rather than parsed as JSON anyway. A request without a body needs no type."""
    if (
        request.method not in ("POST", "PUT", "PATCH")
        or "data" not in request.route_handler.parsed_fn_signature.parameters
    ):
        return
    headers = dict(request.scope["headers"])  # raw: the registration's hot path (Headers costs more)
    media = headers.get(b"content-type", b"").decode("latin-1").partition(";")[0].strip().lower()
    has_body = headers.get(b"content-length", b"0") != b"0" or b"transfer-encoding" in headers
    if (media or has_body) and media != "application/json" and not media.endswith("+json"):
        raise AppError(
            "unsupported_media_type",
            "Kirim data sebagai JSON dengan Content-Type: application/json.",
            "content-type",
            status_code=415,
        )
