"""Building blocks for tests: a small open period near Kota Tangerang and valid registrations."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from ppdb.identity import nik_for

HOME = (-6.1780, 106.6300)
ORIGIN = "20679901"
"""The origin school (an SMP or SD outside the test periods) of the children the tests enter rapor for."""
KELURAHAN = "36.71.01.1001"
SCHOOLS_CSV = """npsn,name,level,latitude,longitude,capacity,kelurahan_code
20670001,SMP Negeri 1 Uji,smp,-6.1790,106.6310,100,36.71.01.1001
20670002,SMP Negeri 2 Uji,smp,-6.1900,106.6400,64,36.71.01.1002
20670003,SMP Negeri 3 Uji,smp,-6.2000,106.6500,33,36.71.02.1001
"""
ZONES_CSV = """npsn,kelurahan_code,radius_m,priority
20670001,36.71.01.1001,,1
20670002,36.71.01.1001,,2
20670003,,5000,1
"""
REFERENCE = date(2027, 7, 1)


def expect_error(response: Any, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code, body
    assert body["message"]
    return body


async def new_period(client: AsyncClient, *, preset: str = "permendikdasmen-3-2025", level: str = "smp") -> dict:
    """A draft period in the admin's region (`client` is the admin), its registration window around now."""
    region_id = (await client.get("/api/auth/me")).json()["region_id"]
    now = datetime.now(UTC)
    period = await client.post(
        "/api/periods",
        json={
            "region_id": region_id,
            "school_year": "2027/2028",
            "level": level,
            "preset": preset,
            "registration_opens_at": (now - timedelta(days=1)).isoformat(),
            "registration_closes_at": (now + timedelta(days=10)).isoformat(),
        },
    )
    assert period.status_code == 201, period.text
    return period.json()


async def open_period(
    client: AsyncClient,
    *,
    preset: str = "permendikdasmen-3-2025",
    level: str = "smp",
    open_: bool = True,
    schools_csv: str = SCHOOLS_CSV,
) -> dict:
    """A period in the admin's region (`client` is the admin), with schools and zones, open by default."""
    period = await new_period(client, preset=preset, level=level)
    period_id = period["id"]
    if level == "smp":
        imported = await client.post(f"/api/periods/{period_id}/schools/import", content=schools_csv)
        assert imported.status_code == 200, imported.text
        zones = await client.post(f"/api/periods/{period_id}/zones/import", content=ZONES_CSV)
        assert zones.status_code == 200, zones.text
        if open_:
            opened = await client.post(f"/api/periods/{period_id}/open")
            assert opened.status_code == 200, opened.text
    return period


def registration(serial: int = 1, **changes: Any) -> dict:
    """A valid SMP domisili registration; `changes` override fields."""
    birth = changes.pop("birth_date", date(2014, 3, 15))
    sex = changes.pop("sex", "P")
    body = {
        "nik": nik_for("367101", birth, sex, serial),
        "nisn": f"{serial:010d}",
        "name": "Siti Aminah",
        "sex": sex,
        "birth_date": birth.isoformat(),
        "kk_number": f"3671010101{serial:06d}",
        "kk_issued_on": "2019-05-02",
        "address": "Jl. Merdeka No. 1, RT 001/RW 002",
        "kelurahan_code": KELURAHAN,
        "latitude": HOME[0],
        "longitude": HOME[1],
        "path": "domisili",
        "choices": ["20670001", "20670002", "20670003"],
        "documents": ["kk", "akta_kelahiran"],
    }
    body.update(changes)
    return body


SUBJECTS = (
    "pendidikan_agama",
    "pendidikan_pancasila",
    "bahasa_indonesia",
    "matematika",
    "ipa",
    "ips",
    "bahasa_inggris",
)
"""The seven subjects of the Jatim template: a rapor of them satisfies every template's rapor component."""


async def enter_rapor(
    client: AsyncClient, period_id: int, body: dict, grade: str, *, origin: str = ORIGIN, semesters: int = 5
) -> None:
    """The origin school enters the child of a registration body on its graduate list, every grade `grade`."""
    rapor = {s: {str(n): float(grade) for n in range(1, semesters + 1)} for s in SUBJECTS}
    graduate = {
        "nisn": body["nisn"] or body["nik"][-10:],
        "nik": body["nik"],
        "name": body["name"],
        "birth_date": str(body["birth_date"]),
        "origin_npsn": origin,
        "rapor": rapor,
    }
    entered = await client.put(f"/api/periods/{period_id}/graduates", json=graduate)
    assert entered.status_code == 200, entered.text


@contextlib.asynccontextmanager
async def scratch_database(server_url: str) -> AsyncIterator[str]:
    """A new, empty database on the test server, dropped afterwards."""
    name = f"scratch_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await admin.dispose()


@contextlib.asynccontextmanager
async def serving(settings: Any) -> AsyncIterator[str]:
    """The app served by uvicorn on a free local port as `ppdb serve` runs it (`cli.server_options`), in this
    event loop; yields its base URL."""
    import socket

    import uvicorn

    from ppdb.app import create_app
    from ppdb.cli import server_options

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    options = server_options(settings) | {"host": "127.0.0.1", "port": port, "log_level": "warning"}
    server = uvicorn.Server(uvicorn.Config(create_app(settings), **options))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
