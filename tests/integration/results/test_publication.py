"""Publication: an immutable, hashed snapshot; masked public lists; lookup by number and birth date; exports."""

from __future__ import annotations

import asyncio
import hashlib
import re

import httpx
import pytest
from sqlalchemy import text

from ppdb.results.service import _ONE_AT_A_TIME
from tests.conftest import PASSWORD, logged_in, sign_up
from tests.helpers import expect_error, open_period, registration

SCHOOLS = """npsn,name,level,latitude,longitude,capacity,kelurahan_code
20670001,SMP Negeri 1 Uji,smp,-6.1790,106.6310,2,36.71.01.1001
20670002,SMP Negeri 2 Uji,smp,-6.1900,106.6400,1,36.71.01.1002
20670003,SMP Negeri 3 Uji,smp,-6.2000,106.6500,0,36.71.02.1001
"""
NAMES = ["Ahmad Fauzi Rahman", "Siti Aminah", "Budi Santoso", "Dewi Lestari"]


async def published(admin, transport):
    period = await open_period(admin, schools_csv=SCHOOLS)
    url = f"/api/periods/{period['id']}/applications"
    created = []
    for i, name in enumerate(NAMES):
        family = await sign_up(transport, f"keluarga{i}@contoh.test")
        # due south of SMP Negeri 1, each 111 m further: Ahmad, Siti, Budi, Dewi
        body = registration(
            serial=i + 1, name=name, latitude=-6.1795 - 0.001 * i, longitude=106.6310, choices=["20670001", "20670002"]
        )
        created.append((family, (await family.post(url, json=body)).json()))
    await admin.post(f"/api/periods/{period['id']}/close")
    assert (await admin.post(f"/api/periods/{period['id']}/selection-runs")).status_code == 201
    publication = await admin.post(f"/api/periods/{period['id']}/publications", json={})
    assert publication.status_code == 201, publication.text
    return period, created, publication.json()


async def test_publish_freezes_a_hashed_snapshot(admin, client, transport, session):
    period, _, publication = await published(admin, transport)
    assert publication["version"] == 1 and publication["round"] == 0
    raw = await client.get(f"/api/periods/{period['id']}/results/snapshot")
    assert hashlib.sha256(raw.content).hexdigest() == publication["digest"] == raw.headers["x-digest"]
    assert (await client.get(f"/api/periods/{period['id']}")).json()["status"] == "published"
    with pytest.raises(Exception, match="append-only"):
        async with session.begin_nested():
            await session.execute(text("UPDATE publications SET digest = 'x'"))
    expect_error(await admin.post(f"/api/periods/{period['id']}/publications", json={}), 422, "reason_required")
    correction = await admin.post(
        f"/api/periods/{period['id']}/publications", json={"reason": "Koreksi setelah sanggahan"}
    )
    assert correction.json()["version"] == 2 and correction.json()["reason"] == "Koreksi setelah sanggahan"
    summary = (await client.get(f"/api/periods/{period['id']}/results")).json()
    assert summary["publication"]["version"] == 2


async def test_published_results_are_cacheable_until_a_correction(admin, client, transport):
    period, _, _ = await published(admin, transport)
    urls = [f"/api/periods/{period['id']}/results{tail}" for tail in ("", "/snapshot", "/schools/20670001")]
    first = [await client.get(url) for url in urls]
    assert all(r.status_code == 200 and "max-age" in r.headers["cache-control"] for r in first)
    again = [
        await client.get(url, headers={"If-None-Match": r.headers["etag"]}) for url, r in zip(urls, first, strict=False)
    ]
    assert [r.status_code for r in again] == [304, 304, 304]
    await admin.post(f"/api/periods/{period['id']}/publications", json={"reason": "Koreksi setelah sanggahan"})
    corrected = [
        await client.get(url, headers={"If-None-Match": r.headers["etag"]}) for url, r in zip(urls, first, strict=False)
    ]
    assert [r.status_code for r in corrected] == [200, 200, 200]
    assert corrected[0].json()["publication"]["version"] == 2
    assert corrected[1].headers["x-version"] == "2"


