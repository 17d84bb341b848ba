"""The app as a whole: health, OpenAPI, refusing an un-migrated database or an insecure secret, migrations."""

from __future__ import annotations

import re

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from ppdb.app import StartupError, create_app
from ppdb.config import DEFAULT_SECRET, load_settings
from ppdb.db import migrate
from ppdb.models import Base
from tests.conftest import TEST_SECRET
from tests.helpers import scratch_database


async def test_health_and_openapi(client):
    health = await client.get("/health")
    assert health.status_code == 200 and health.json() == {"status": "ok", "primary": "ok", "replica": "none"}
    assert (await client.get("/health/live")).json() == {"status": "ok"}
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/api/periods/{period_id}/applications" in schema["paths"]
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert all(op.get("operationId") and (op.get("summary") or op.get("description")) for op in operations)
    assert (await client.get("/schema")).status_code == 200


async def test_unknown_route_is_a_clean_404(client):
    response = await client.get("/api/nope")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


async def test_app_refuses_an_unmigrated_database(server_url, tmp_path):
    async with scratch_database(server_url) as url:
        app = create_app(load_settings({}, database_url=url, secret_key=TEST_SECRET, data_dir=str(tmp_path)))
        with pytest.raises(Exception) as caught:
            async with app.lifespan():
                pass
        assert "ppdb db upgrade" in str(caught.value) or "ppdb db upgrade" in repr(caught.value.__context__)


async def test_app_starts_on_a_migrated_database(server_url, tmp_path):
    async with scratch_database(server_url) as url:
        migrate.upgrade(url)
        app = create_app(load_settings({}, database_url=url, secret_key=TEST_SECRET, data_dir=str(tmp_path)))
        async with app.lifespan():
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                assert (await client.get("/health")).status_code == 200
        await app.state.engine.dispose()


async def test_public_reads_come_from_the_read_database_and_writes_go_to_the_primary(server_url, tmp_path):
    """PPDB_READ_DATABASE_URL (a replica) serves public reads; here it holds a region the primary lacks."""
    from ppdb import demo
    from ppdb.db.session import make_engine, make_sessionmaker

    async with scratch_database(server_url) as primary, scratch_database(server_url) as replica:
        migrate.upgrade(primary)
        migrate.upgrade(replica)
        engine = make_engine(replica)
        async with make_sessionmaker(engine)() as session, session.begin():
            period_id = await demo.populate(session, demo.generate(applicants=5, schools=3))
        await engine.dispose()
        app = create_app(
            load_settings(
                {},
                database_url=primary,
                read_database_url=replica,
                secret_key=TEST_SECRET,
                data_dir=str(tmp_path),
                provisional_interval=0,
            )
        )
        async with (
            app.lifespan(),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
        ):
            schools = await client.get(f"/api/periods/{period_id}/schools")
            assert schools.status_code == 200 and len(schools.json()) == 3
            signup = await client.post(
                "/api/auth/signup", json={"email": "r@contoh.test", "password": "Kata-sandi-2026", "name": "R"}
            )
            assert signup.status_code == 201
            login = await client.post(
                "/api/auth/login", json={"email": demo.DEMO_ADMIN[0], "password": demo.DEMO_ADMIN[1]}
            )
            assert login.status_code == 401  # the demo admin exists only on the replica
        for url, users in ((primary, 1), (replica, 3)):  # the replica: the demo admin and two school operators
            engine = create_async_engine(url)
            async with engine.connect() as conn:
                assert (await conn.exec_driver_sql("SELECT count(*) FROM users")).scalar() == users
            await engine.dispose()


