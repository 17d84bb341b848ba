"""Load shedding: beyond the in-flight bound, or with every database connection busy, a fast 503 + Retry-After."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from ppdb.app import create_app
from ppdb.config import load_settings
from ppdb.db import migrate
from ppdb.shedding import LoadShedding
from tests.conftest import TEST_SECRET
from tests.helpers import expect_error, scratch_database, serving


@contextlib.asynccontextmanager
async def served(server_url: str, tmp_path, **settings) -> AsyncIterator[tuple[str, str]]:
    """A migrated scratch database and the app served on it as `ppdb serve` runs it; (database URL, base URL)."""
    async with scratch_database(server_url) as url:
        migrate.upgrade(url)
        configured = load_settings(
            {}, database_url=url, secret_key=TEST_SECRET, data_dir=str(tmp_path), provisional_interval=0, **settings
        )
        async with serving(configured) as base:
            yield url, base


async def test_requests_beyond_the_bound_are_shed_and_the_rest_served():
    release, started, sent = asyncio.Event(), asyncio.Event(), []

    async def slow_app(scope, receive, send):
        started.set()
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})

    async def record(message):
        sent.append(message)

    shedding = LoadShedding(limit=1)
    scope = {"type": "http", "path": "/api/x", "method": "GET", "headers": []}
    first = asyncio.create_task(shedding.handle(scope, None, record, slow_app))
    await started.wait()
    await shedding.handle(scope, None, record, slow_app)  # over the bound: answered without calling the app
    assert sent[0]["status"] == 503 and (b"retry-after", b"2") in sent[0]["headers"]
    assert b'"code":"overloaded"' in sent[1]["body"]
    release.set()
    await first
    assert sent[2]["status"] == 200 and shedding.in_flight == 0


async def test_shed_responses_through_the_app_keep_health_and_security_headers(server_url, tmp_path):
    async with scratch_database(server_url) as url:
        migrate.upgrade(url)
        app = create_app(
            load_settings(
                {},
                database_url=url,
                secret_key=TEST_SECRET,
                data_dir=str(tmp_path),
                max_in_flight=0,
                provisional_interval=0,
            )
        )
        async with (
            app.lifespan(),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
        ):
            shed = await client.get("/api/presets")
            assert shed.status_code == 503 and shed.json()["code"] == "overloaded"
            assert shed.headers["retry-after"] == "2" and shed.headers["x-content-type-options"] == "nosniff"
            assert (await client.get("/health")).status_code == 200


async def test_a_request_waiting_too_long_for_a_connection_is_shed(server_url, tmp_path):
    async with scratch_database(server_url) as url:
        migrate.upgrade(url)
        app = create_app(
            load_settings(
                {},
                database_url=url,
                secret_key=TEST_SECRET,
                data_dir=str(tmp_path),
                db_pool_size=1,
                db_max_overflow=0,
                db_pool_timeout=0.2,
                provisional_interval=0,
            )
        )
        async with (
            app.lifespan(),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
        ):
            async with app.state.engine.connect():  # the only connection, held
                busy = await client.post(
                    "/api/auth/signup", json={"email": "p@contoh.test", "password": "Kata-sandi-2026", "name": "P"}
                )
            assert busy.status_code == 503 and busy.json()["code"] == "overloaded"
            assert busy.headers["retry-after"] == "2"
            done = await client.post(
                "/api/auth/signup", json={"email": "p@contoh.test", "password": "Kata-sandi-2026", "name": "P"}
            )
            assert done.status_code == 201  # nothing half-written by the shed attempt


async def test_a_wave_of_sign_ups_beyond_the_hashing_queue_is_shed_before_touching_the_database(client, transport):
    passwords = transport.app.state.runtime.passwords
    passwords.queued = passwords.new = passwords.new_waiting  # every sign-up's place taken
    shed = await client.post(
        "/api/auth/signup", json={"email": "w@contoh.test", "password": "Kata-sandi-2026", "name": "W"}
    )
    assert shed.status_code == 503 and shed.json()["code"] == "overloaded" and shed.headers["retry-after"] == "2"
    login = await client.post("/api/auth/login", json={"email": "w@contoh.test", "password": "Kata-sandi-2026"})
    expect_error(login, 401, "login_failed")  # a login keeps its places (and the shed sign-up made no account)
    passwords.queued += passwords.at_once + passwords.waiting  # and every sign-in's
    login = await client.post("/api/auth/login", json={"email": "w@contoh.test", "password": "Kata-sandi-2026"})
    assert login.status_code == 503
    passwords.queued = passwords.new = 0
    assert (
        await client.post(
            "/api/auth/signup", json={"email": "w@contoh.test", "password": "Kata-sandi-2026", "name": "W"}
        )
    ).status_code == 201


async def test_slow_bodies_hold_none_of_the_bound_and_are_timed_out(server_url, tmp_path):
    """200 connections that send a request's headers and then trickle its body (security review H2) take none
    of the 4 requests a worker serves at once: ordinary reads are answered meanwhile; a stalled body is answered
    408 once its time is up, an upload's (which the route reads itself) too."""
    async with served(server_url, tmp_path, max_in_flight=4, body_timeout=3) as (_url, base):
        port = int(base.rsplit(":", 1)[1])
        slow = []
        try:
            for length in [300_000] + [2_000] * 200:  # one upload-sized body, then small ones
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(
                    b"POST /api/auth/signup HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n{" % length
                )
                await writer.drain()
                slow.append((reader, writer))
            async with httpx.AsyncClient(base_url=base) as client:
                for _ in range(10):
                    for _reader, writer in slow[:50]:  # a byte now and then keeps them alive
                        writer.write(b" ")
                    assert (await client.get("/api/presets")).status_code == 200
            for reader, _writer in (slow[0], slow[1]):  # the upload (read by the route) and a small one
                answer = await asyncio.wait_for(reader.read(), timeout=15)  # the connection closes after it
                assert answer.startswith(b"HTTP/1.1 408 ") and b'"code":"request_timeout"' in answer
        finally:
            for _reader, writer in slow:
                writer.close()


