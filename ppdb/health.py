"""Liveness (the process answers) and readiness (its databases answer), for a load balancer or an orchestrator."""

from __future__ import annotations

from typing import Literal

import msgspec
from litestar import Response, get
from litestar.datastructures import State
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

Reach = Literal["ok", "unavailable", "none"]


class Health(msgspec.Struct):
    status: Literal["ok", "degraded", "unavailable"]
    """`degraded`: the replica is out of reach and its reads go to the primary; the instance still serves."""
    primary: Reach
    replica: Reach
    """`none` when no replica is configured (reads go to the primary)."""


class Live(msgspec.Struct):
    status: Literal["ok"]


@get("/health", operation_id="health", tags=["operations"])
async def health(state: State) -> Response[Health]:
    """Readiness: 200 while the primary answers (`degraded` when the replica does not and reads fall back to the
    primary), 503 when the primary does not: route requests elsewhere."""
    primary = await _answers(state.engine)
    replica: Reach = "none"
    if state.settings.read_database_url:
        replica = "ok" if await _answers(state.read_engine, replica=True) == "ok" else "unavailable"
    if primary != "ok":
        return Response(Health("unavailable", primary, replica), status_code=503)
    return Response(Health("degraded" if replica == "unavailable" else "ok", primary, replica))


@get("/health/live", operation_id="liveness", tags=["operations"])
async def live() -> Live:
    """Liveness: the process answers requests (restart it when this fails); says nothing of the databases."""
    return Live("ok")


async def _answers(engine: AsyncEngine, *, replica: bool = False) -> Reach:
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            if replica and "fallback_since" in (await connection.get_raw_connection()).info:
                return "unavailable"  # the read pool is on the primary: the replica could not be reached
    except Exception:
        return "unavailable"
    return "ok"
