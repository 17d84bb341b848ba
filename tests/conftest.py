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
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from ppdb.app import create_app
from ppdb.config import load_settings
from ppdb.db import embedded, migrate

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


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
async def client(database_url: str, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession],
                 tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP through the whole app, in the test's event loop, so it shares the test's transaction.

    The app's lifespan (which opens its own engine) is exercised in tests/integration/test_app.py.
    """
    settings = load_settings({}, database_url=database_url, secret_key=TEST_SECRET, data_dir=str(tmp_path))
    app = create_app(settings)
    app.state.engine, app.state.sessionmaker = engine, sessionmaker
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
