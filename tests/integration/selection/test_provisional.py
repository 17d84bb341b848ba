"""Provisional re-solves while registration is open, and the parent's status with a risk warning."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from ppdb.selection import provisional
from ppdb.selection.models import RunKind, SelectionRun
from tests.conftest import TEST_SECRET
from tests.helpers import HOME, open_period, registration

ONE_SEAT = """npsn,name,level,latitude,longitude,capacity,kelurahan_code
20670001,SMP Negeri 1 Uji,smp,-6.1790,106.6310,1,36.71.01.1001
20670002,SMP Negeri 2 Uji,smp,-6.1900,106.6400,1,36.71.01.1002
20670003,SMP Negeri 3 Uji,smp,-6.2000,106.6500,0,36.71.02.1001
"""


async def test_tick_solves_open_periods_once_per_interval_and_prunes(admin, parent, sessionmaker, session):
    period = await open_period(admin, schools_csv=ONE_SEAT)
    url = f"/api/periods/{period['id']}/applications"
    near = (await parent.post(url, json=registration(serial=1, choices=["20670001", "20670002"]))).json()
    far_body = registration(serial=2, latitude=HOME[0] - 0.01, choices=["20670001"])
    far = (await parent.post(url, json=far_body)).json()

    first = await provisional.tick(sessionmaker, secret=TEST_SECRET, interval=3600)
    assert len(first) == 1
    assert await provisional.tick(sessionmaker, secret=TEST_SECRET, interval=3600) == []  # still fresh
    for _ in range(3):
        await provisional.tick(sessionmaker, secret=TEST_SECRET, interval=0)
    kept = await session.scalar(
        select(func.count()).select_from(SelectionRun).where(SelectionRun.kind == RunKind.PROVISIONAL)
    )
    assert kept == provisional.KEEP

    status = (await parent.get(f"/api/applications/{far['registration_number']}/status")).json()
    assert status["run_kind"] == "provisional" and status["summary"].startswith("Sementara")
    assert status["at_risk"] is True and "Peringatan" in status["warning"]
    choice = status["choices"][0]
    assert (choice["outcome"], choice["position"], choice["seats"]) == ("not_placed", 2, 1)

    mine = (await parent.get(f"/api/applications/{near['registration_number']}/status")).json()
    assert mine["at_risk"] is False and mine["warning"] is None
    assert mine["choices"][0]["position"] == 1 and mine["placed_choice"] == 1


async def test_closed_periods_are_not_resolved(admin, parent, sessionmaker):
    period = await open_period(admin, schools_csv=ONE_SEAT)
    await admin.post(f"/api/periods/{period['id']}/close")
    assert await provisional.tick(sessionmaker, secret=TEST_SECRET, interval=0) == []


async def test_position_counts_only_applicants_competing_for_the_seat(admin, parent, sessionmaker):
    period = await open_period(admin, schools_csv=ONE_SEAT)
    url = f"/api/periods/{period['id']}/applications"
    # The nearest applicant prefers school 2, so they do not queue at school 1.
    elsewhere = registration(serial=1, choices=["20670002", "20670001"])
    assert (await parent.post(url, json=elsewhere)).status_code == 201
    second = (
        await parent.post(url, json=registration(serial=2, latitude=HOME[0] - 0.001, choices=["20670001"]))
    ).json()
    await provisional.tick(sessionmaker, secret=TEST_SECRET, interval=0)
    status = (await parent.get(f"/api/applications/{second['registration_number']}/status")).json()
    assert status["choices"][0]["outcome"] == "placed"
    assert status["choices"][0]["position"] == 1 and status["choices"][0]["seats"] == 1


async def test_status_follows_the_run_not_the_current_choices(admin, parent, sessionmaker):
    period = await open_period(admin, schools_csv=ONE_SEAT)
    url = f"/api/periods/{period['id']}/applications"
    mine = (await parent.post(url, json=registration(serial=1, choices=["20670001", "20670002"]))).json()
    number = mine["registration_number"]
    await provisional.tick(sessionmaker, secret=TEST_SECRET, interval=0)
    # reorder and shorten after the run: the status still names the school the run placed them at
    assert (await parent.patch(f"/api/applications/{number}", json={"choices": ["20670002"]})).status_code == 200
    status = (await parent.get(f"/api/applications/{number}/status")).json()
    assert status["stale"] is True and "berubah" in status["summary"]
    assert status["choices"][0]["npsn"] == "20670001" and status["choices"][0]["outcome"] == "placed"
    assert "SMP Negeri 1 Uji" in status["summary"]
    await parent.post(f"/api/applications/{number}/withdraw")
    withdrawn = (await parent.get(f"/api/applications/{number}/status")).json()
    assert "dicabut" in withdrawn["summary"] and withdrawn["warning"] is None


async def test_public_rank_lists_carry_an_etag_and_change_with_the_run(admin, parent, client, sessionmaker):
    period = await open_period(admin, schools_csv=ONE_SEAT)
    url = f"/api/periods/{period['id']}/applications"
    await parent.post(url, json=registration(serial=1, choices=["20670001"]))
    await provisional.tick(sessionmaker, secret=TEST_SECRET, interval=0)
    latest = f"/api/periods/{period['id']}/selection-runs/latest"
    first = await client.get(latest)
    assert first.status_code == 200 and first.headers["cache-control"].startswith("public")
    tag = first.headers["etag"]
    unchanged = await client.get(latest, headers={"If-None-Match": tag})
    assert unchanged.status_code == 304 and unchanged.content == b"" and unchanged.headers["etag"] == tag

    await parent.post(url, json=registration(serial=2, latitude=HOME[0] - 0.01, choices=["20670001"]))
    await provisional.tick(sessionmaker, secret=TEST_SECRET, interval=0)
    changed = await client.get(latest, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag
    assert changed.json()["id"] != first.json()["id"]
    assert changed.json()["applicants"] == 2


async def test_the_worker_command_re_solves_open_periods_in_its_own_process(live, engine, database_url, tmp_path):
    import os
    import subprocess
    import sys

    from tests.conftest import PASSWORD, logged_in, sign_up

    admin = await logged_in(live, "admin@tangerang.test", PASSWORD)
    parent = await sign_up(live, "orangtua@contoh.test")
    period = await open_period(admin, schools_csv=ONE_SEAT)
    await parent.post(f"/api/periods/{period['id']}/applications", json=registration(choices=["20670001"]))
    env = {
        **os.environ,
        "PPDB_DATABASE_URL": database_url,
        "PPDB_SECRET_KEY": TEST_SECRET,
        "PPDB_DATA_DIR": str(tmp_path),
        "PPDB_PROVISIONAL_INTERVAL": "4",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "ppdb", "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        for _ in range(120):
            async with engine.connect() as conn:
                runs = await conn.scalar(
                    select(func.count())
                    .select_from(SelectionRun)
                    .where(SelectionRun.period_id == period["id"], SelectionRun.kind == RunKind.PROVISIONAL)
                )
            if runs:
                break
            await asyncio.sleep(0.25)
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0]
    assert runs == 1, output
    status = await parent.get(f"/api/periods/{period['id']}/selection-runs/latest")
    assert status.status_code == 200 and status.json()["applicants"] == 1
    for client in (admin, parent):
        await client.aclose()
