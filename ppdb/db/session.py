"""Engine and the per-request session: one request, one transaction."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import asyncpg
import msgspec
from litestar import Request
from litestar.datastructures import State
from litestar.types import Message, Scope
from sqlalchemy import URL, event, make_url
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.exc import DisconnectionError, InvalidatePoolError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from ppdb.errors import database_unreachable

log = logging.getLogger("ppdb")
T = TypeVar("T")


# asyncpg options a URL may carry, typed as asyncpg wants them (a URL's query values arrive as text).
_NUMERIC_OPTIONS = {"statement_cache_size": int, "max_cacheable_statement_size": int, "command_timeout": float}
REPLICA_RETRY_SECONDS = 5.0
"""After the replica failed to connect, reads go to the primary; a connection made so is replaced this long after."""


def make_engine(
    url: str,
    *,
    pool_size: int = 15,
    max_overflow: int = 0,
    pool_timeout: float = 30.0,
    read_only: bool = False,
    fallback: str | None = None,
) -> AsyncEngine:
    """`read_only`: statements autocommit (no BEGIN/COMMIT round trips), for the reads of `provide_read_session`.
    `fallback`: the primary's URL, connected to whenever `url` (the replica) cannot be.

    The URL may carry asyncpg's options; `statement_cache_size=0` is for a transaction pooler (PgBouncer), where
    consecutive transactions of one client run on different server connections: no statement stays prepared
    (asyncpg's cache and SQLAlchemy's both off). A pooled connection the server has closed (a restart) is
    replaced when it is next checked out, without a round trip."""
    target, options = connect_options(url)
    # hide_parameters: a database error must never carry a child's NIK or address into the logs.
    engine = create_async_engine(
        target,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        hide_parameters=True,
        json_serializer=json_text,
        connect_args=options,
        **({"isolation_level": "AUTOCOMMIT"} if read_only else {}),
    )
    event.listen(engine.sync_engine, "checkout", _replace_closed)
    if fallback is not None:
        _fall_back_to(engine, fallback)
    return engine


def connect_options(url: str) -> tuple[URL, dict[str, Any]]:
    """The URL without asyncpg's options, and those options typed."""
    parsed = make_url(url)
    options: dict[str, Any] = {
        name: kind(parsed.query[name]) for name, kind in _NUMERIC_OPTIONS.items() if name in parsed.query
    }
    if options.get("statement_cache_size") == 0:
        options["prepared_statement_cache_size"] = 0  # SQLAlchemy's own cache of prepared statements
    return parsed.difference_update_query([*_NUMERIC_OPTIONS, "prepared_statement_cache_size"]), options


def behind_pooler(url: str) -> bool:
    """A URL with statement caching off names a transaction pooler (see `make_engine`)."""
    return connect_options(url)[1].get("statement_cache_size") == 0


def _replace_closed(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """A connection the server closed (restart, failover, a pooler restarted) is not handed out: the pool
    connects again, and every connection older than this one is replaced on its next checkout too."""
    if dbapi_connection.driver_connection.is_closed():
        raise InvalidatePoolError("connection closed by the server")
    since = record.info.get("fallback_since")
    if since is not None and time.monotonic() - since > REPLICA_RETRY_SECONDS:
        raise DisconnectionError("a read connection on the primary: try the replica again")


def _fall_back_to(engine: AsyncEngine, primary: str) -> None:
    """Connections of `engine` (the replica's) go to the primary while the replica cannot be reached."""
    target, options = connect_options(primary)
    primary_args, primary_params = engine.dialect.create_connect_args(target)
    down_until = 0.0

    @event.listens_for(engine.sync_engine, "do_connect")
    def connect(dialect: Any, record: Any, cargs: list, cparams: dict) -> Any:
        nonlocal down_until
        if time.monotonic() >= down_until:
            try:
                return dialect.connect(*cargs, **cparams)
            except Exception as error:  # refused, starting up, shutting down, unreachable: read from the primary
                down_until = time.monotonic() + REPLICA_RETRY_SECONDS
                log.warning("read replica unavailable (%s): reads go to the primary", type(error).__name__)
        record.info["fallback_since"] = time.monotonic()
        return dialect.connect(*primary_args, **primary_params, **options)


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


async def driver_read(bind: AsyncEngine | AsyncConnection, read: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """`read(connection)` on a driver connection (`driver_connection`); a read that lost its connection (the server
    restarted, a replica came back) is repeated once on a fresh one: reads are safe to repeat, and one dead
    connection must not fail every request grouped into its statement."""
    try:
        async with driver_connection(bind) as connection:
            return await read(connection)
    except Exception as error:
        if not isinstance(bind, AsyncEngine) or not database_unreachable(error):
            raise
    async with driver_connection(bind) as connection:
        return await read(connection)


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


WROTE_COOKIE = "ppdb_wrote"
FRESH_SECONDS = 10
"""After a write, the writer's reads go to the primary this long: a replica a moment behind must not answer
"not found" for what was just acknowledged (read your own writes)."""


def reads(request: Request) -> async_sessionmaker[AsyncSession]:
    """Where a request reads: the read database (a replica), unless its client wrote a moment ago."""
    state = request.app.state
    wrote = request.cookies.get(WROTE_COOKIE, "")
    if wrote.isdigit() and 0 <= time.time() - int(wrote) < FRESH_SECONDS:
        return state.sessionmaker
    return state.read_sessionmaker


async def mark_writes(message: Message, scope: Scope) -> None:
    """A `before_send` hook: a successful write tells its client (a cookie) to read from the primary for a
    moment. Only where a replica serves reads."""
    if (
        message["type"] != "http.response.start"
        or scope.get("method") in ("GET", "HEAD", "OPTIONS")
        or message["status"] >= 400
        or not scope["litestar_app"].state.settings.read_database_url
    ):
        return
    secure = "; Secure" if scope.get("scheme") == "https" else ""
    cookie = f"{WROTE_COOKIE}={int(time.time())}; Max-Age={FRESH_SECONDS}; Path=/; HttpOnly; SameSite=Lax{secure}"
    message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie.encode())]


async def provide_read_session(request: Request) -> AsyncGenerator[AsyncSession, None]:
    """Public reads and the status page: the read-only database (a replica, when configured), no transaction;
    the primary for a client that has just written."""
    session: AsyncSession = reads(request)()
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
