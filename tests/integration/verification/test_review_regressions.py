"""Holes found in review, kept shut: disqualification sticks, the coordinate lock holds, blank names,
another child's lottery number never published."""

from __future__ import annotations

from tests.helpers import HOME, expect_error, open_period, registration


async def test_disqualification_sticks_during_registration(admin, parent):
    period = await open_period(admin)
    url = f"/api/periods/{period['id']}/applications"
    number = (await parent.post(url, json=registration())).json()["registration_number"]
    assert (
        await admin.post(f"/api/applications/{number}/disqualify", json={"reason": "KK numpang"})
    ).status_code == 204
    expect_error(await parent.post(f"/api/applications/{number}/withdraw"), 409, "applicant_disqualified")
    expect_error(
        await parent.patch(f"/api/applications/{number}", json={"name": "Lain"}), 409, "applicant_disqualified"
    )
    expect_error(await parent.post(url, json=registration()), 409, "applicant_disqualified")


async def test_coordinate_lock_survives_withdraw_and_register_again(admin, parent, operator):
    period = await open_period(admin)
    url = f"/api/periods/{period['id']}/applications"
    number = (await parent.post(url, json=registration())).json()["registration_number"]
    smp1 = await operator()
    assert (await smp1.post(f"/api/applications/{number}/coordinate/verify")).status_code == 204
    assert (await parent.post(f"/api/applications/{number}/withdraw")).status_code == 200
    moved = registration(latitude=HOME[0] - 0.002)
    expect_error(await parent.post(url, json=moved), 409, "coordinate_locked")
    assert (await parent.post(url, json=registration())).status_code == 201  # same verified point: fine


async def test_blank_names_are_refused(admin, parent):
    period = await open_period(admin)
    url = f"/api/periods/{period['id']}/applications"
    for name in ("\u00a0", "   "):
        expect_error(await parent.post(url, json=registration(name=name)), 400, "invalid_request")


async def test_disqualified_after_publication_cannot_take_the_seat(admin, parent):
    period = await open_period(admin)
    pid = period["id"]
    number = (await parent.post(f"/api/periods/{pid}/applications", json=registration())).json()["registration_number"]
    await admin.post(f"/api/periods/{pid}/close")
    await admin.post(f"/api/periods/{pid}/selection-runs")
    await admin.post(f"/api/periods/{pid}/publications", json={})
    await admin.post(f"/api/periods/{pid}/reregistration/open", json={"closes_at": "2099-01-01T00:00:00+07:00"})
    await admin.post(f"/api/applications/{number}/disqualify", json={"reason": "Ijazah palsu"})
    expect_error(
        await parent.post(f"/api/applications/{number}/reregistration", json={"decision": "confirmed"}),
        409,
        "not_eligible",
    )
    expect_error(
        await admin.post(f"/api/applications/{number}/reregistration", json={"decision": "confirmed"}), 403, "forbidden"
    )


async def test_published_cut_offs_hide_the_lottery_and_exact_age(admin, parent, client):
    period = await open_period(admin)
    pid = period["id"]
    await parent.post(f"/api/periods/{pid}/applications", json=registration())
    await admin.post(f"/api/periods/{pid}/close")
    await admin.post(f"/api/periods/{pid}/selection-runs")
    await admin.post(f"/api/periods/{pid}/publications", json={})
    school = (await client.get(f"/api/periods/{pid}/results/schools/20670001")).json()
    domisili = next(p for p in school["paths"] if p["path"] == "domisili")
    assert domisili["key_names"] == ["distance", "age_months"]
    assert len(domisili["cutoff"]) == 2
    assert domisili["cutoff"][1] == -159  # born 15 March 2014: 13 years 3 months on 1 July 2027, not a day count