async def test_public_lists_are_masked_and_lookup_needs_the_birth_date(admin, client, transport):
    period, created, _ = await published(admin, transport)
    school = (await client.get(f"/api/periods/{period['id']}/results/schools/20670001")).json()
    domisili = next(p for p in school["paths"] if p["path"] == "domisili")
    assert [e["name"] for e in domisili["placed"]] == ["AHMAD F**** R****", "SITI A****"]
    assert all(re.fullmatch(r"\*{4}[0-9A-Z]{4}", e["registration_number"]) for e in domisili["placed"])
    assert domisili["cutoff"] is not None and domisili["final_seats"] == 2

    _, mine = created[0]
    url = f"/api/periods/{period['id']}/results/lookup"
    found = (
        await client.get(
            url,
            params={"registration_number": mine["registration_number"], "birth_date": mine["applicant"]["birth_date"]},
        )
    ).json()
    assert found["placed"] is True and found["npsn"] == "20670001" and "Selamat" in found["message"]
    expect_error(
        await client.get(url, params={"registration_number": mine["registration_number"], "birth_date": "2014-01-01"}),
        404,
        "result_not_found",
    )
    expect_error(
        await client.get(
            url, params={"registration_number": "2027-SMP-NOPE1234", "birth_date": mine["applicant"]["birth_date"]}
        ),
        404,
        "result_not_found",
    )
    _, last = created[2]  # Budi: third at school 1 (2 seats), and Dewi lives nearer school 2 (1 seat)
    unplaced = (
        await client.get(
            url,
            params={"registration_number": last["registration_number"], "birth_date": last["applicant"]["birth_date"]},
        )
    ).json()
    assert unplaced["placed"] is False and "belum diterima" in unplaced["message"]


async def test_birth_dates_cannot_be_guessed(live, engine):
    # on separately committed transactions: a miss is committed while the read (replica) session stays open
    admin = await logged_in(live, "admin@tangerang.test", PASSWORD)
    period, created, _ = await published(admin, live)
    client = httpx.AsyncClient(transport=live, base_url="http://testserver")
    url = f"/api/periods/{period['id']}/results/lookup"
    (_, mine), (_, other) = created[0], created[1]

    def ask(app, birth_date=None):
        return client.get(
            url,
            params={
                "registration_number": app["registration_number"],
                "birth_date": birth_date or app["applicant"]["birth_date"],
            },
        )

    for day in range(1, 11):  # ten misses for one number, each counted although the answer is an error
        expect_error(await ask(mine, f"2014-02-{day:02d}"), 404, "result_not_found")
    async with engine.connect() as connection:
        assert await connection.scalar(text("SELECT count(*) FROM result_lookup_failures")) == 10
    # the eleventh try from this address is refused, even with the right date: the number is closed to it
    expect_error(await ask(mine), 429, "lookup_throttled")
    assert (await ask(other)).json()["placed"] in (True, False)  # another number from the same address still works
    # The family asking from elsewhere still gets its answer (security review L4: the guesser is stopped, not the
    # family) ... until misses from many addresses reach the number's own budget; then it signs in instead.
    async with engine.begin() as connection:
        await connection.execute(text("UPDATE result_lookup_failures SET address = '10.0.0.9'"))
    assert (await ask(mine)).json()["npsn"] == "20670001"
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO result_lookup_failures (registration_number, address) "
                "SELECT :number, '10.0.1.' || g FROM generate_series(1, 20) g"
            ),
            {"number": mine["registration_number"]},
        )
    closed = expect_error(await ask(mine), 429, "lookup_throttled")
    assert closed["field"] == "registration_number" and "masuk ke akunnya" in closed["message"]
    async with engine.begin() as connection:
        await connection.execute(text("UPDATE result_lookup_failures SET at = at - interval '16 minutes'"))
    assert (await ask(mine)).json()["npsn"] == "20670001"  # the window has passed
    for day in range(1, 31):  # an address trying many numbers is refused as well
        expect_error(
            await client.get(
                url, params={"registration_number": f"2027-SMP-NOPE{day:04d}", "birth_date": "2014-01-01"}
            ),
            404,
            "result_not_found",
        )
    expect_error(await ask(other), 429, "lookup_throttled")


async def at_once(client: httpx.AsyncClient, period_id: int, number: str, dates: list[str]) -> list[httpx.Response]:
    """Lookups of `number` with each of `dates`, sent all at once; their answers in the order sent."""
    url = f"/api/periods/{period_id}/results/lookup"
    return await asyncio.gather(
        *(client.get(url, params={"registration_number": number, "birth_date": day}) for day in dates)
    )