def test_serve_refuses_more_connections_than_postgresql_allows(database_url, tmp_path):
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "PPDB_DATABASE_URL": database_url,
        "PPDB_SECRET_KEY": TEST_SECRET,
        "PPDB_WORKERS": "40",
        "PPDB_DATA_DIR": str(tmp_path),
        "PPDB_PORT": "1",
    }
    out = subprocess.run([sys.executable, "-m", "ppdb", "serve"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "PostgreSQL connections" in out.stderr and "PPDB_WORKERS" in out.stderr


async def test_serve_counts_the_connections_other_instances_hold(database_url, tmp_path):
    """Pools that fit the server's limit alone, but not beside the connections already open (another instance,
    here 20 plain connections), are refused; the same URL marked as a transaction pooler is not checked."""
    import asyncio
    import os
    import socket
    import sys

    import asyncpg

    dsn = database_url.replace("+asyncpg", "")
    others = [await asyncpg.connect(dsn) for _ in range(20)]
    taken = socket.socket()  # a start that passes the check then fails to listen, and exits
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        limit, in_use = await others[0].fetchrow(
            "SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int,"
            " (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')"
        )
        pool = (limit - in_use) // 2 + 4  # two pools of it (+5) fit the limit, not the room left
        assert 2 * pool + 5 <= limit

        async def serve(url: str) -> str:
            env = {
                **os.environ,
                "PPDB_DATABASE_URL": url,
                "PPDB_SECRET_KEY": TEST_SECRET,
                "PPDB_DB_POOL_SIZE": str(pool),
                "PPDB_DATA_DIR": str(tmp_path),
                "PPDB_PORT": str(taken.getsockname()[1]),
            }
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "ppdb", "serve", env=env, stderr=asyncio.subprocess.PIPE
            )
            _, err = await asyncio.wait_for(process.communicate(), 120)
            return err.decode()

        refused = await serve(database_url)
        assert "are open already" in refused and "statement_cache_size=0" in refused
        pooled = await serve(
            f"{database_url}&statement_cache_size=0"
            if "?" in database_url
            else f"{database_url}?statement_cache_size=0"
        )
        assert "are open already" not in pooled and "connection check is skipped" in pooled
    finally:
        taken.close()
        for connection in others:
            await connection.close()


def test_the_served_app_writes_json_lines_with_request_ids(database_url, tmp_path):
    import json
    import os
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "PPDB_DATABASE_URL": database_url,
        "PPDB_SECRET_KEY": TEST_SECRET,
        "PPDB_PORT": str(port),
        "PPDB_DATA_DIR": str(tmp_path),
        "PPDB_PROVISIONAL_INTERVAL": "0",
        "PPDB_WORKERS": "1",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "ppdb", "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        for _ in range(120):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.25)
        presets = httpx.get(f"http://127.0.0.1:{port}/api/presets", headers={"X-Request-ID": "uji-log-12345678"})
        assert presets.status_code == 200 and presets.headers["x-request-id"] == "uji-log-12345678"
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    records = [json.loads(line) for line in output.splitlines() if line.strip()]  # every line is JSON
    access = [r for r in records if r.get("route") == "/api/presets"]
    assert access and access[0]["request_id"] == "uji-log-12345678" and access[0]["status"] == 200
    assert any("Serving on" in r["message"] for r in records)


def test_default_secret_stops_startup_outside_demo_mode():
    with pytest.raises(StartupError, match="PPDB_SECRET_KEY"):
        create_app(load_settings({}, database_url="postgresql+asyncpg://x@/y"))
    with pytest.raises(StartupError, match="PPDB_SECRET_KEY"):
        create_app(load_settings({"PPDB_SECRET_KEY": "short"}, database_url="postgresql+asyncpg://x@/y"))
    assert create_app(load_settings({"PPDB_DEMO": "1"}, database_url="postgresql+asyncpg://x@/y"))
    assert load_settings({"PPDB_DEMO": "true"}).secret_key == DEFAULT_SECRET


def test_settings_come_from_the_environment():
    settings = load_settings(
        {
            "PPDB_PORT": "9001",
            "PPDB_HOST": "0.0.0.0",
            "PPDB_DATA_DIR": "/srv/ppdb",
            "PPDB_DATABASE_URL": "postgresql+asyncpg://u@h/db",
            "OTHER": "x",
        }
    )
    assert (settings.port, settings.host, settings.data_dir) == (9001, "0.0.0.0", "/srv/ppdb")
    assert settings.database_url == "postgresql+asyncpg://u@h/db"
    with pytest.raises(SystemExit, match="PPDB_"):
        load_settings({"PPDB_PORT": "eighty"})


async def test_alembic_upgrade_downgrade_upgrade_round_trip(server_url):
    async with scratch_database(server_url) as url:
        engine = create_async_engine(url)

        async def tables() -> set[str]:
            async with engine.connect() as conn:
                return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))

        migrate.upgrade(url)
        first = await tables()
        assert {"applications", "applicants", "choices", "periods", "schools", "zone_entries", "audit_log"} <= first
        migrate.downgrade(url, "base")
        assert await tables() <= {"alembic_version"}
        migrate.upgrade(url)
        assert await tables() == first
        assert await migrate.current_revision(engine) == migrate.head_revision()
        await engine.dispose()


async def test_the_migrations_build_the_schema_the_models_declare(server_url):
    """Tables, columns, types, indexes, unique and foreign keys (what alembic's `compare_metadata` compares; not
    check constraints, server defaults or triggers): a model changed without its migration, or the other way
    round, shows here, not in production."""
    async with scratch_database(server_url) as url:
        migrate.upgrade(url)
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            differences = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c, opts={"compare_type": True}), Base.metadata)
            )
        await engine.dispose()
    assert differences == []


async def test_security_headers_on_every_response(client):
    for response in (
        await client.get("/health"),
        await client.get("/api/nope"),
        await client.post("/api/auth/login", content=b"{bad"),
    ):
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    # The API docs run only this site's pinned scripts (security review L7): no CDN, a CSP allowing none.
    docs = await client.get("/schema")
    assert docs.status_code == 200 and docs.headers["x-content-type-options"] == "nosniff"
    assert "script-src 'self' 'unsafe-inline';" in docs.headers["content-security-policy"]
    sources = re.findall(r'(?:src|href)=["\']([^"\']+)', docs.text)
    assert sources and all(s.startswith(("/static/vendor/swagger-ui-dist/", "data:")) for s in sources), sources
    for gone in ("/schema/redoc", "/schema/elements", "/schema/rapidoc"):  # the renderers that load CDN scripts
        assert (await client.get(gone)).status_code == 404
    for asset in sources[1:]:
        assert (await client.get(asset)).status_code == 200, asset


async def test_json_logs_carry_a_request_id_and_the_route_template(client, caplog):
    import json
    import logging
    import re

    from ppdb.logs import JsonFormatter

    caplog.set_level(logging.INFO, logger="ppdb.access")
    response = await client.get("/api/periods/98765", headers={"X-Request-ID": "abcdef123456"})
    assert response.headers["x-request-id"] == "abcdef123456"
    generated = [
        (await client.get("/health", headers={"X-Request-ID": "bad id!"})).headers["x-request-id"] for _ in range(2)
    ]
    assert generated[0] != generated[1] and all(re.fullmatch(r"[0-9a-f]{16}-[0-9a-f]+", g) for g in generated)
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "ppdb.access"]
    first = next(line for line in lines if line["request_id"] == "abcdef123456")
    assert first["route"] == "/api/periods/{period_id}" and first["status"] == 404 and first["method"] == "GET"
    assert "98765" not in json.dumps(lines)  # paths are logged as templates, never with their values
