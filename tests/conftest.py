"""Test database: a throwaway embedded PostgreSQL (or PPDB_TEST_DATABASE_URL), migrated once with Alembic.

Each test runs inside a transaction that is rolled back at the end; the app's own commits become savepoints.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from ppdb.accounts import service as accounts
from ppdb.app import create_app
from ppdb.config import load_settings
from ppdb.db import embedded, migrate
from ppdb.runtime import Passwords, Runtime

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
PASSWORD = "kata-sandi-uji-2027"


def own_runtime() -> Runtime:
    """A test app's own runtime: argon2 at production cost makes every login ~0.1 s; tests check behaviour."""
    return Runtime(passwords=Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)))


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A PostgreSQL URL for tests; an embedded throwaway cluster unless PPDB_TEST_DATABASE_URL is set."""
    if url := os.environ.get("PPDB_TEST_DATABASE_URL"):
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="ppdb-test-") as tmp:
        server, url = embedded.start(Path(tmp), database="ppdb_test", temporary=True)
        with server:
            yield url


@pytest.fixture(scope="session")
def database_url(server_url: str) -> str:
    migrate.upgrade(server_url)
    return server_url


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        transaction = await conn.begin()
        yield conn
        await transaction.rollback()


@pytest.fixture
def sessionmaker(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint")


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


@pytest.fixture
def transport(
    database_url: str, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> httpx.ASGITransport:
    """The whole app, in the test's event loop, so it shares the test's transaction.

    The app's lifespan (which opens its own engine) is exercised in tests/integration/test_app.py.
    """
    settings = load_settings({}, database_url=database_url, secret_key=TEST_SECRET, data_dir=str(tmp_path))
    app = create_app(settings)
    app.state.engine, app.state.sessionmaker = engine, sessionmaker
    app.state.read_sessionmaker = sessionmaker
    app.state.runtime = own_runtime()
    return httpx.ASGITransport(app=app, raise_app_exceptions=False)


@pytest.fixture
async def client(transport: httpx.ASGITransport) -> AsyncIterator[httpx.AsyncClient]:
    """An anonymous member of the public."""
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def logged_in(transport: httpx.ASGITransport, email: str, password: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
    response = await client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    client.headers["Authorization"] = f"Bearer {response.json()['token']}"
    return client


@pytest.fixture
async def admin(transport: httpx.ASGITransport, sessionmaker) -> AsyncIterator[httpx.AsyncClient]:
    """The agency admin of Kota Tangerang (region 36.71), bootstrapped as `ppdb users create-admin` does."""
    async with sessionmaker() as session, session.begin():
        await accounts.bootstrap_admin(
            session,
            region_code="36.71",
            region_name="Kota Tangerang",
            email="admin@tangerang.test",
            password=PASSWORD,
            passwords=transport.app.state.runtime.passwords,
        )
    client = await logged_in(transport, "admin@tangerang.test", PASSWORD)
    yield client
    await client.aclose()


@pytest.fixture
async def parent(transport: httpx.ASGITransport) -> AsyncIterator[httpx.AsyncClient]:
    client = await sign_up(transport, "orangtua@contoh.test")
    yield client
    await client.aclose()


async def sign_up(transport: httpx.ASGITransport, email: str) -> httpx.AsyncClient:
    """A parent's new account, signed in by its sign-up."""
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as anonymous:
        response = await anonymous.post(
            "/api/auth/signup", json={"email": email, "password": PASSWORD, "name": "Orang Tua"}
        )
        assert response.status_code == 201, response.text
    return httpx.AsyncClient(
        transport=transport,
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {response.json()['token']}"},
    )


@pytest.fixture
async def operator(transport: httpx.ASGITransport, admin: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """Creates the operator of SMP Negeri 1 Uji (20670001); schools must be imported first (open_period)."""

    async def make(npsn: str = "20670001", email: str = "operator1@sekolah.test") -> httpx.AsyncClient:
        created = await admin.post(
            "/api/operators", json={"email": email, "password": PASSWORD, "name": "Operator", "npsn": npsn}
        )
        assert created.status_code == 201, created.text
        return await logged_in(transport, email, PASSWORD)

    yield make


TABLES = (
    "notifications",
    "password_resets",
    "pins",
    "certificate_awards",
    "audit_log",
    "idempotent_responses",
    "reregistrations",
    "publication_entries",
    "publications",
    "placements",
    "program_outcomes",
    "selection_runs",
    "documents",
    "choices",
    "applications",
    "applicants",
    "zone_entries",
    "period_schools",
    "test_results",
    "graduates",
    "school_indexes",
    "periods",
    "login_attempts",
    "result_lookup_failures",
    "auth_sessions",
    "users",
    "schools",
    "kelurahan",
    "regions",
)


@pytest.fixture
async def live(database_url: str, engine: AsyncEngine, tmp_path: Path) -> AsyncIterator[httpx.ASGITransport]:
    """The app on real, separately committed transactions (for races); everything is deleted afterwards."""
    from ppdb.db.session import make_sessionmaker

    app = create_app(load_settings({}, database_url=database_url, secret_key=TEST_SECRET, data_dir=str(tmp_path)))
    app.state.engine, app.state.sessionmaker = engine, make_sessionmaker(engine)
    app.state.read_sessionmaker = app.state.sessionmaker
    app.state.runtime = own_runtime()
    async with app.state.sessionmaker() as session, session.begin():
        await accounts.bootstrap_admin(
            session,
            region_code="36.71",
            region_name="Kota Tangerang",
            email="admin@tangerang.test",
            password=PASSWORD,
            passwords=app.state.runtime.passwords,
        )
    try:
        yield httpx.ASGITransport(app=app)
    finally:
        async with engine.begin() as conn:  # past the append-only triggers, which only tests may do
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
            for table in TABLES:
                await conn.execute(text(f"DELETE FROM {table}"))