async def test_guesses_sent_at_once_are_counted_like_guesses_in_a_row(live, engine):
    admin = await logged_in(live, "admin@tangerang.test", PASSWORD)
    period, created, _ = await published(admin, live)
    client = httpx.AsyncClient(transport=live, base_url="http://testserver")
    number = created[0][1]["registration_number"]
    answers = await at_once(client, period["id"], number, [f"2013-07-{day:02d}" for day in range(1, 26)])
    assert sorted(r.status_code for r in answers) == [404] * 10 + [429] * 15


async def test_the_right_date_behind_ten_waiting_guesses_is_refused(live, engine):
    """A hit waits behind the misses already waiting for the number's turn, and is counted against them (security
    review of issue 27: answered without the turn, the right date at the end of a burst got through however many
    guesses were waiting before it)."""
    admin = await logged_in(live, "admin@tangerang.test", PASSWORD)
    period, created, _ = await published(admin, live)
    client = httpx.AsyncClient(transport=live, base_url="http://testserver")
    app = created[0][1]
    number = app["registration_number"]

    async def waiting() -> int:
        async with engine.connect() as connection:
            return await connection.scalar(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            )

    async def until(count: int, *tasks: asyncio.Task) -> None:
        for _ in range(500):
            if await waiting() >= count or any(t.done() for t in tasks):
                return
            await asyncio.sleep(0.01)

    async with engine.connect() as holder:  # the number's turn taken, as by a miss being counted
        await holder.begin()
        await holder.exec_driver_sql(_ONE_AT_A_TIME, (number,))
        wrong = [f"2013-07-{day:02d}" for day in range(1, 11)]
        guesses = asyncio.ensure_future(at_once(client, period["id"], number, wrong))
        await until(10, guesses)
        right = asyncio.ensure_future(at_once(client, period["id"], number, [app["applicant"]["birth_date"]]))
        await until(11, right)
        await holder.rollback()
    expect_error((await right)[0], 429, "lookup_throttled")
    assert sorted(r.status_code for r in (await guesses)) == [404] * 10
    async with engine.connect() as connection:
        assert await connection.scalar(text("SELECT count(*) FROM result_lookup_failures")) == 10


async def test_public_responses_carry_no_personal_data(admin, client, transport):
    period, created, _ = await published(admin, transport)
    public = [
        await client.get(f"/api/periods/{period['id']}{path}")
        for path in (
            "",
            "/schools",
            "/results",
            "/results/snapshot",
            "/results/schools/20670001",
            "/results/schools/20670002",
            "/selection-runs/latest",
        )
    ]
    run_id = public[-1].json()["id"]
    public.append(await client.get(f"/api/periods/{period['id']}/selection-runs/{run_id}/instance"))
    body = "\n".join(r.text for r in public)
    assert all(r.status_code == 200 for r in public)
    for _, app in created:
        person = app["applicant"]
        secrets = [
            person["nik"],
            person["kk_number"],
            person["nisn"],
            person["address"],
            person["name"],
            app["registration_number"],
            f"{person['latitude']}",
        ]  # (their longitude is the school's)
        for value in secrets:
            assert value not in body, value


async def test_exports_are_scoped_and_audited(admin, client, transport, operator, session):
    period, created, _ = await published(admin, transport)
    full = await admin.get(f"/api/periods/{period['id']}/exports/placements.csv")
    assert full.status_code == 200 and full.text.count("\n") == 1 + len(created)
    assert created[0][1]["applicant"]["nik"] in full.text
    smp1 = await operator()
    mine = await smp1.get(f"/api/periods/{period['id']}/exports/schools/20670001/placements.csv")
    assert mine.status_code == 200 and mine.text.count("\n") == 1 + 2
    expect_error(
        await smp1.get(f"/api/periods/{period['id']}/exports/schools/20670002/placements.csv"), 404, "school_not_found"
    )
    expect_error(await smp1.get(f"/api/periods/{period['id']}/exports/placements.csv"), 403, "forbidden")
    expect_error(await client.get(f"/api/periods/{period['id']}/exports/placements.csv"), 401, "login_required")
    exports = (await session.execute(text("SELECT actor FROM audit_log WHERE action = 'results.export'"))).all()
    assert len(exports) == 2
