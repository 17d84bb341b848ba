"""Engine and the per-request session: one request, one transaction."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import msgspec
from litestar.datastructures import State
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def make_engine(
    url: str, *, pool_size: int = 15, max_overflow: int = 0, pool_timeout: float = 30.0, read_only: bool = False
) -> AsyncEngine:
    """`read_only`: statements autocommit (no BEGIN/COMMIT round trips), for the reads of `provide_read_session`."""
    # hide_parameters: a database error must never carry a child's NIK or address into the logs.
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        hide_parameters=True,
        json_serializer=json_text,
        **({"isolation_level": "AUTOCOMMIT"} if read_only else {}),
    )


def json_text(value: object) -> str:
    return msgspec.json.encode(value).decode()


@asynccontextmanager
async def driver_connection(bind: AsyncEngine | AsyncConnection) -> AsyncIterator[asyncpg.Connection]:
    """The asyncpg connection under a session's bind, for a hot path's single statement: from the pool in
    autocommit (the statement is its own transaction), or, when the bind is a connection already in a
    transaction (tests), that connection under a savepoint."""
    if isinstance(bind, AsyncEngine):
        async with bind.connect() as connection:
            yield _driver(await connection.get_raw_connection())
    else:
        async with bind.begin_nested():
            yield _driver(await bind.get_raw_connection())


def _driver(pooled: Any) -> asyncpg.Connection:
    """The asyncpg connection of a checked-out pool entry (always there while it is checked out)."""
    connection: asyncpg.Connection = pooled.driver_connection
    return connection


def bind_of(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncEngine | AsyncConnection:
    """What a sessionmaker's sessions are bound to: hot paths use it without making a session."""
    return sessionmaker.kw["bind"]


class Compiled:
    """A Core statement compiled once to asyncpg's SQL, for hot paths that skip SQLAlchemy's execution:
    `connection.fetchrow(c.sql, *c.args(name=value))`. Results are the driver's (enums come back as text)."""

    def __init__(self, statement: Any) -> None:
        compiled = statement.compile(dialect=asyncpg_dialect())
        self.sql = compiled.string
        self._names = compiled.positiontup
        self._constants = {name: bind.value for name, bind in compiled.binds.items()}

    def args(self, **values: object) -> list:
        return [values[name] if name in values else self._constants[name] for name in self._names]


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def provide_read_session(state: State) -> AsyncGenerator[AsyncSession, None]:
    """Public reads and the status page: the read-only database (a replica, when configured), no transaction."""
    session: AsyncSession = state.read_sessionmaker()
    try:
        yield session
    finally:
        await session.close()


async def provide_session(state: State) -> AsyncGenerator[AsyncSession, None]:
    """Commit when the handler succeeds, roll back when anything raises.

    Litestar runs the code after `yield` before the response is sent, so a failed commit
    becomes an error response instead of an acknowledged write that never landed.
    """
    session: AsyncSession = state.sessionmaker()
    try:
        yield session
    except BaseException:
        await session.rollback()
        raise
    else:
        await session.commit()
    finally:
        await session.close()
