"""Liveness and database health."""

from __future__ import annotations

import msgspec
from litestar import Response, get
from litestar.datastructures import State
from sqlalchemy import text


class Health(msgspec.Struct):
    status: str
    database: str


@get("/health", operation_id="health", tags=["operations"])
async def health(state: State) -> Response[Health]:
    """200 when the service and its database answer, 503 otherwise."""
    try:
        async with state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        return Response(Health("degraded", "unavailable"), status_code=503)
    return Response(Health("ok", "ok"))
