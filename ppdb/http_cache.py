"""Conditional responses for public data that only changes on a publication or a provisional re-solve.

The content is keyed by what identifies it (a run's or a publication's digest), so a worker builds it once
and every refresh after that is a dictionary lookup; a client or CDN holding the ETag gets a bodiless 304.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, Response


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
    """304 when the client already has `tag`; else the content built once per app for that tag (kept in the
    app's runtime, `Runtime.built`)."""
    headers = {"ETag": tag, "Cache-Control": f"public, max-age={max_age}"}
    if tag in (t.strip() for t in request.headers.get("if-none-match", "").split(",")):
        return Response(b"", status_code=304, headers=headers)
    built = request.app.state.runtime.built
    content = built.get(tag)
    if content is None:
        content = built[tag] = await build()
    return Response(content, headers=headers, media_type=media_type)
