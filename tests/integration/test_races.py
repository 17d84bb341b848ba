"""Races on real, separately committed transactions."""

from __future__ import annotations

import asyncio
import itertools

from sqlalchemy import text

from tests.conftest import PASSWORD, logged_in, sign_up
from tests.helpers import open_period, registration


async def test_concurrent_confirm_and_decline_settle_on_one_audited_outcome(live, engine):
    admin = await logged_in(live, "admin@tangerang.test", PASSWORD)
    parent = await sign_up(live, "orangtua@contoh.test")
    period = await open_period(admin)
    pid = period["id"]
    number = (await parent.post(f"/api/periods/{pid}/applications", json=registration())).json()["registration_number"]
    created = await admin.post(
        "/api/operators", json={"email": "op@sekolah.test", "password": PASSWORD, "name": "Op", "npsn": "20670001"}
    )
    assert created.status_code == 201
    school = await logged_in(live, "op@sekolah.test", PASSWORD)
    await admin.post(f"/api/periods/{pid}/close")
    await admin.post(f"/api/periods/{pid}/selection-runs")
    await admin.post(f"/api/periods/{pid}/publications", json={})
    await admin.post(f"/api/periods/{pid}/reregistration/open", json={"closes_at": "2099-01-01T00:00:00+07:00"})

    url = f"/api/applications/{number}/reregistration"
    for _ in range(3):  # a few bursts: whoever wins, exactly one decision is stored and audited
        results = await asyncio.gather(
            parent.post(url, json={"decision": "confirmed"}),
            school.post(url, json={"decision": "declined"}),
            parent.post(url, json={"decision": "confirmed"}),
        )
        assert sum(r.status_code == 200 for r in results) <= 1
        assert all(r.status_code in (200, 409) for r in results)
    async with engine.connect() as conn:
        decisions = (await conn.execute(text("SELECT decision::text FROM reregistrations"))).scalars().all()
        audited = await conn.scalar(
            text(
                "SELECT count(*) FROM audit_log WHERE action IN ('reregistration.confirmed', 'reregistration.declined')"
            )
        )
    assert len(decisions) == 1 and audited == 1
    for client in (admin, parent, school):
        await client.aclose()


async def test_twenty_concurrent_registrations_of_one_child_make_one_application(live, engine):
    admin = await logged_in(live, "admin@tangerang.test", PASSWORD)
    parents = [await sign_up(live, "orangtua@contoh.test"), await sign_up(live, "wali@contoh.test")]
    period = await open_period(admin)
    url = f"/api/periods/{period['id']}/applications"
    # Different keys (and two parent accounts): these are not retries but twenty attempts to register one NIK.
    results = await asyncio.gather(
        *(parents[i % 2].post(url, json=registration(), headers={"Idempotency-Key": f"k{i}"}) for i in range(20))
    )
    assert sorted(r.status_code for r in results) == [201] + [409] * 19, [r.text for r in results]
    # the account that registered it is told it exists; the other that another account holds it (or, when the
    # two met at the same instant, that it exists)
    winner = next(i for i, r in enumerate(results) if r.status_code == 201) % 2
    codes = [(i % 2 == winner, r.json()["code"]) for i, r in enumerate(results) if r.status_code == 409]
    assert {code for own, code in codes if own} <= {"application_exists"}
    assert {code for own, code in codes if not own} <= {"application_exists", "nik_registered_elsewhere"}
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM applications")) == 1
        assert await conn.scalar(text("SELECT count(*) FROM applicants")) == 1
        assert await conn.scalar(text("SELECT count(*) FROM audit_log WHERE action = 'application.create'")) == 1
    for client in (admin, *parents):
        await client.aclose()


def group_sizes(monkeypatch, grouped) -> list[int]:
    """The size of every group `grouped` writes or reads from now on."""
    sizes: list[int] = []
    write = grouped._write

    async def recorded(key, items):
        sizes.append(len(items))
        return await write(key, items)

    monkeypatch.setattr(grouped, "_write", recorded)
    return sizes


async def test_registrations_arriving_together_are_written_together_each_exactly_once(live, engine, monkeypatch):
    groups = group_sizes(monkeypatch, live.app.state.runtime.registrations)
    admin = await logged_in(live, "admin@tangerang.test", PASSWORD)
    parent = await sign_up(live, "orangtua@contoh.test")
    period = await open_period(admin)
    url = f"/api/periods/{period['id']}/applications"
    first = await parent.post(url, json=registration(1))  # the period is now known to be open
    assert first.status_code == 201
    # Twenty new children, a second and third attempt at child 2 (other keys) and a retry of child 3 (same key).
    attempts = [(registration(serial), f"k{serial}") for serial in range(2, 22)]
    attempts += [(registration(2), "other-2a"), (registration(2), "other-2b"), (registration(3), "k3")]
    results = await asyncio.gather(
        *(parent.post(url, json=body, headers={"Idempotency-Key": key}) for body, key in attempts)
    )
    codes = [r.status_code for r in results]
    assert codes[1:20] == [201] * 19 and sorted([codes[0], *codes[20:22]]) == [201, 409, 409], codes
    assert {r.json()["code"] for r in results if r.status_code == 409} == {"application_exists"}
    assert codes[22] == 201 and results[22].json() == results[1].json()  # the retry replays the first answer
    assert max(groups) > 1, groups  # they did go together
    numbers = {r.json()["registration_number"] for r in results if r.status_code == 201}
    assert len(numbers) == 20
    async with engine.connect() as conn:
        stored = (
            await conn.execute(
                text("""
            SELECT a.registration_number, p.nik, (SELECT count(*) FROM choices c WHERE c.application_id = a.id),
                   (SELECT count(*) FROM documents d WHERE d.application_id = a.id),
                   (SELECT count(*) FROM audit_log l WHERE l.entity_id = a.registration_number
                                                       AND l.action = 'application.create')
            FROM applications a JOIN applicants p ON p.id = a.applicant_id""")
            )
        ).all()
        keys = await conn.scalar(text("SELECT count(*) FROM idempotent_responses"))
    assert sorted(row[0] for row in stored) == sorted(numbers | {first.json()["registration_number"]})
    assert {row[1] for row in stored} == {registration(serial)["nik"] for serial in range(1, 22)}
    assert all(row[2:] == (3, 2, 1) for row in stored), stored
    assert keys == 20  # one stored answer per key that registered a child (child 1 had none)
    for client in (admin, parent):
        await client.aclose()


