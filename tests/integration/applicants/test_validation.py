"""Every registration rule, one test each: a 4xx with its stable machine code, and nothing stored."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from ppdb.applicants.models import Applicant, Application
from ppdb.identity import nik_for
from tests.helpers import expect_error, open_period, registration

BIRTH = date(2014, 3, 15)

CASES = [
    ("nik_invalid", 422, dict(nik="36710155031400")),
    ("nik_invalid", 422, dict(nik="367101550314000X")),
    ("nik_birthdate_mismatch", 422, dict(nik=nik_for("367101", BIRTH + timedelta(days=1), "P", 1))),
    ("nik_birthdate_mismatch", 422, dict(nik=nik_for("367101", BIRTH, "L", 1))),  # girls' day is +40
    ("nisn_invalid", 422, dict(nisn="12345")),
    ("kk_number_invalid", 422, dict(kk_number="36710101")),
    ("kk_issue_date_invalid", 422, dict(kk_issued_on=(date.today() + timedelta(days=5)).isoformat())),
    ("kk_too_recent", 422, dict(kk_issued_on=(date.today() - timedelta(days=30)).isoformat())),
    (
        "document_missing",
        422,
        dict(kk_issued_on=(date.today() - timedelta(days=30)).isoformat(), kk_exception="member_change"),
    ),
    ("kelurahan_code_invalid", 422, dict(kelurahan_code="3671011001")),
    ("coordinate_outside_indonesia", 422, dict(latitude=0.0, longitude=0.0)),
    ("coordinate_outside_indonesia", 422, dict(latitude=1.35, longitude=103.82 - 10)),
    ("age_above_maximum", 422, dict(birth_date=date(2011, 6, 30))),  # 16 on 1 July 2027
    ("birth_date_invalid", 422, dict(birth_date=date.today() + timedelta(days=1))),
    ("path_unknown", 422, dict(path="zonasi")),
    ("document_missing", 422, dict(path="afirmasi")),
    ("category_invalid", 422, dict(category="ketm")),
    ("choices_empty", 422, dict(choices=[])),
    ("too_many_choices", 422, dict(choices=["20670001", "20670002", "20670003", "20670004"])),
    ("duplicate_choice", 422, dict(choices=["20670001", "20670001"])),
    ("school_not_in_period", 422, dict(choices=["20670001", "99999999"])),
    ("outside_zone", 422, dict(kelurahan_code="36.71.09.1001", latitude=-6.1300, longitude=106.5800)),
    ("invalid_request", 400, dict(sex="X")),
    ("invalid_request", 400, dict(birth_date="2014-02-30")),
    ("invalid_request", 400, dict(latitude="north")),
    ("invalid_request", 400, dict(name="\u200b\u200b")),  # nothing visible
    ("invalid_request", 400, dict(name="Siti \u202enimA")),  # reads differently from what it is
]


@pytest.mark.parametrize(("code", "status", "changes"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
async def test_rule(admin, parent, session, code, status, changes):
    period = await open_period(admin)
    changes = dict(changes)
    birth = changes.pop("birth_date", BIRTH)
    body = registration(birth_date=birth, **changes) if isinstance(birth, date) else registration(**changes)
    if not isinstance(birth, date):
        body["birth_date"] = birth
    error = expect_error(await parent.post(f"/api/periods/{period['id']}/applications", json=body), status, code)
    assert error.get("field")
    assert await session.scalar(select(func.count()).select_from(Application)) == 0
    assert await session.scalar(select(func.count()).select_from(Applicant)) == 0


async def test_kk_exception_with_document_is_accepted(admin, parent):
    period = await open_period(admin)
    body = registration(
        kk_issued_on=(date.today() - timedelta(days=30)).isoformat(),
        kk_exception="member_change",
        documents=["kk", "akta_kelahiran", "kk_exception"],
    )
    response = await parent.post(f"/api/periods/{period['id']}/applications", json=body)
    assert response.status_code == 201, response.text
    assert {d["kind"] for d in response.json()["documents"]} == {"kk", "akta_kelahiran", "kk_exception"}


async def test_path_outside_zone_allowed_where_zone_not_required(admin, parent):
    period = await open_period(admin)
    body = registration(
        path="afirmasi",
        documents=["afirmasi_proof"],
        kelurahan_code="36.71.09.1001",
        latitude=-6.1300,
        longitude=106.5800,
    )
    response = await parent.post(f"/api/periods/{period['id']}/applications", json=body)
    assert response.status_code == 201, response.text
    assert [c["in_zone"] for c in response.json()["choices"]] == [False, False, False]


async def test_period_not_open(admin, parent):
    period = await open_period(admin, open_=False)
    response = await parent.post(f"/api/periods/{period['id']}/applications", json=registration())
    expect_error(response, 409, "period_not_open")


async def test_unknown_period(parent):
    expect_error(await parent.post("/api/periods/999999/applications", json=registration()), 404, "period_not_found")


async def test_sd_age_limits_and_psychologist_letter(admin, parent):
    client = admin
    region_id = (await admin.get("/api/auth/me")).json()["region_id"]
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    period = (
        await client.post(
            "/api/periods",
            json={
                "region_id": region_id,
                "school_year": "2027/2028",
                "level": "sd",
                "preset": "permendikdasmen-3-2025",
                "registration_opens_at": (now - timedelta(days=1)).isoformat(),
                "registration_closes_at": (now + timedelta(days=5)).isoformat(),
            },
        )
    ).json()
    csv = "npsn,name,level,latitude,longitude,capacity\n20610001,SD Negeri 1 Uji,sd,-6.1790,106.6310,56\n"
    assert (await client.post(f"/api/periods/{period['id']}/schools/import", content=csv)).status_code == 200
    zones = "npsn,kelurahan_code,radius_m,priority\n20610001,36.71.01.1001,,1\n"
    assert (await client.post(f"/api/periods/{period['id']}/zones/import", content=zones)).status_code == 200
    assert (await client.post(f"/api/periods/{period['id']}/open")).status_code == 200
    url = f"/api/periods/{period['id']}/applications"

    five_and_half = date(2021, 12, 1)  # 5 years 7 months on 1 July 2027
    body = registration(birth_date=five_and_half, choices=["20610001"])
    error = expect_error(await parent.post(url, json=body), 422, "age_below_minimum")
    assert "psikolog" in error["message"]
    body["documents"] = ["kk", "psychologist_letter"]
    assert (await parent.post(url, json=body)).status_code == 201

    five = registration(serial=2, birth_date=date(2022, 3, 1), choices=["20610001"], documents=["psychologist_letter"])
    expect_error(await parent.post(url, json=five), 422, "age_below_minimum")


async def test_every_failing_rule_is_reported_at_once(admin, parent, session):
    """A parent fixes everything in one go: the answer's code is the first rule in the order of the form, and
    `details` names every failing field (one each), the choices too once the path and the home point are valid."""
    period = await open_period(admin)
    body = registration(
        nik=nik_for("367101", BIRTH, "L", 1),  # a boy's NIK for a girl
        kk_number="36710101",
        kk_issued_on=(date.today() - timedelta(days=30)).isoformat(),
        kelurahan_code="36.71.09.1001",
        latitude=-6.1300,
        longitude=106.5800,  # far outside every zone
    )
    error = expect_error(
        await parent.post(f"/api/periods/{period['id']}/applications", json=body), 422, "nik_birthdate_mismatch"
    )
    assert (error["code"], error["field"]) == ("nik_birthdate_mismatch", "birth_date")
    assert [(d["code"], d["field"]) for d in error["details"]] == [
        ("nik_birthdate_mismatch", "birth_date"),
        ("kk_number_invalid", "kk_number"),
        ("kk_too_recent", "kk_issued_on"),
        ("outside_zone", "choices[0]"),
    ]
    assert all(d["message"] for d in error["details"])
    assert await session.scalar(select(func.count()).select_from(Application)) == 0

    point = registration(latitude=0.0, longitude=0.0, path="zonasi")  # no choices checked without a home point
    error = expect_error(
        await parent.post(f"/api/periods/{period['id']}/applications", json=point), 422, "coordinate_outside_indonesia"
    )
    assert [d["code"] for d in error["details"]] == ["coordinate_outside_indonesia", "path_unknown"]


async def test_an_absurd_birth_date_or_kelurahan_is_refused_not_crashed_on(admin, parent):
    """A birth date in year 50 is an age to refuse, not an overflow; checks that need a known home (region,
    zones, the choices' distances) wait for it."""
    period = await open_period(admin)
    ancient = registration(birth_date=date(50, 1, 1))
    error = expect_error(
        await parent.post(f"/api/periods/{period['id']}/applications", json=ancient), 422, "age_above_maximum"
    )
    assert {d["field"] for d in error.get("details", [error])} == {"birth_date"}
    nowhere = registration(kelurahan_code="36710110")
    error = expect_error(
        await parent.post(f"/api/periods/{period['id']}/applications", json=nowhere), 422, "kelurahan_code_invalid"
    )
    assert [d["code"] for d in error.get("details", [error])] == ["kelurahan_code_invalid"]
