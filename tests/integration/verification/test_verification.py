"""Verification through HTTP: operators see their school's applicants with flags, decide documents, lock
coordinates; the agency corrects coordinates and disqualifies; every change is audited."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import text

from tests.conftest import sign_up
from tests.helpers import HOME, expect_error, open_period, registration


async def _setup(admin, parent, operator):
    period = await open_period(admin)
    url = f"/api/periods/{period['id']}/applications"
    created = (await parent.post(url, json=registration())).json()
    return period, created["registration_number"], await operator()


async def test_operator_sees_own_school_with_flags(admin, parent, operator, transport):
    period = await open_period(admin)
    url = f"/api/periods/{period['id']}/applications"
    # three children on one KK and one point, one with a KK issued a month ago (declared exception)
    for serial in (1, 2, 3):
        family = await sign_up(transport, f"keluarga{serial}@contoh.test")
        body = registration(serial=serial, kk_number="3671010101000099")
        if serial == 3:
            body.update(
                kk_issued_on=(date.today() - timedelta(days=30)).isoformat(),
                kk_exception="member_change",
                documents=["kk", "kk_exception"],
            )
        assert (await family.post(url, json=body)).status_code == 201
    smp1 = await operator()
    rows = (await smp1.get("/api/schools/20670001/applicants", params={"period_id": period["id"]})).json()
    assert len(rows) == 3 and all(r["choice_rank"] == 1 for r in rows)
    assert all({"kk_many_children", "shared_coordinate"} <= set(r["flags"]) for r in rows)
    assert sum("kk_recent" in r["flags"] for r in rows) == 1
    only = (
        await smp1.get("/api/schools/20670001/applicants", params={"period_id": period["id"], "flag": "kk_recent"})
    ).json()
    assert len(only) == 1
    # a flag that does not exist is a mistake to point out, not an empty list
    expect_error(
        await smp1.get("/api/schools/20670001/applicants", params={"period_id": period["id"], "flag": "recent_kk"}),
        400,
        "invalid_request",
    )
    pages = [
        (
            await smp1.get(
                "/api/schools/20670001/applicants", params={"period_id": period["id"], "limit": 2, "offset": offset}
            )
        ).json()
        for offset in (0, 2)
    ]
    assert [len(p) for p in pages] == [2, 1]
    assert [r["registration_number"] for r in pages[0] + pages[1]] == [r["registration_number"] for r in rows]
    flagged = (
        await smp1.get(
            "/api/schools/20670001/applicants",
            params={"period_id": period["id"], "flag": "shared_coordinate", "limit": 1, "offset": 1},
        )
    ).json()
    assert [r["registration_number"] for r in flagged] == [rows[1]["registration_number"]]
    for offset, expected in ((0, 1), (1, 0)):  # the flag the database decides: paged there too
        recent = await smp1.get(
            "/api/schools/20670001/applicants",
            params={"period_id": period["id"], "flag": "kk_recent", "limit": 1, "offset": offset},
        )
        assert len(recent.json()) == expected, recent.text
    past = {"period_id": period["id"], "limit": 2, "offset": 4}
    assert (await smp1.get("/api/schools/20670001/applicants", params=past)).json() == []
    expect_error(
        await smp1.get("/api/schools/20670002/applicants", params={"period_id": period["id"]}), 404, "school_not_found"
    )
    expect_error(
        await parent.get("/api/schools/20670001/applicants", params={"period_id": period["id"]}), 403, "forbidden"
    )
    assert (await admin.get("/api/schools/20670002/applicants", params={"period_id": period["id"]})).status_code == 200


async def test_document_decisions_need_a_reason_to_reject(admin, parent, operator):
    _, number, smp1 = await _setup(admin, parent, operator)
    url = f"/api/applications/{number}/documents"
    expect_error(await smp1.post(f"{url}/kk/decision", json={"decision": "verified"}), 409, "document_not_uploaded")
    assert (await parent.put(f"{url}/kk", content=b"%PDF-1.4 kk")).status_code == 200
    expect_error(await smp1.post(f"{url}/kk/decision", json={"decision": "rejected"}), 422, "reason_required")
    rejected = await smp1.post(f"{url}/kk/decision", json={"decision": "rejected", "reason": "KK buram"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    expect_error(await smp1.post(f"{url}/rapor/decision", json={"decision": "verified"}), 404, "document_not_found")
    mine = (await parent.get(f"/api/applications/{number}")).json()
    assert {d["kind"]: d["reason"] for d in mine["documents"]}["kk"] == "KK buram"
    expect_error(await parent.post(f"{url}/kk/decision", json={"decision": "verified"}), 403, "forbidden")


async def test_verified_coordinate_is_locked_and_only_the_agency_moves_it(admin, parent, operator, session):
    _, number, smp1 = await _setup(admin, parent, operator)
    moved = await parent.patch(f"/api/applications/{number}", json={"latitude": HOME[0] - 0.001})
    assert moved.status_code == 200  # before verification the parent may move it
    assert (await smp1.post(f"/api/applications/{number}/coordinate/verify")).status_code == 204
    expect_error(await smp1.post(f"/api/applications/{number}/coordinate/verify"), 409, "coordinate_already_verified")
    expect_error(
        await parent.patch(f"/api/applications/{number}", json={"latitude": HOME[0]}), 409, "coordinate_locked"
    )
    assert (await parent.patch(f"/api/applications/{number}", json={"name": "Siti A."})).status_code == 200
    body = {"latitude": HOME[0], "longitude": HOME[1], "reason": "Verifikasi faktual ke rumah"}
    expect_error(await smp1.put(f"/api/applications/{number}/coordinate", json=body), 403, "forbidden")
    before = (await parent.get(f"/api/applications/{number}")).json()
    assert (await admin.put(f"/api/applications/{number}/coordinate", json=body)).status_code == 204
    after = (await parent.get(f"/api/applications/{number}")).json()
    assert after["applicant"]["coordinate_locked"] is True
    assert after["choices"][0]["distance_m"] != before["choices"][0]["distance_m"]
    trail = (
        await session.execute(
            text("SELECT action, actor, old, new FROM audit_log WHERE entity_id = :n ORDER BY id"), {"n": number}
        )
    ).all()
    actions = [t.action for t in trail]
    assert actions[-3:] == ["coordinate.verify", "application.change", "coordinate.correct"]
    correction = trail[-1]
    assert correction.actor.startswith("agency_admin:") and correction.new["reason"] == body["reason"]
    assert correction.old["latitude"] == HOME[0] - 0.001
    flags = (await smp1.get("/api/schools/20670001/applicants", params={"period_id": after["period_id"]})).json()
    assert "coordinate_moved" in flags[0]["flags"]


async def test_disqualification_promotes_the_next_applicant(admin, parent, operator, transport):
    one_seat = (
        "npsn,name,level,latitude,longitude,capacity,kelurahan_code\n"
        "20670001,SMP Negeri 1 Uji,smp,-6.1790,106.6310,1,36.71.01.1001\n"
        "20670002,SMP Negeri 2 Uji,smp,-6.1900,106.6400,1,36.71.01.1002\n"
        "20670003,SMP Negeri 3 Uji,smp,-6.2000,106.6500,0,36.71.02.1001\n"
    )
    period = await open_period(admin, schools_csv=one_seat)
    url = f"/api/periods/{period['id']}/applications"
    near = (await parent.post(url, json=registration(serial=1, choices=["20670001"]))).json()
    other = await sign_up(transport, "kedua@contoh.test")
    far = (await other.post(url, json=registration(serial=2, latitude=HOME[0] - 0.002, choices=["20670001"]))).json()
    assert (await admin.post(f"/api/periods/{period['id']}/close")).status_code == 200
    assert (await admin.post(f"/api/periods/{period['id']}/selection-runs")).json()["placed"] == 1
    smp1 = await operator()  # field verification before the announcement finds the nearest address fake
    reason = {"reason": "Domisili fiktif (verifikasi faktual)"}
    expect_error(
        await smp1.post(f"/api/applications/{near['registration_number']}/disqualify", json=reason), 403, "forbidden"
    )
    assert (
        await admin.post(f"/api/applications/{near['registration_number']}/disqualify", json=reason)
    ).status_code == 204
    rerun = (await admin.post(f"/api/periods/{period['id']}/selection-runs")).json()
    assert rerun["applicants"] == 1 and rerun["placed"] == 1
    await admin.post(f"/api/periods/{period['id']}/publications", json={})
    promoted = (await other.get(f"/api/applications/{far['registration_number']}/status")).json()
    assert promoted["placed_choice"] == 1
    mine = (await parent.get(f"/api/applications/{near['registration_number']}")).json()
    assert mine["status"] == "disqualified" and mine["status_reason"] == reason["reason"]
    # it sticks: no withdrawing and registering afresh, no daftar ulang
    expect_error(await parent.post(f"/api/applications/{near['registration_number']}/withdraw"), 409, "period_not_open")