async def test_status_reads_arriving_together_answer_each_caller_with_their_own_only(live, engine, monkeypatch):
    from ppdb.db.session import make_sessionmaker
    from ppdb.selection import provisional
    from tests.conftest import TEST_SECRET

    groups = group_sizes(monkeypatch, live.app.state.runtime.status_rows)
    admin = await logged_in(live, "admin@tangerang.test", PASSWORD)
    parents = [await sign_up(live, "orangtua@contoh.test"), await sign_up(live, "wali@contoh.test")]
    period = await open_period(admin)
    url = f"/api/periods/{period['id']}/applications"
    numbers = [(await parents[i].post(url, json=registration(i + 1))).json()["registration_number"] for i in (0, 1)]
    await provisional.tick(make_sessionmaker(engine), secret=TEST_SECRET, interval=0)
    calls = [(i, j) for i in (0, 1) for j in (0, 1)] * 6  # each parent reads their own child and the other's
    results = await asyncio.gather(*(parents[i].get(f"/api/applications/{numbers[j]}/status") for i, j in calls))
    for (i, j), response in zip(calls, results, strict=True):
        if i == j:
            assert response.status_code == 200 and response.json()["registration_number"] == numbers[j]
        else:  # read in the same statement as the owner's, still refused to the other parent
            assert response.status_code == 404, response.text
    assert max(groups) > 1, groups
    for client in (admin, *parents):
        await client.aclose()


async def test_concurrent_selection_runs_are_serialized(live, engine):
    admin = await logged_in(live, "admin@tangerang.test", PASSWORD)
    parent = await sign_up(live, "orangtua@contoh.test")
    period = await open_period(admin)
    pid = period["id"]
    for serial in range(1, 6):
        created = await parent.post(f"/api/periods/{pid}/applications", json=registration(serial))
        assert created.status_code == 201, created.text
    await admin.post(f"/api/periods/{pid}/close")
    results = await asyncio.gather(*(admin.post(f"/api/periods/{pid}/selection-runs") for _ in range(4)))
    assert all(r.status_code in (201, 409) for r in results), [r.text for r in results]
    assert all(r.json()["code"] == "selection_running" for r in results if r.status_code == 409)
    succeeded = sum(r.status_code == 201 for r in results)
    assert succeeded >= 1
    async with engine.connect() as conn:
        runs = (
            await conn.execute(
                text("SELECT started_at, finished_at FROM selection_runs WHERE period_id = :p ORDER BY started_at"),
                {"p": pid},
            )
        ).all()
    assert len(runs) == succeeded
    for earlier, later in itertools.pairwise(runs):  # one after the other, never interleaved
        assert earlier.finished_at <= later.started_at
    after = await admin.post(f"/api/periods/{pid}/selection-runs")
    assert after.status_code == 201, after.text
    for client in (admin, parent):
        await client.aclose()


async def test_concurrent_rule_edits_lose_no_update(live, engine):
    admin = await logged_in(live, "admin@tangerang.test", PASSWORD)
    other = await logged_in(live, "admin@tangerang.test", PASSWORD)
    period = await open_period(admin, open_=False)
    url = f"/api/periods/{period['id']}/rules"
    # Both based on the same version: one wins, the other is told to reload (not silently overwritten).
    same_base = await asyncio.gather(
        admin.patch(url, json={"quotas": {"domisili": 50, "prestasi": 25}, "version": period["version"]}),
        other.patch(url, json={"quotas": {"domisili": 45, "prestasi": 30}, "version": period["version"]}),
    )
    assert sorted(r.status_code for r in same_base) == [200, 409], [r.text for r in same_base]
    assert next(r for r in same_base if r.status_code == 409).json()["code"] == "concurrent_update"
    winner = next(r for r in same_base if r.status_code == 200).json()
    # Without a version, concurrent edits of different fields are applied one after the other: both stay.
    unversioned = await asyncio.gather(
        admin.patch(url, json={"max_choices": 2}), other.patch(url, json={"mechanism": "first_choice_priority"})
    )
    assert [r.status_code for r in unversioned] == [200, 200], [r.text for r in unversioned]
    final = (await admin.get(f"/api/periods/{period['id']}")).json()
    assert final["rules"]["max_choices"] == 2 and final["rules"]["mechanism"] == "first_choice_priority"
    quotas = {p["name"]: p["quota"] for p in final["rules"]["paths"]}
    assert quotas["domisili"] == {p["name"]: p["quota"] for p in winner["rules"]["paths"]}["domisili"]
    assert final["version"] == period["version"] + 3
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM audit_log WHERE action = 'period.rules'")) == 3
    for client in (admin, other):
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
        "registration_number"
    ]
    async with make_sessionmaker(engine)() as run, run.begin():
        await get_period(run, period["id"], for_update=True)  # as selection.service.run does
        verified = await asyncio.wait_for(admin.post(f"/api/applications/{number}/coordinate/verify"), timeout=5)
        assert verified.status_code == 204
    for client in (admin, parent):
        await client.aclose()
