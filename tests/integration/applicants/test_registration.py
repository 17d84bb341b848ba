"""Registration through HTTP: the happy path, read back, change, withdraw."""

from __future__ import annotations

from ppdb.geo import haversine_m
from tests.conftest import sign_up
from tests.helpers import HOME, expect_error, open_period, registration


async def test_register_three_choices_and_read_back_server_distances(admin, parent):
    period = await open_period(admin)
    created = await parent.post(f"/api/periods/{period['id']}/applications", json=registration())
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "submitted"
    assert body["registration_number"].startswith("2027-SMP-")

    read = await parent.get(f"/api/applications/{body['registration_number']}")
    assert read.status_code == 200, read.text
    got = read.json()
    assert [c["npsn"] for c in got["choices"]] == ["20670001", "20670002", "20670003"]
    expected = round(haversine_m(HOME[0], HOME[1], -6.1790, 106.6310), 2)
    assert got["choices"][0]["distance_m"] == expected
    assert 100 < expected < 200
    assert got["choices"][0]["in_zone"] is True and got["choices"][0]["zone_priority"] == 1
    assert got["choices"][1]["zone_priority"] == 2
    assert got["choices"][2]["zone_priority"] == 1  # within the 5 km radius
    assert got["applicant"]["in_region"] is True
    assert body == got  # the answer is built from what was written, so it must equal reading it back


async def test_registering_again_after_withdrawal_answers_what_is_stored(admin, parent):
    period = await open_period(admin)
    url = f"/api/periods/{period['id']}/applications"
    first = (await parent.post(url, json=registration(documents=["kk", "akta_kelahiran"]))).json()
    await parent.post(f"/api/applications/{first['registration_number']}/withdraw")
    again = await parent.post(url, json=registration(choices=["20670002"], name="Nama Baru  ", documents=[]))
    assert again.status_code == 201, again.text
    read = await parent.get(f"/api/applications/{again.json()['registration_number']}")
    assert again.json() == read.json()
    assert read.json()["applicant"]["name"] == "Nama Baru" and read.json()["documents"] == []


async def test_client_cannot_send_a_distance(admin, parent):
    period = await open_period(admin)
    response = await parent.post(f"/api/periods/{period['id']}/applications", json=registration(distance_m=1.0))
    assert expect_error(response, 400, "unknown_field")["field"] == "distance_m"


async def test_other_people_see_nothing(admin, parent, client, transport):
    period = await open_period(admin)
    created = (await parent.post(f"/api/periods/{period['id']}/applications", json=registration())).json()
    number = created["registration_number"]
    expect_error(await client.get(f"/api/applications/{number}"), 401, "login_required")
    stranger = await sign_up(transport, "orangtua.lain@contoh.test")
    expect_error(await stranger.get(f"/api/applications/{number}"), 404, "application_not_found")
    expect_error(await stranger.post(f"/api/applications/{number}/withdraw"), 404, "application_not_found")
    expect_error(await parent.get("/api/applications/2027-SMP-XXXXXXXX"), 404, "application_not_found")
    assert (await admin.get(f"/api/applications/{number}")).status_code == 200  # the region's agency may read
    expect_error(await admin.post(f"/api/applications/{number}/withdraw"), 403, "forbidden")
