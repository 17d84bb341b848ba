"""Selection runs through HTTP: placements, cut-offs, transfers, explanations, replay, one run at a time."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

from sqlalchemy import text

from ppdb.selection import engine as selection_engine
from tests.helpers import HOME, expect_error, open_period, registration

# School A has 4 seats (SMP 2025 quotas: domisili 2, afirmasi 1, mutasi 0, prestasi 1); B has plenty.
SCHOOLS = """npsn,name,level,latitude,longitude,capacity,kelurahan_code
20670001,SMP Negeri 1 Uji,smp,-6.1790,106.6310,4,36.71.01.1001
20670002,SMP Negeri 2 Uji,smp,-6.1900,106.6400,64,36.71.01.1002
20670003,SMP Negeri 3 Uji,smp,-6.2000,106.6500,33,36.71.02.1001
"""


async def _register_five(parent, period_id):
    """Five domisili applicants, each 100 m further from school A, all wanting A then B."""
    numbers = []
    for i in range(5):
        body = registration(
            serial=i + 1, latitude=HOME[0] - 0.0009 * i, longitude=HOME[1], choices=["20670001", "20670002"]
        )
        created = await parent.post(f"/api/periods/{period_id}/applications", json=body)
        assert created.status_code == 201, created.text
        numbers.append(created.json()["registration_number"])
    return numbers


async def close(admin, period):
    assert (await admin.post(f"/api/periods/{period['id']}/close")).status_code == 200


async def test_run_places_by_distance_with_transferred_seats_and_explains(admin, parent, client, tmp_path):
    period = await open_period(admin, schools_csv=SCHOOLS)
    applicants = await _register_five(parent, period["id"])
    expect_error(await admin.post(f"/api/periods/{period['id']}/selection-runs"), 409, "period_not_ready")
    await close(admin, period)

    started = await admin.post(f"/api/periods/{period['id']}/selection-runs")
    assert started.status_code == 201, started.text
    run = started.json()
    # families see an official run only once it is announced
    expect_error(await parent.get(f"/api/applications/{applicants[-1]}/status"), 404, "run_not_found")
    assert (await admin.post(f"/api/periods/{period['id']}/publications", json={})).status_code == 201
    assert run["applicants"] == 5 and run["placed"] == 5 and len(run["digest"]) == 64
    a_domisili = next(p for p in run["programs"] if p["program"] == "20670001:domisili")
    # afirmasi and prestasi seats at A are unused, so they move to domisili: all 4 seats go to the nearest 4
    assert (a_domisili["capacity"], a_domisili["final_capacity"], a_domisili["filled"]) == (2, 4, 4)
    assert a_domisili["key_names"] == ["distance", "age", "lottery"]

    far_number = applicants[-1]
    explained = await parent.get(f"/api/applications/{far_number}/status")
    assert explained.status_code == 200, explained.text
    body = explained.json()
    assert body["placed_choice"] == 2 and body["digest"] == run["digest"]
    first, second = body["choices"]
    assert first["outcome"] == "not_placed" and second["outcome"] == "placed"
    assert first["text"].startswith("Tidak diterima di SMP Negeri 1 Uji: batas ")
    assert f"jarak Anda {first['key'][0]:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".") in first["text"]
    assert first["key"][0] > first["cutoff"][0]

    fourth_number = applicants[3]
    fourth = (await parent.get(f"/api/applications/{fourth_number}/status")).json()
    assert fourth["placed_choice"] == 1
    assert "bertambah 2 kursi dari kursi kosong jalur Afirmasi, Prestasi" in fourth["choices"][0]["text"]

    # Replay: the published instance re-solves to the same digest, in-process and with the CLI.
    exported = await client.get(f"/api/periods/{period['id']}/selection-runs/{run['id']}/instance")
    assert exported.status_code == 200
    assert selection_engine.solve(selection_engine.load_instance(exported.content)).digest == run["digest"]
    # keys are published as ranks: no birth date or distance that could single out a child
    published = json.loads(exported.content)
    keys = [c["key"] for a in published["applicants"] for c in a["choices"]]
    assert all(len(k) == 1 and isinstance(k[0], int) for k in keys)
    period_now = (await client.get(f"/api/periods/{period['id']}")).json()
    assert len(period_now["rules"]["lottery_seed"]) == 32  # revealed once registration closed
    assert hashlib.sha256(period_now["rules"]["lottery_seed"].encode()).hexdigest() == period_now["lottery_seed_sha256"]
    assert exported.headers["x-result-digest"] == run["digest"]
    for number in applicants:
        assert number not in exported.text
    assert registration()["nik"] not in exported.text
    path = tmp_path / "instance.json"
    path.write_bytes(exported.content)
    out = subprocess.run(
        [sys.executable, "-m", "ppdb", "selection", "solve", str(path)], capture_output=True, check=True
    )
    assert json.loads(out.stdout)["digest"] == run["digest"]


async def test_rerun_is_deterministic(admin, parent, client):
    period = await open_period(admin, schools_csv=SCHOOLS)
    await _register_five(parent, period["id"])
    await close(admin, period)
    first = (await admin.post(f"/api/periods/{period['id']}/selection-runs")).json()
    second = (await admin.post(f"/api/periods/{period['id']}/selection-runs")).json()
    assert first["digest"] == second["digest"] and first["id"] != second["id"]
    expect_error(await client.get(f"/api/periods/{period['id']}/selection-runs/latest"), 404, "run_not_found")
    await admin.post(f"/api/periods/{period['id']}/publications", json={})
    latest = (await client.get(f"/api/periods/{period['id']}/selection-runs/latest")).json()
    assert latest["id"] == second["id"]
    assert all("lottery" not in p["key_names"] for p in latest["programs"])  # the public form of cut-offs


async def test_withdrawn_applicants_are_not_selected(admin, parent, client):
    period = await open_period(admin, schools_csv=SCHOOLS)
    applicants = await _register_five(parent, period["id"])
    nearest_number = applicants[0]
    await parent.post(f"/api/applications/{nearest_number}/withdraw")
    await close(admin, period)
    run = (await admin.post(f"/api/periods/{period['id']}/selection-runs")).json()
    assert run["applicants"] == 4
    await admin.post(f"/api/periods/{period['id']}/publications", json={})
    far_number = applicants[-1]
    far = (await parent.get(f"/api/applications/{far_number}/status")).json()
    assert far["placed_choice"] == 1


async def test_a_second_run_while_one_is_running_is_refused(admin, engine):
    period = await open_period(admin, schools_csv=SCHOOLS)
    await close(admin, period)
    # another process holding the period's selection lock
    async with engine.connect() as other, other.begin():
        await other.execute(text("SELECT pg_advisory_xact_lock(hashtext('ppdb.selection'), :p)"), {"p": period["id"]})
        expect_error(await admin.post(f"/api/periods/{period['id']}/selection-runs"), 409, "selection_running")
    assert (await admin.post(f"/api/periods/{period['id']}/selection-runs")).status_code == 201


async def test_explanation_before_any_run_and_with_wrong_token(admin, parent, client):
    period = await open_period(admin, schools_csv=SCHOOLS)
    number, *_ = await _register_five(parent, period["id"])
    expect_error(await parent.get(f"/api/applications/{number}/status"), 404, "run_not_found")
    expect_error(await client.get(f"/api/applications/{number}/status"), 401, "login_required")
    expect_error(await parent.post(f"/api/periods/{period['id']}/selection-runs"), 403, "forbidden")
    expect_error(await parent.post(f"/api/periods/{period['id']}/selection-runs/what-if", json={}), 403, "forbidden")
    expect_error(await client.get(f"/api/periods/{period['id']}/selection-runs/latest"), 404, "run_not_found")


async def test_a_run_records_the_rules_version_it_used(admin, parent, client, session):
    period = await open_period(admin, schools_csv=SCHOOLS)
    url = f"/api/periods/{period['id']}/rules"
    assert period["rules_version"] == 1
    assert (await admin.patch(url, json={"quotas": {"domisili": 45, "prestasi": 30}})).json()["rules_version"] == 2
    await _register_five(parent, period["id"])
    await close(admin, period)
    run = (await admin.post(f"/api/periods/{period['id']}/selection-runs")).json()
    assert run["rules_version"] == 2
    stored = await session.scalar(text("SELECT rules_version FROM selection_runs WHERE id = :id"), {"id": run["id"]})
    assert stored == 2
    await admin.post(f"/api/periods/{period['id']}/publications", json={})
    latest = (await client.get(f"/api/periods/{period['id']}/selection-runs/latest")).json()
    assert latest["rules_version"] == 2 == (await client.get(f"/api/periods/{period['id']}")).json()["rules_version"]
