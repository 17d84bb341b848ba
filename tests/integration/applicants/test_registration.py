"""Registration through HTTP: the happy path, read back, change, withdraw."""
from __future__ import annotations


from ppdb.geo import haversine_m
from tests.helpers import HOME, expect_error, open_period, registration


async def test_register_three_choices_and_read_back_server_distances(client):
    period = await open_period(client)
    created = await client.post(f"/api/periods/{period['id']}/applications", json=registration())
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "submitted"
    assert body["registration_number"].startswith("2027-SMP-")
    token = body["access_token"]

    read = await client.get(f"/api/applications/{body['registration_number']}", headers={"X-Access-Token": token})
    assert read.status_code == 200, read.text
    got = read.json()
    assert "access_token" not in got
    assert [c["npsn"] for c in got["choices"]] == ["20670001", "20670002", "20670003"]
    expected = round(haversine_m(HOME[0], HOME[1], -6.1790, 106.6310), 2)
    assert got["choices"][0]["distance_m"] == expected
    assert 100 < expected < 200
    assert got["choices"][0]["in_zone"] is True and got["choices"][0]["zone_priority"] == 1
    assert got["choices"][1]["zone_priority"] == 2
    assert got["choices"][2]["zone_priority"] == 1  # within the 5 km radius
    assert got["applicant"]["in_region"] is True


async def test_client_cannot_send_a_distance(client):
    period = await open_period(client)
    response = await client.post(f"/api/periods/{period['id']}/applications",
                                 json=registration(distance_m=1.0))
    expect_error(response, 400, "invalid_request")


async def test_wrong_token_reveals_nothing(client):
    period = await open_period(client)
    created = (await client.post(f"/api/periods/{period['id']}/applications", json=registration())).json()
    number = created["registration_number"]
    expect_error(await client.get(f"/api/applications/{number}"), 404, "application_not_found")
    expect_error(await client.get(f"/api/applications/{number}", headers={"X-Access-Token": "nope"}), 404,
                 "application_not_found")
    expect_error(await client.get("/api/applications/2027-SMP-XXXXXXXX", headers={"X-Access-Token": "nope"}), 404,
                 "application_not_found")