@pytest.mark.parametrize(("trusted", "counted"), [("", "127.0.0.1"), ("127.0.0.1", "10.9.9.9")])
async def test_a_clients_own_forwarded_for_is_believed_only_from_a_trusted_proxy(
    server_url, tmp_path, trusted, counted
):
    """Per-address limits count the peer, unless it is a proxy named in PPDB_FORWARDED_ALLOW_IPS (security
    review L5: a client's X-Forwarded-For escaped the login throttle)."""
    async with served(server_url, tmp_path, forwarded_allow_ips=trusted) as (url, base):
        async with httpx.AsyncClient(base_url=base) as client:
            wrong = {"email": "siapa@contoh.test", "password": "salah-sandi-sekali"}
            answer = await client.post("/api/auth/login", json=wrong, headers={"X-Forwarded-For": "10.9.9.9"})
            assert answer.status_code == 401, answer.text
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                assert (await conn.scalar(text("SELECT address FROM login_attempts"))) == counted
        finally:
            await engine.dispose()


class Held:
    """A password hasher whose every call waits for `gate`: the places at the hashing thread stay taken."""

    def __init__(self, gate: threading.Event) -> None:
        self.gate = gate

    def hash(self, password: str) -> str:
        self.gate.wait(10)
        return "hash"

    def verify(self, password_hash: str, password: str) -> bool:
        self.gate.wait(10)
        return True


class Recording:
    """A password hasher noting the order of its calls; a new password's waits for `gate`, a sign-in's does not."""

    def __init__(self, gate: threading.Event, order: list[str]) -> None:
        self.gate, self.order = gate, order

    def hash(self, password: str) -> str:
        self.gate.wait(10)
        self.order.append(password)
        return password

    def verify(self, password_hash: str, password: str) -> bool:
        self.order.append(password)
        return True


async def test_a_flood_of_sign_ups_never_sheds_a_login():
    """New passwords (sign-ups, resets) and sign-ins have places of their own at the hashing thread (security
    review M2: a sign-up flood made every login fail)."""
    from ppdb.errors import Overloaded
    from ppdb.runtime import Passwords

    gate = threading.Event()
    passwords = Passwords(Held(gate))  # type: ignore[arg-type]
    waiting = [asyncio.create_task(passwords.hash("x")) for _ in range(32)]
    await asyncio.sleep(0.05)
    with pytest.raises(Overloaded):  # a 33rd sign-up
        passwords.admit(new=True)
    waiting += [asyncio.create_task(passwords.verify("hash", "x")) for _ in range(9)]  # logins: places of their own
    await asyncio.sleep(0.05)
    assert passwords.queued == 41
    with pytest.raises(Overloaded):  # a tenth login
        passwords.admit()
    gate.set()
    assert await asyncio.gather(*waiting) == ["hash"] * 32 + [True] * 9
    passwords.close()


async def test_fewer_sign_ups_wait_when_hashing_slows():
    """Sign-ups wait only as many as can expect their turn within 3 s at the recent pace of hashing: on an
    overloaded machine the hashing slows, and a parent is told at once to come back rather than
    kept waiting for many seconds."""
    import time

    from ppdb.errors import Overloaded
    from ppdb.runtime import Passwords

    class Sleepy:
        def hash(self, password: str) -> str:
            time.sleep(0.05)
            return "hash"

    paced = Passwords(Sleepy())  # type: ignore[arg-type]
    for _ in range(3):
        await paced.hash("x")
    assert paced.seconds > 0.03  # measured: its calls took 50 ms, not the first guess of 25
    paced.close()

    gate = threading.Event()
    passwords = Passwords(Held(gate))  # type: ignore[arg-type]
    passwords.seconds = 0.75  # hashing here lately: three quarters of a second a password
    waiting = [asyncio.create_task(passwords.hash("x")) for _ in range(4)]
    await asyncio.sleep(0.05)
    with pytest.raises(Overloaded):  # a fifth could not expect its turn within 3 s
        passwords.admit(new=True)
    passwords.admit()  # a sign-in still may wait
    gate.set()
    assert await asyncio.gather(*waiting) == ["hash"] * 4
    passwords.close()


