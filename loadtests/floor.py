"""The floor: the least a Litestar + asyncpg service can do for one registration and one status read.

One insert (the registration body stored as JSONB) and one primary-key read, no auth, no validation
beyond msgspec decoding. Served the same way as PPDB (uvicorn, same worker count, same PostgreSQL), so
PPDB's figures can be read as a fraction of what the stack itself manages on the machine:

    PPDB_FLOOR_DSN=postgresql://... uvicorn --factory loadtests.floor:create_app --workers 2
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

import asyncpg
import msgspec
from litestar import Litestar, Request, get, post
from litestar.exceptions import NotFoundException

SCHEMA = """
CREATE TABLE IF NOT EXISTS floor_registrations (
    id bigserial PRIMARY KEY,
    nik text NOT NULL UNIQUE,
    body jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""


class Registration(msgspec.Struct):
    nik: str
    name: str
    choices: list[str]


class Stored(msgspec.Struct):
    id: int
    nik: str


@post("/floor/registrations")
async def insert(request: Request, data: Registration) -> Stored:
    body = await request.body()
    async with request.app.state.pool.acquire() as connection:
        row = await connection.fetchrow(
            "INSERT INTO floor_registrations (nik, body) VALUES ($1, $2::jsonb) RETURNING id", data.nik, body.decode()
        )
    return Stored(row["id"], data.nik)


@get("/floor/registrations/{registration_id:int}")
async def read(request: Request, registration_id: int) -> Stored:
    async with request.app.state.pool.acquire() as connection:
        row = await connection.fetchrow("SELECT id, nik FROM floor_registrations WHERE id = $1", registration_id)
    if row is None:
        raise NotFoundException()
    return Stored(row["id"], row["nik"])


def create_app() -> Litestar:
    dsn = os.environ["PPDB_FLOOR_DSN"]
    pool_size = int(os.environ.get("PPDB_DB_POOL_SIZE", "15"))

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
        app.state.pool = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size)
        try:
            async with app.state.pool.acquire() as connection:
                await connection.execute("SELECT pg_advisory_lock(4242)")  # workers start together
                await connection.execute(SCHEMA)
                await connection.execute("SELECT pg_advisory_unlock(4242)")
            yield
        finally:
            await app.state.pool.close()

    return Litestar([insert, read], lifespan=[lifespan])
