"""Races on real, separately committed transactions."""
from __future__ import annotations

import asyncio

from sqlalchemy import text

from tests.conftest import PASSWORD, logged_in, sign_up
from tests.helpers import open_period, registration


async def test_concurrent_confirm_and_decline_settle_on_one_audited_outcome(live, engine):
    admin = await logged_in(live, "admin@tangerang.test", PASSWORD)
    parent = await sign_up(live, "orangtua@contoh.test")
    period = await open_period(admin)
    pid = period["id"]
    number = (await parent.post(f"/api/periods/{pid}/applications", json=registration())).json()["registration_number"]
    created = await admin.post("/api/operators", json={"email": "op@sekolah.test", "password": PASSWORD,
                                                       "name": "Op", "npsn": "20670001"})
    assert created.status_code == 201
    school = await logged_in(live, "op@sekolah.test", PASSWORD)
    await admin.post(f"/api/periods/{pid}/close")
    await admin.post(f"/api/periods/{pid}/selection-runs")
    await admin.post(f"/api/periods/{pid}/publications", json={})
    await admin.post(f"/api/periods/{pid}/reregistration/open", json={"closes_at": "2099-01-01T00:00:00+07:00"})

    url = f"/api/applications/{number}/reregistration"
    for _ in range(3):  # a few bursts: whoever wins, exactly one decision is stored and audited
        results = await asyncio.gather(parent.post(url, json={"decision": "confirmed"}),
                                       school.post(url, json={"decision": "declined"}),
                                       parent.post(url, json={"decision": "confirmed"}))
        assert sum(r.status_code == 200 for r in results) <= 1
        assert all(r.status_code in (200, 409) for r in results)
    async with engine.connect() as conn:
        decisions = (await conn.execute(text("SELECT decision::text FROM reregistrations"))).scalars().all()
        audited = await conn.scalar(text(
            "SELECT count(*) FROM audit_log WHERE action IN ('reregistration.confirmed', 'reregistration.declined')"))
    assert len(decisions) == 1 and audited == 1
    for client in (admin, parent, school):
        await client.aclose()


async def test_audited_writes_neither_wait_for_nor_deadlock_with_a_selection_run(live, engine):
    """A run holds its period row for its whole duration (seconds at scale, every minute while registration is
    open); the audit log's foreign key to that row must not make every audited write queue behind it."""
    from ppdb.db.session import make_sessionmaker
    from ppdb.regions.service import get_period

    admin = await logged_in(live, "admin@tangerang.test", PASSWORD)
    parent = await sign_up(live, "orangtua@contoh.test")
    period = await open_period(admin)
    number = (await parent.post(f"/api/periods/{period['id']}/applications", json=registration())).json()[
        "registration_number"]
    async with make_sessionmaker(engine)() as run, run.begin():
        await get_period(run, period["id"], for_update=True)  # as selection.service.run does
        verified = await asyncio.wait_for(admin.post(f"/api/applications/{number}/coordinate/verify"), timeout=5)
        assert verified.status_code == 204
    for client in (admin, parent):
        await client.aclose()