async def test_a_sign_in_goes_before_the_sign_ups_waiting():
    """A returning parent signing in holds a connection while it waits, and should not wait behind a sign-up
    wave: it is hashed before every new password still waiting, which keep their order."""
    from ppdb.runtime import Passwords

    gate, order = threading.Event(), []
    passwords = Passwords(Recording(gate, order))  # type: ignore[arg-type]
    calls = [asyncio.create_task(passwords.hash("first"))]
    await asyncio.sleep(0.05)  # hashing, held at the gate
    calls += [asyncio.create_task(passwords.hash(f"new-{i}")) for i in range(3)]
    await asyncio.sleep(0.01)
    calls += [asyncio.create_task(passwords.verify("hash", f"login-{i}")) for i in range(2)]
    gone = asyncio.create_task(passwords.hash("gone"))  # a sign-up whose parent closed the page while waiting
    await asyncio.sleep(0.05)
    gone.cancel()
    gate.set()
    await asyncio.gather(*calls)
    assert order == ["first", "login-0", "login-1", "new-0", "new-1", "new-2"]
    assert await asyncio.wait_for(passwords.hash("after"), 5) == "after"  # the cancelled one kept no turn
    assert passwords.queued == passwords.new == 0
    passwords.close()


async def test_sign_ins_delay_a_sign_up_only_so_long():
    """A sign-up goes before the sign-ins that come more than `new_wait` seconds after it: a stream of sign-ins
    keeping the hashing busy delays it, never starves it (review of issue 27)."""
    from ppdb.runtime import Passwords

    gate, order = threading.Event(), []
    passwords = Passwords(Recording(gate, order), new_wait=0.1)  # type: ignore[arg-type]
    calls = [asyncio.create_task(passwords.hash("first")), asyncio.create_task(passwords.hash("new"))]
    await asyncio.sleep(0.05)
    calls.append(asyncio.create_task(passwords.verify("hash", "soon")))  # within new_wait of the sign-up
    await asyncio.sleep(0.1)
    calls.append(asyncio.create_task(passwords.verify("hash", "late")))  # past it
    await asyncio.sleep(0.01)
    gate.set()
    await asyncio.gather(*calls)
    assert order == ["first", "soon", "new", "late"]
    passwords.close()


async def test_a_turn_handed_to_a_cancelled_call_passes_on():
    """A call cancelled just after its turn came, before it could take it, hands the turn on: otherwise no
    password would be hashed again in this worker."""
    from ppdb.runtime import Passwords

    gate = threading.Event()
    granted: list[asyncio.Future[None]] = []

    class Cancelling(Passwords):
        def _next(self) -> None:
            head = self._turns[0][2] if self._turns else None
            super()._next()
            if head is not None and head is victim_turn and not granted:
                granted.append(head)
                victim.cancel()  # its turn is set, its task not yet resumed

    passwords = Cancelling(Held(gate))  # type: ignore[arg-type]
    first = asyncio.create_task(passwords.hash("x"))
    await asyncio.sleep(0.02)
    victim = asyncio.create_task(passwords.hash("x"))
    await asyncio.sleep(0.01)
    victim_turn = passwords._turns[0][2]
    third = asyncio.create_task(passwords.hash("x"))
    await asyncio.sleep(0.01)
    gate.set()
    assert await first == "hash"
    with pytest.raises(asyncio.CancelledError):
        await victim
    assert granted and await asyncio.wait_for(third, 5) == "hash"
    assert await asyncio.wait_for(passwords.hash("after"), 5) == "hash"
    assert passwords.queued == passwords._hashing == 0
    passwords.close()


async def test_a_client_gone_mid_body_is_no_error_in_the_log(server_url, tmp_path, caplog):
    """A phone losing its signal mid-upload is not a server error (security review L1: anyone could fill the
    error log with tracebacks by closing connections)."""
    caplog.set_level(logging.INFO)
    async with served(server_url, tmp_path) as (_url, base):
        port = int(base.rsplit(":", 1)[1])
        for length in (2_000, 300_000):  # a body read whole first, and one the route streams
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                b"POST /api/auth/signup HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n{" % length + b" " * 70_000
            )
            await writer.drain()
            await asyncio.sleep(0.3)
            writer.close()
        await asyncio.sleep(0.5)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
