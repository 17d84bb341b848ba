"""Malformed input found in review: each is a clear 4xx with a machine code, never a 500."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import expect_error, open_period, registration

ARABIC_NIK = "".join(chr(0x0660 + int(d)) for d in registration()["nik"])


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        (dict(nik=registration()["nik"] + "\n"), 422, "nik_invalid"),
        (dict(nik=ARABIC_NIK), 422, "nik_invalid"),
        (dict(kk_number="3671010101000001\n"), 422, "kk_number_invalid"),
        (dict(nisn="0000000001\n"), 422, "nisn_invalid"),
        (dict(kelurahan_code="36.71.01.1001\n"), 422, "kelurahan_code_invalid"),
        (dict(score="85.50"), 400, "unknown_field"),
        (dict(name="Siti\u0000Aminah"), 400, "invalid_request"),
        (dict(address="Jl. Merdeka\nRT 1"), 400, "invalid_request"),
        (dict(latitude=1e308), 400, "invalid_request"),
        (dict(choices=["20670001"] * 50), 400, "invalid_request"),
        (dict(nik="1" * 5000), 400, "invalid_request"),
    ],
)
async def test_registration_input(admin, parent, changes, status, code):
    period = await open_period(admin)
    expect_error(
        await parent.post(f"/api/periods/{period['id']}/applications", json=registration(**changes)), status, code
    )


async def test_a_change_cannot_set_a_score(admin, parent):
    period = await open_period(admin)
    number = (await parent.post(f"/api/periods/{period['id']}/applications", json=registration())).json()[
        "registration_number"
    ]
    expect_error(await parent.patch(f"/api/applications/{number}", json={"score": "99.99"}), 400, "unknown_field")


@pytest.mark.parametrize(
    "path",
    [
        "/api/periods/2147483648",
        "/api/periods/0",
        "/api/periods/99999999999999999999/schools",
        "/api/periods/1/selection-runs/2147483648/instance",
        "/api/applications/2027-SMP-%00",
        "/api/applications/..%2Fetc",
    ],
)
async def test_out_of_range_path_parameters(parent, path):
    response = await parent.get(path)
    assert response.status_code in (400, 404), response.text
    assert response.json()["code"] in ("invalid_request", "not_found")


async def test_malformed_json_is_invalid_request(parent):
    response = await parent.post(
        "/api/periods/1/applications", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    expect_error(response, 400, "invalid_request")
    assert "Permintaan" in response.json()["message"] or "Data" in response.json()["message"]


async def test_a_json_body_must_say_it_is_json(client, parent):
    """Security review L9(d): a body sent as XML, a form or text is refused, not parsed as JSON anyway."""
    login = b'{"email": "orangtua@contoh.test", "password": "salah-sekali"}'
    for media in ("application/xml", "text/plain", "application/x-www-form-urlencoded", None):
        headers = {"Content-Type": media} if media else {}
        refused = await client.post("/api/auth/login", content=login, headers=headers)
        expect_error(refused, 415, "unsupported_media_type")
    for media in ("application/json", "application/json; charset=utf-8", "application/merge-patch+json"):
        answered = await client.post("/api/auth/login", content=login, headers={"Content-Type": media})
        assert answered.status_code == 401, (media, answered.text)  # read as JSON: a wrong password
    assert (await parent.post("/api/auth/logout")).status_code in (200, 204)  # a write without a body needs no type


def test_the_schema_says_what_the_server_does(transport):
    """Security review L11: bodies that refuse unknown fields are closed objects in the schema, and the replay
    files are documented as the JSON objects they are, not as strings."""
    schema = transport.app.openapi_schema.to_schema()
    components = schema["components"]["schemas"]
    assert components["ApplicationCreate"]["additionalProperties"] is False
    assert components["RulesUpdate"]["additionalProperties"] is False
    assert "additionalProperties" not in components["ApplicationOut"]  # an answer may gain fields
    for path in (
        "/api/periods/{period_id}/selection-runs/{run_id}/instance",
        "/api/periods/{period_id}/results/snapshot",
    ):
        body = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert body.get("$ref") or body.get("type") == "object", (path, body)


async def test_a_method_the_route_does_not_have_is_405_with_allow(client):
    """Security review L11 (ST204, ST205): a 405 says which methods the address has, and so does OPTIONS, every
    one of them."""
    refused = await client.request("TRACE", "/api/auth/logout")
    expect_error(refused, 405, "method_not_allowed")
    assert "POST" in refused.headers["allow"]
    for path, methods in (
        ("/api/applications/2027-SMP-00000000", {"GET", "PATCH"}),
        ("/api/applications/2027-SMP-00000000/documents/kk", {"GET", "PUT"}),
    ):
        allowed = {m.strip() for m in (await client.options(path)).headers["allow"].split(",")}
        assert methods <= allowed, (path, allowed)


async def test_json_nested_too_deep_is_invalid_request_even_anonymously(client):
    deep = b"[" * 1000 + b"]" * 1000
    response = await client.post("/api/auth/login", content=deep, headers={"Content-Type": "application/json"})
    expect_error(response, 400, "invalid_request")


async def test_a_request_id_that_is_not_utf8_is_replaced_not_a_500(client):
    response = await client.get("/health", headers=[(b"x-request-id", b"\xff\xfe-abcdefgh")])
    assert response.status_code == 200
    assert response.headers["x-request-id"] != "\xff\xfe-abcdefgh"  # ours, not the caller's


async def test_period_creation_bad_input(admin):
    region_id = (await admin.get("/api/auth/me")).json()["region_id"]
    now = datetime.now(UTC)
    body = {
        "region_id": region_id,
        "school_year": "2027/2028",
        "level": "smp",
        "preset": "permendikdasmen-3-2025",
        "registration_opens_at": now.isoformat(),
        "registration_closes_at": (now + timedelta(days=3)).isoformat(),
    }
    expect_error(await admin.post("/api/periods", json={**body, "school_year": "0000/0001"}), 400, "invalid_request")
    expect_error(
        await admin.post("/api/periods", json={**body, "school_year": "2027/2029"}), 422, "school_year_invalid"
    )
    naive = {**body, "registration_opens_at": now.replace(tzinfo=None).isoformat()}
    expect_error(await admin.post("/api/periods", json=naive), 400, "invalid_request")
    expect_error(await admin.post("/api/periods", json={**body, "region_id": 2**40}), 400, "invalid_request")


@pytest.mark.parametrize(
    ("row", "code"),
    [
        ("20670011,SMP X,smp,-6.18,106.63,99999999999,", "capacity_invalid"),
        ("20670011,SMP X,smp,nan,106.63,64,", "latitude_invalid"),
        ("20670011,SMP X,smp,-6.18,inf,64,", "longitude_invalid"),
    ],
)
async def test_school_csv_bounds(admin, row, code):
    period = await open_period(admin, open_=False)
    csv = "npsn,name,level,latitude,longitude,capacity,kelurahan_code\n" + row + "\n"
    error = expect_error(
        await admin.post(f"/api/periods/{period['id']}/schools/import", content=csv), 422, "csv_invalid"
    )
    assert code in {d["code"] for d in error["details"]}


async def test_zone_csv_bounds_and_unreadable_files(admin):
    period = await open_period(admin, open_=False)
    url = f"/api/periods/{period['id']}/zones/import"
    header = "npsn,kelurahan_code,radius_m,priority\n"
    for row, code in [
        ("20670001,,nan,1", "radius_m_invalid"),
        ("20670001,,inf,1", "radius_m_invalid"),
        ("20670001,36.71.01.1001,,99999999999", "priority_invalid"),
    ]:
        error = expect_error(await admin.post(url, content=header + row + "\n"), 422, "csv_invalid")
        assert code in {d["code"] for d in error["details"]}
    expect_error(await admin.post(url, content=header + "20670001,\x00,,1\n"), 422, "csv_invalid")
    expect_error(await admin.post(url, content=header + '20670001,"' + "x" * 200_000 + '",,1\n'), 422, "csv_invalid")


# A value for each path parameter of the API; a route with a new one fails below until it is added here.
PATH_VALUES = {
    "period_id": "1",
    "registration_number": "2027-SMP-00000000",
    "kind": "kk",
    "npsn": "20670001",
    "region_id": "1",
    "number": "ADU-00000000",
    "file_id": "1",
}


async def test_every_json_body_refuses_a_misspelt_field(transport, admin, parent, client):
    """Every route that takes a JSON body, read from the OpenAPI schema so a new route cannot be forgotten: a
    misspelt field is a 400 `unknown_field` naming it, never a change silently not made."""
    schema = transport.app.openapi_schema.to_schema()
    components = schema["components"]["schemas"]
    walked = []
    for template, operations in schema["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is None:
                continue
            properties = components[body["schema"]["$ref"].rsplit("/", 1)[-1]].get("properties", {})
            real = next(iter(properties), "field")
            misspelt = real[:-1] if real[:-1] not in properties else real + "x"
            url = template.format(
                **{p["name"]: PATH_VALUES[p["name"]] for p in operation.get("parameters", []) if p["in"] == "path"}
            )
            # The first caller the route's guard lets through: the body is read before any business rule.
            for caller in (admin, parent, client):
                response = await caller.request(method.upper(), url, json={misspelt: 1})
                if response.status_code not in (401, 403):
                    break
            error = expect_error(response, 400, "unknown_field")
            assert error["field"] == misspelt, (method, template, error)
            walked.append(operation["operationId"])
    assert {"updatePeriodRules", "register", "whatIf", "createPeriod"} <= set(walked), walked
