"""Conditional responses: public data that only changes on a publication or a provisional re-solve, and pages.

Public data is keyed by what identifies it (a run's or a publication's digest), so a worker builds it once
and every refresh after that is a dictionary lookup; a client or CDN holding the ETag gets a bodiless 304.
A page's ETag is its body's hash (`PageETags`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, Response
from litestar.datastructures import Headers
from litestar.middleware import ASGIMiddleware
from litestar.serialization import encode_json
from litestar.types import ASGIApp, HTTPResponseStartEvent, Message, Receive, Scope, Send


def etag(*parts: object) -> str:
    return '"' + hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:32] + '"'


async def respond(
    request: Request,
    tag: str,
    build: Callable[[], Awaitable[Any]],
    *,
    max_age: int,
    media_type: str = "application/json",
) -> Response[Any]:
    """304 when the client already has `tag`; else the content built and encoded once per app for that tag
    (kept in the app's runtime, `Runtime.built`)."""
    headers = {"ETag": tag, "Cache-Control": f"public, max-age={max_age}"}
    if tag in (t.strip() for t in request.headers.get("if-none-match", "").split(",")):
        return Response(b"", status_code=304, headers=headers)
    built = request.app.state.runtime.built
    content = built.get(tag)
    if content is None:
        content = await build()
        content = built[tag] = content if isinstance(content, bytes) else encode_json(content)
    return Response(content, headers=headers, media_type=media_type)


class PageETags(ASGIMiddleware):
    """A page fetched again unchanged is answered 304 without its body: the ETag is the body's hash.

    A page is the same for a visitor until its data changes (the CSRF token in its forms is the session's), so a
    reload or a back-and-forth on a slow phone costs headers only. `no-cache`: every visit still asks, so a
    change (a new rank, a decision) shows at once; `private`: pages may name the visitor."""

    scopes = ("http",)  # type: ignore[assignment]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope["method"] != "GET":  # type: ignore[typeddict-item]  # an http scope
            await next_app(scope, receive, send)
            return
        start: HTTPResponseStartEvent | None = None
        body: list[bytes] = []

        async def buffered(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                if message["status"] != 200 or not _cacheable(message):
                    await send(message)  # an error, a redirect, a file, a page never to keep: as it is
                    return
                start = message
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            content = b"".join(body)
            tag = '"' + hashlib.sha256(_stable(start, content)).hexdigest()[:32] + '"'
            headers = [*start.get("headers", []), (b"etag", tag.encode()), *CACHING]
            asked = Headers.from_scope(scope).get("if-none-match", "")
            if tag in (t.strip() for t in asked.split(",")):
                kept = [(n, v) for n, v in headers if n.lower() not in UNSENT]
                await send({"type": "http.response.start", "status": 304, "headers": kept})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": content, "more_body": False})

        await next_app(scope, receive, buffered)


CACHING = [(b"cache-control", b"private, no-cache"), (b"vary", b"HX-Request")]
UNSENT = {b"content-length", b"content-type", b"content-encoding"}
"""Headers a 304 leaves out (it has no body)."""


def _stable(start: HTTPResponseStartEvent, content: bytes) -> bytes:
    """The body without what changes on every response of the same page: a gzip member's modification time
    (header bytes 4-7, RFC 1952; Litestar's gzip writes the current time there)."""
    encoding = next((v for n, v in start.get("headers", []) if n.lower() == b"content-encoding"), None)
    if encoding == b"gzip" and content[:2] == b"\x1f\x8b":
        return content[:4] + content[8:]
    return content


def _cacheable(start: HTTPResponseStartEvent) -> bool:
    """HTML whose handler said nothing of caching (a walk-in registration's pages say `no-store`)."""
    headers = {n.lower(): v for n, v in start.get("headers", [])}
    return headers.get(b"content-type", b"").startswith(b"text/html") and b"cache-control" not in headers
