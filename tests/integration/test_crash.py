"""Crashes: `ppdb serve` killed with SIGKILL in the middle of a selection run and of a publication.

The official state before the crash (the last run, the last publication and its hash) must be exactly as it
was, nothing half-written may remain, and the next run and publication must succeed on a restarted server.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from ppdb import demo
from ppdb.db import migrate
from tests.conftest import TEST_SECRET
from tests.helpers import scratch_database

APPLICANTS = 4000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`ppdb serve` in its own process."""

    started: list[Server] = []

    def __init__(self, url: str, data_dir: Path) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "PPDB_DATABASE_URL": url,
            "PPDB_SECRET_KEY": TEST_SECRET,
            "PPDB_DATA_DIR": str(data_dir),
            "PPDB_PORT": str(self.port),
            "PPDB_PROVISIONAL_INTERVAL": "0",
            "PPDB_WORKERS": "1",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ppdb", "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.base = f"http://127.0.0.1:{self.port}"
        Server.started.append(self)

    async def ready(self) -> httpx.AsyncClient:
        client = httpx.AsyncClient(base_url=self.base, timeout=60)
        deadline = time.monotonic() + 30
        while True:
            assert self.process.poll() is None, "the server exited"
            try:
                if (await client.get("/health")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            await asyncio.sleep(0.1)
        login = await client.post("/api/auth/login", json={"email": demo.DEMO_ADMIN[0], "password": demo.DEMO_ADMIN[1]})
        assert login.status_code == 200, login.text
        client.headers["Authorization"] = f"Bearer {login.json()['token']}"
        return client

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


async def official_state(engine) -> dict:
    async with engine.connect() as conn:
        runs = (
            await conn.execute(
                text(
                    "SELECT r.id, r.digest, r.finished_at, r.placed, r.applicants, "
                    "(SELECT count(*) FROM placements p WHERE p.run_id = r.id) AS rows FROM selection_runs r "
                    "WHERE r.kind = 'official' ORDER BY r.id"
                )
            )
        ).all()
        publications = (
            await conn.execute(
                text(
                    "SELECT p.version, p.digest, p.snapshot, (SELECT count(*) FROM publication_entries e "
                    "WHERE e.publication_id = p.id) AS entries FROM publications p ORDER BY p.version"
                )
            )
        ).all()
        period = await conn.scalar(text("SELECT status::text FROM periods"))
    for run in runs:  # every stored run is whole
        assert run.finished_at is not None and run.rows == run.applicants
    for publication in publications:  # every stored publication matches its hash
        assert hashlib.sha256(bytes(publication.snapshot)).hexdigest() == publication.digest
        assert publication.entries > 0
    return {
        "runs": [(r.id, r.digest) for r in runs],
        "publications": [(p.version, p.digest, p.entries) for p in publications],
        "period": period,
    }


async def kill_in_the_middle(server: Server, engine, request) -> None:
    """Send `request` and SIGKILL the server while its transaction is open (it holds the period row lock)."""
    pending = asyncio.ensure_future(request)
    deadline = time.monotonic() + 30
    async with engine.connect() as conn:
        while not await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()"
            )
        ):
            assert not pending.done(), "finished before it could be interrupted"
            assert time.monotonic() < deadline
            await asyncio.sleep(0.005)
            await conn.rollback()
    server.kill()
    try:
        response = await pending
    except httpx.TransportError:
        return
    raise AssertionError(f"the request was answered despite the crash: {response.status_code}")


async def test_sigkill_during_a_run_and_a_publication_leaves_the_official_state_intact(server_url, tmp_path):
    async with scratch_database(server_url) as url:
        migrate.upgrade(url)
        await demo.load(url, applicants=APPLICANTS, schools=20, seed=7)
        engine = create_async_engine(url)
        try:
            server = Server(url, tmp_path)
            admin = await server.ready()
            async with engine.connect() as conn:
                period_id = await conn.scalar(text("SELECT id FROM periods"))
            assert (await admin.post(f"/api/periods/{period_id}/close")).status_code == 200
            first = await admin.post(f"/api/periods/{period_id}/selection-runs")
            assert first.status_code == 201, first.text
            before = await official_state(engine)
            assert len(before["runs"]) == 1 and not before["publications"]

            # Killed during the next run: the first run stays the official one.
            await kill_in_the_middle(server, engine, admin.post(f"/api/periods/{period_id}/selection-runs"))
            await admin.aclose()
            assert await official_state(engine) == before

            # Killed during the first publication: nothing is announced.
            server = Server(url, tmp_path)
            admin = await server.ready()
            await kill_in_the_middle(server, engine, admin.post(f"/api/periods/{period_id}/publications", json={}))
            await admin.aclose()
            assert await official_state(engine) == before

            # Restarted: nothing is left locked, the next run and publication go through.
            server = Server(url, tmp_path)
            admin = await server.ready()
            again = await admin.post(f"/api/periods/{period_id}/selection-runs")
            assert again.status_code == 201, again.text
            assert again.json()["digest"] == first.json()["digest"]  # same inputs, same result
            published = await admin.post(f"/api/periods/{period_id}/publications", json={})
            assert published.status_code == 201, published.text
            announced = await official_state(engine)
            assert announced["runs"][0] == before["runs"][0] and len(announced["runs"]) == 2
            assert len(announced["publications"]) == 1

            # Killed during a correction: the announced publication stays, byte for byte.
            await kill_in_the_middle(
                server, engine, admin.post(f"/api/periods/{period_id}/publications", json={"reason": "Koreksi"})
            )
            await admin.aclose()
            assert await official_state(engine) == announced
            server = Server(url, tmp_path)
            admin = await server.ready()
            corrected = await admin.post(f"/api/periods/{period_id}/publications", json={"reason": "Koreksi"})
            assert corrected.status_code == 201, corrected.text
            assert (await official_state(engine))["publications"][0] == announced["publications"][0]
            await admin.aclose()
            server.kill()
        finally:
            for server in Server.started:  # also when an assertion failed half-way
                server.kill()
            await engine.dispose()
