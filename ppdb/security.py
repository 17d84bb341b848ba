"""Security headers on every response, including errors raised before routing (a `before_send` hook)."""

from __future__ import annotations

from litestar.types import Message, Scope

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
PAGE_CSP = (
    b"content-security-policy",
    (
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: "
        b"https://tile.openstreetmap.org; connect-src 'self'; font-src 'self'; frame-ancestors 'none'; "
        b"base-uri 'none'; form-action 'self'"
    ),
)


async def add_security_headers(message: Message, scope: Scope) -> None:
    if message["type"] != "http.response.start":
        return
    path = scope["path"]
    if path.startswith("/schema"):
        extra = [*HEADERS, DOCS_CSP]
    else:
        extra = [*HEADERS, CSP if path.startswith(("/api/", "/health", "/metrics")) else PAGE_CSP]
    present = {name.lower() for name, _ in message.get("headers", [])}
    message["headers"] = [*message.get("headers", []), *(h for h in extra if h[0] not in present)]
