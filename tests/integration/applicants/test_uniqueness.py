"""One active application per NIK per period (a database constraint), idempotent retries, change, withdraw."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from ppdb.applicants.models import Application
from tests.conftest import PASSWORD, logged_in, sign_up
from tests.helpers import expect_error, open_period, registration


async def test_second_active_application_for_a_nik_is_refused(admin, parent, session):
    period = await open_period(admin)
    url = f"/api/periods/{period['id']}/applications"
    assert (await parent.post(url, json=registration())).status_code == 201
    other_schools = registration(choices=["20670002"], name="Nama Lain")
    expect_error(await parent.post(url, json=other_schools), 409, "application_exists")
    assert await session.scalar(select(func.count()).select_from(Application)) == 1


async def test_database_enforces_one_active_application(admin, parent, session):
    period = await open_period(admin)
    created = (await parent.post(f"/api/periods/{period['id']}/applications", json=registration())).json()
    row = (
        await session.execute(
            text("SELECT period_id, applicant_id, path FROM applications WHERE registration_number = :n"),
            {"n": created["registration_number"]},
        )
    ).one()
    with pytest.raises(IntegrityError, match="uq_applications_active_applicant"):
        async with session.begin_nested():
            await session.execute(
                text(
                    "INSERT INTO applications (period_id, applicant_id, registration_number, path, "
                    "status, submitted_at) VALUES (:p, :a, 'X-1', :path, 'submitted', now())"
                ),
                {"p": row.period_id, "a": row.applicant_id, "path": row.path},
            )


async def test_withdraw_then_register_again(admin, parent):
    period = await open_period(admin)
    url = f"/api/periods/{period['id']}/applications"
    first = (await parent.post(url, json=registration())).json()
    headers = {}
    withdrawn = await parent.post(f"/api/applications/{first['registration_number']}/withdraw", headers=headers)
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    expect_error(
        await parent.post(f"/api/applications/{first['registration_number']}/withdraw", headers=headers),
        409,
        "application_withdrawn",
    )
    again = await parent.post(url, json=registration(choices=["20670002"]))
    assert again.status_code == 201, again.text
    assert again.json()["registration_number"] != first["registration_number"]


@pytest.mark.parametrize("key", ["retry-7f3a", "k" * 200])  # the longest key the header takes fits the store
async def test_same_idempotency_key_returns_the_first_result(admin, parent, session, key):
    period = await open_period(admin)
    url = f"/api/periods/{period['id']}/applications"
    headers = {"Idempotency-Key": key}
    first = await parent.post(url, json=registration(), headers=headers)
    second = await parent.post(url, json=registration(), headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert await session.scalar(select(func.count()).select_from(Application)) == 1
    changed = registration(choices=["20670002"])
    expect_error(await parent.post(url, json=changed, headers=headers), 422, "idempotency_key_reused")


async def test_failed_request_does_not_burn_its_idempotency_key(admin, parent):
    period = await open_period(admin)
    url = f"/api/periods/{period['id']}/applications"
    headers = {"Idempotency-Key": "k-1"}
    expect_error(await parent.post(url, json=registration(nisn="1"), headers=headers), 422, "nisn_invalid")
    assert (await parent.post(url, json=registration(nisn="1"), headers=headers)).status_code == 422
    assert (await parent.post(url, json=registration(), headers=headers)).status_code == 201


async def test_change_recomputes_distances_and_is_audited(admin, parent, session):
    period = await open_period(admin)
    created = (await parent.post(f"/api/periods/{period['id']}/applications", json=registration())).json()
    number, headers = created["registration_number"], {}
    moved = await parent.patch(
        f"/api/applications/{number}",
        headers=headers,
        json={"latitude": -6.1850, "longitude": 106.6360, "choices": ["20670003", "20670001"]},
    )
    assert moved.status_code == 200, moved.text
    got = moved.json()
    assert [c["npsn"] for c in got["choices"]] == ["20670003", "20670001"]
    assert got["choices"][1]["distance_m"] != created["choices"][0]["distance_m"]
    assert got["applicant"]["latitude"] == -6.185
    bad = await parent.patch(f"/api/applications/{number}", headers=headers, json={"choices": ["99999999"]})
    expect_error(bad, 422, "school_not_in_period")
    kept = (await parent.get(f"/api/applications/{number}", headers=headers)).json()
    assert [c["npsn"] for c in kept["choices"]] == ["20670003", "20670001"]
    expect_error(
        await parent.patch(f"/api/applications/{number}", headers=headers, json={"nik": "1"}), 400, "unknown_field"
    )
    actions = (
        await session.execute(
            text("SELECT action, old, new FROM audit_log WHERE entity_id = :n ORDER BY id"), {"n": number}
        )
    ).all()
    assert [a.action for a in actions] == ["application.create", "application.change"]
    assert actions[1].old["latitude"] == -6.178 and actions[1].new["latitude"] == -6.185


async def test_audit_log_is_append_only(admin, parent, session):
    await open_period(admin)
    with pytest.raises(Exception, match="append-only"):
        async with session.begin_nested():
            await session.execute(text("UPDATE audit_log SET actor = 'someone else'"))
    with pytest.raises(Exception, match="append-only"):
        async with session.begin_nested():
            await session.execute(text("DELETE FROM audit_log"))


async def test_concurrent_retries_with_one_key_store_one_application(live, engine):
    """Real concurrent transactions (no shared test transaction): one row, identical answers."""
    admin = await logged_in(live, "admin@tangerang.test", PASSWORD)
    client = await sign_up(live, "orangtua@contoh.test")
    period = await open_period(admin)
    url = f"/api/periods/{period['id']}/applications"
    headers = {"Idempotency-Key": "same"}
    responses = await asyncio.gather(*(client.post(url, json=registration(), headers=headers) for _ in range(8)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["registration_number"] for r in responses}) == 1
    others = await asyncio.gather(*(client.post(url, json=registration(choices=["20670002"])) for _ in range(8)))
    assert {r.status_code for r in others} == {409}
    assert {r.json()["code"] for r in others} == {"application_exists"}
    async with engine.connect() as conn:
        count = await conn.scalar(text("SELECT count(*) FROM applications WHERE period_id = :p"), {"p": period["id"]})
    assert count == 1
    await admin.aclose()
    await client.aclose()
