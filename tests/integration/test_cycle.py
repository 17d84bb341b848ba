"""The whole admission cycle through HTTP: registration -> verification -> selection -> publication ->
daftar ulang -> vacancy round -> second publication, with digests checked and every step audited."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from ppdb.logs import JsonFormatter
from ppdb.selection import engine as selection_engine
from tests.conftest import sign_up
from tests.helpers import expect_error, open_period, registration

SCHOOLS = """npsn,name,level,latitude,longitude,capacity,kelurahan_code
20670001,SMP Negeri 1 Uji,smp,-6.1790,106.6310,2,36.71.01.1001
20670002,SMP Negeri 2 Uji,smp,-6.1900,106.6400,1,36.71.01.1002
20670003,SMP Negeri 3 Uji,smp,-6.2000,106.6500,0,36.71.02.1001
"""


async def test_full_cycle(admin, client, transport, operator, session, caplog):
    caplog.set_level(logging.DEBUG)  # everything any logger says during the whole cycle
    period = await open_period(admin, schools_csv=SCHOOLS)
    pid = period["id"]
    families, numbers = [], []
    for i in range(4):  # due south of SMP 1, each further away; all want SMP 1 then SMP 2
        family = await sign_up(transport, f"keluarga{i}@contoh.test")
        body = registration(
            serial=i + 1, latitude=-6.1795 - 0.001 * i, longitude=106.6310, choices=["20670001", "20670002"]
        )
        created = await family.post(f"/api/periods/{pid}/applications", json=body)
        assert created.status_code == 201, created.text
        families.append(family)
        numbers.append(created.json()["registration_number"])
    first, second, _third, _fourth = numbers

    smp1 = await operator()
    assert (await families[0].put(f"/api/applications/{first}/documents/kk", content=b"%PDF-1.4 kk")).status_code == 200
    assert (
        await smp1.post(f"/api/applications/{first}/documents/kk/decision", json={"decision": "verified"})
    ).status_code == 200
    assert (await smp1.post(f"/api/applications/{first}/coordinate/verify")).status_code == 204

    assert (await admin.post(f"/api/periods/{pid}/close")).status_code == 200
    run = (await admin.post(f"/api/periods/{pid}/selection-runs")).json()
    assert run["placed"] == 3
    v1 = (await admin.post(f"/api/periods/{pid}/publications", json={})).json()
    snapshot = await client.get(f"/api/periods/{pid}/results/snapshot")
    assert hashlib.sha256(snapshot.content).hexdigest() == v1["digest"]

    def lookup(number, i):
        return client.get(
            f"/api/periods/{pid}/results/lookup",
            params={"registration_number": number, "birth_date": registration(serial=i + 1)["birth_date"]},
        )

    outcomes = [(await lookup(n, i)).json() for i, n in enumerate(numbers)]
    assert [o["npsn"] for o in outcomes[:2]] == ["20670001", "20670001"]
    unplaced = [n for n, o in zip(numbers, outcomes, strict=True) if not o["placed"]]
    assert len(unplaced) == 1

    closes = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    assert (await admin.post(f"/api/periods/{pid}/reregistration/open", json={"closes_at": closes})).status_code == 204
    assert (await families[0].post(f"/api/applications/{first}/reregistration", json={"decision": "confirmed"})).json()[
        "decision"
    ] == "confirmed"
    # The school records the second family's decline; the family's later click is told it is settled.
    declined = await smp1.post(f"/api/applications/{second}/reregistration", json={"decision": "declined"})
    assert declined.json()["decision"] == "declined"
    expect_error(
        await families[1].post(f"/api/applications/{second}/reregistration", json={"decision": "confirmed"}),
        409,
        "already_decided",
    )
    expect_error(
        await families[0].post(f"/api/applications/{first}/reregistration", json={"decision": "declined"}),
        409,
        "already_decided",
    )
    expect_error(
        await families[numbers.index(unplaced[0])].post(
            f"/api/applications/{unplaced[0]}/reregistration", json={"decision": "confirmed"}
        ),
        409,
        "not_placed",
    )
    released = (await admin.post(f"/api/periods/{pid}/reregistration/close")).json()["released"]
    assert released == 1  # the third placed applicant never re-registered
    expect_error(
        await families[0].post(f"/api/applications/{first}/reregistration", json={"decision": "declined"}),
        409,
        "reregistration_closed",
    )
    expect_error(await admin.post(f"/api/periods/{pid}/selection-runs"), 409, "period_not_ready")

    vacancy = await admin.post(f"/api/periods/{pid}/vacancy-rounds")
    assert vacancy.status_code == 201, vacancy.text
    v2 = (await admin.post(f"/api/periods/{pid}/publications", json={})).json()
    assert (v2["version"], v2["round"]) == (2, 1) and v2["digest"] != v1["digest"]
    after = [(await lookup(n, i)).json() for i, n in enumerate(numbers)]
    assert after[0]["npsn"] == "20670001"  # confirmed: kept
    assert after[numbers.index(unplaced[0])]["placed"] is True  # the waiting applicant got a released seat
    snapshot2 = await client.get(f"/api/periods/{pid}/results/snapshot")
    assert hashlib.sha256(snapshot2.content).hexdigest() == v2["digest"]

    actions = set(await session.scalars(text("SELECT DISTINCT action FROM audit_log")))
    assert {
        "application.create",
        "document.decide",
        "coordinate.verify",
        "period.status",
        "selection.official",
        "results.publish",
        "reregistration.confirmed",
        "reregistration.close",
        "selection.vacancy_round",
    } <= actions
    assert "reregistration.declined" in actions

    stats = (await admin.get(f"/api/periods/{pid}/statistics")).json()
    assert stats["applications"] == 4 and stats["run_kind"] == "official"
    assert stats["placed"] == 2 and stats["unplaced"] == 0  # the confirmed seat and the vacancy-round seat
    smp1_domisili = next(p for p in stats["programs"] if p["npsn"] == "20670001" and p["path"] == "domisili")
    assert smp1_domisili["applicants"] == 4 and smp1_domisili["first_choice"] == 4
    assert 0 < smp1_domisili["fill_rate"] <= 1

    trail = (await admin.get(f"/api/periods/{pid}/audit", params={"applicant": first})).json()
    assert [e["action"] for e in trail][::-1][:4] == [
        "application.create",
        "document.upload",
        "document.decide",
        "coordinate.verify",
    ]
    by_school = (await admin.get(f"/api/periods/{pid}/audit", params={"school": "20670002"})).json()
    assert by_school and {e["entity_id"] for e in by_school} <= set(numbers)
    publishes = (await admin.get(f"/api/periods/{pid}/audit", params={"action": "results.publish"})).json()
    assert len(publishes) == 2
    me = (await smp1.get("/api/auth/me")).json()
    mine = (await admin.get(f"/api/periods/{pid}/audit", params={"actor": f"school_operator:{me['id']}"})).json()
    assert {e["action"] for e in mine} == {"document.decide", "coordinate.verify", "reregistration.declined"}
    expect_error(await smp1.get(f"/api/periods/{pid}/audit"), 403, "forbidden")
    expect_error(await smp1.get(f"/api/periods/{pid}/statistics"), 403, "forbidden")

    # what the server logged (httpx here is the test's own client, logging the URLs it calls)
    logged = "\n".join(JsonFormatter().format(r) for r in caplog.records if not r.name.startswith("httpx"))
    assert "ppdb.access" in logged
    for i, number in enumerate(numbers):
        child = registration(serial=i + 1)
        for personal in (
            child["nik"],
            child["kk_number"],
            child["nisn"],
            child["name"],
            child["address"],
            str(-6.1795 - 0.001 * i),
            number,
        ):
            assert personal not in logged, personal


async def test_unclaimed_seats_are_released_when_the_deadline_passes(admin, parent, sessionmaker, session):
    from ppdb.flows import release_expired

    period = await open_period(admin, schools_csv=SCHOOLS)
    pid = period["id"]
    number = (await parent.post(f"/api/periods/{pid}/applications", json=registration())).json()["registration_number"]
    await admin.post(f"/api/periods/{pid}/close")
    await admin.post(f"/api/periods/{pid}/selection-runs")
    await admin.post(f"/api/periods/{pid}/publications", json={})
    closes = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert (await admin.post(f"/api/periods/{pid}/reregistration/open", json={"closes_at": closes})).status_code == 204
    async with sessionmaker() as s, s.begin():
        assert await release_expired(s) == []  # not yet
    await session.execute(text("UPDATE periods SET reregistration_closes_at = now() - interval '1 minute'"))
    await session.commit()
    expect_error(
        await parent.post(f"/api/applications/{number}/reregistration", json={"decision": "confirmed"}),
        409,
        "reregistration_closed",
    )
    async with sessionmaker() as s, s.begin():
        assert await release_expired(s) == [pid]
    assert (await admin.get(f"/api/periods/{pid}")).json()["status"] == "vacancy"
    decision = await session.scalar(text("SELECT decision::text FROM reregistrations"))
    assert decision == "released"


async def test_vacancy_round_moves_a_declined_afirmasi_seat_to_domisili(admin, transport):
    # 5 seats: domisili 2, afirmasi 1, mutasi 0, prestasi 2; unused prestasi seats move to domisili
    five = (
        "npsn,name,level,latitude,longitude,capacity,kelurahan_code\n"
        "20670001,SMP Negeri 1 Uji,smp,-6.1790,106.6310,5,36.71.01.1001\n"
        "20670002,SMP Negeri 2 Uji,smp,-6.1900,106.6400,0,36.71.01.1002\n"
        "20670003,SMP Negeri 3 Uji,smp,-6.2000,106.6500,0,36.71.02.1001\n"
    )
    period = await open_period(admin, schools_csv=five)
    pid = period["id"]
    families = []
    for i in range(6):
        family = await sign_up(transport, f"v{i}@contoh.test")
        body = registration(serial=i + 1, latitude=-6.1795 - 0.001 * i, longitude=106.6310, choices=["20670001"])
        if i == 0:
            body.update(path="afirmasi", documents=["afirmasi_proof"])
        number = (await family.post(f"/api/periods/{pid}/applications", json=body)).json()["registration_number"]
        families.append((family, number))
    await admin.post(f"/api/periods/{pid}/close")
    assert (await admin.post(f"/api/periods/{pid}/selection-runs")).json()["placed"] == 5  # 1 afirmasi + 4 domisili
    await admin.post(f"/api/periods/{pid}/publications", json={})
    await admin.post(f"/api/periods/{pid}/reregistration/open", json={"closes_at": "2099-01-01T00:00:00+07:00"})
    afirmasi_family, afirmasi_number = families[0]
    assert (
        await afirmasi_family.post(f"/api/applications/{afirmasi_number}/reregistration", json={"decision": "declined"})
    ).status_code == 200
    for family, number in families[1:5]:
        await family.post(f"/api/applications/{number}/reregistration", json={"decision": "confirmed"})
    await admin.post(f"/api/periods/{pid}/reregistration/close")
    vacancy = (await admin.post(f"/api/periods/{pid}/vacancy-rounds")).json()
    domisili = next(p for p in vacancy["programs"] if p["program"] == "20670001:domisili")
    assert domisili["filled"] == 5  # 4 confirmed + the waiting applicant, on the declined afirmasi seat
    # stored through the same code as an official run: timed, and its published input replays to its digest
    assert set(vacancy["seconds"]) == {"load", "compile", "solve", "write"}
    replay = await admin.get(f"/api/periods/{pid}/selection-runs/{vacancy['id']}/instance")
    assert selection_engine.solve(selection_engine.load_instance(replay.content)).digest == vacancy["digest"]
    await admin.post(f"/api/periods/{pid}/publications", json={})
    waiting_family, waiting_number = families[5]
    status = (await waiting_family.get(f"/api/applications/{waiting_number}/status")).json()
    assert status["placed_choice"] == 1
