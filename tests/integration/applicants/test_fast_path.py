"""The admission-day fast path: one statement per registration once the period is known to be open.

`fast_writes` lists what the fast path (the app's runtime's group commit) stored: the transactional path never
goes through it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ppdb.applicants.models import Document
from ppdb.audit.models import AuditEntry
from tests.helpers import expect_error, open_period, registration


@pytest.fixture
async def warm(admin, parent) -> str:
    """An open period whose first registration (the transactional path) has been made; later ones go fast."""
    period = await open_period(admin)
    url = f"/api/periods/{period['id']}/applications"
    assert (await parent.post(url, json=registration(1))).status_code == 201
    return url


@pytest.fixture
def fast_writes(transport, monkeypatch) -> list[str]:
    """The registration numbers the fast path has stored (recorded on this test's own app's runtime)."""
    grouped = transport.app.state.runtime.registrations
    stored: list[str] = []
    write = grouped._write

    async def recorded(key, news):
        rows = await write(key, news)
        stored.extend(row["registration_number"] for row in rows if row is not None)
        return rows

    monkeypatch.setattr(grouped, "_write", recorded)
    return stored


async def test_fast_path_stores_what_it_answers(warm, fast_writes, parent, session):
    created = await parent.post(warm, json=registration(2, documents=["kk", "akta_kelahiran", "kk"]))
    assert created.status_code == 201, created.text
    body = created.json()
    assert fast_writes == [body["registration_number"]]
    read = await parent.get(f"/api/applications/{body['registration_number']}")
    assert read.json() == body
    assert [d["kind"] for d in body["documents"]] == ["akta_kelahiran", "kk"]
    audited = await session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "application.create", AuditEntry.entity_id == body["registration_number"])
    )
    assert audited == 1
    assert await session.scalar(select(func.count()).select_from(Document)) == 4


async def test_fast_path_replays_its_answer_for_the_same_key(warm, fast_writes, parent):
    key = {"Idempotency-Key": "coba-lagi-1"}
    first = await parent.post(warm, json=registration(2), headers=key)
    assert first.status_code == 201, first.text
    assert fast_writes == [first.json()["registration_number"]]
    again = await parent.post(warm, json=registration(2), headers=key)
    assert again.status_code == 201 and again.json() == first.json()  # database timestamps included
    expect_error(await parent.post(warm, json=registration(3), headers=key), 422, "idempotency_key_reused")


async def test_known_child_falls_back_to_the_full_checks(warm, parent):
    expect_error(await parent.post(warm, json=registration(1)), 409, "application_exists")


async def test_closing_registration_stops_the_fast_path_at_once(warm, admin, parent):
    period_id = warm.split("/")[3]
    assert (await admin.post(f"/api/periods/{period_id}/close")).status_code == 200
    expect_error(await parent.post(warm, json=registration(2)), 409, "period_not_open")
