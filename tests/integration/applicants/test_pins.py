"""Who may register a child: a PIN issued after the KK was checked, where the region requires one, and the
Dinas releasing a NIK another account took."""

from __future__ import annotations

from sqlalchemy import select, text

from ppdb.accounts import service as accounts
from ppdb.applicants.models import Pin
from tests.conftest import PASSWORD, logged_in, sign_up
from tests.helpers import enter_rapor, expect_error, new_period, open_period, registration

SCHOOLS_HEADER = "npsn,name,level,latitude,longitude,capacity,kelurahan_code\n"


async def pin_period(admin) -> dict:
    period = await open_period(admin, open_=False)
    changed = await admin.patch(f"/api/periods/{period['id']}/rules", json={"pin_required": True})
    assert changed.status_code == 200, changed.text
    assert (await admin.post(f"/api/periods/{period['id']}/open")).status_code == 200
    return period


async def test_without_the_childs_pin_a_stranger_cannot_take_its_nik(admin, parent, operator, transport, session):
    period = await pin_period(admin)
    url = f"/api/periods/{period['id']}/applications"
    child = registration(1)
    school = await operator()  # a school of the region checks the family's KK and issues the PIN
    issued = await school.post(f"/api/periods/{period['id']}/pins", json={"niks": [child["nik"]]})
    assert issued.status_code == 201, issued.text
    (pin,) = issued.json()
    assert pin["nik"] == child["nik"] and len(pin["pin"]) == 11
    stored = await session.scalar(select(Pin.digest).where(Pin.nik == child["nik"]))
    assert stored is not None and pin["pin"] not in stored  # only a digest is kept
    audited = await session.scalar(text("SELECT new::text FROM audit_log WHERE action = 'pins.issue'"))
    assert pin["pin"] not in audited

    stranger = await sign_up(transport, "orang.lain@contoh.test")
    expect_error(await stranger.post(url, json=child), 422, "pin_required")
    # a NIK without a PIN answers like a wrong PIN: nobody learns which NIKs have one
    expect_error(await stranger.post(url, json={**registration(7), "pin": "AAAAA-AAAAA"}), 422, "pin_invalid")
    expect_error(await stranger.post(url, json={**child, "pin": "AAAAA-AAAAA"}), 422, "pin_invalid")
    # the family, typing it in lower case without the dash
    typed = pin["pin"].replace("-", "").lower()
    created = await parent.post(url, json={**child, "pin": typed})
    assert created.status_code == 201, created.text
    assert "pin" not in created.json()
    # the fast path (the period's rules are now cached) checks the PIN in its one statement as well
    second = registration(2)
    (pin2,) = (await school.post(f"/api/periods/{period['id']}/pins", json={"niks": [second["nik"]]})).json()
    expect_error(await parent.post(url, json={**second, "pin": pin["pin"]}), 422, "pin_invalid")
    assert (await parent.post(url, json={**second, "pin": pin2["pin"]})).status_code == 201


async def test_wrong_pins_lock_the_nik_for_a_while_or_until_a_new_pin_is_issued(admin, parent, sessionmaker):
    period = await pin_period(admin)
    url = f"/api/periods/{period['id']}/applications"
    child = registration(1)
    (pin,) = (await admin.post(f"/api/periods/{period['id']}/pins", json={"niks": [child["nik"]]})).json()
    for _ in range(5):
        expect_error(await parent.post(url, json={**child, "pin": "ZZZZZ-ZZZZZ"}), 422, "pin_invalid")
    expect_error(await parent.post(url, json={**child, "pin": pin["pin"]}), 429, "pin_locked")
    # the lock expires: a quarter of an hour later the right PIN works (and a new PIN works at once)
    async with sessionmaker() as session, session.begin():
        await session.execute(text("UPDATE pins SET failed_at = failed_at - interval '16 minutes'"))
    late = await parent.post(url, json={**child, "pin": pin["pin"]})
    assert late.status_code == 201, late.text
    number = late.json()["registration_number"]
    assert (await parent.post(f"/api/applications/{number}/withdraw")).status_code == 200
    for _ in range(5):
        expect_error(await parent.post(url, json={**child, "pin": "ZZZZZ-ZZZZZ"}), 422, "pin_invalid")
    expect_error(await parent.post(url, json={**child, "pin": pin["pin"]}), 429, "pin_locked")
    (again,) = (await admin.post(f"/api/periods/{period['id']}/pins", json={"niks": [child["nik"]]})).json()
    expect_error(await parent.post(url, json={**child, "pin": pin["pin"]}), 422, "pin_invalid")  # the old one is void
    assert (await parent.post(url, json={**child, "pin": again["pin"]})).status_code == 201


async def test_an_account_guessing_pins_across_niks_is_stopped(admin, parent, transport):
    period = await pin_period(admin)
    url = f"/api/periods/{period['id']}/applications"
    child = registration(1)
    (pin,) = (await admin.post(f"/api/periods/{period['id']}/pins", json={"niks": [child["nik"]]})).json()
    for serial in range(30):  # one wrong PIN per NIK: no NIK's own lock trips, the account's does
        expect_error(
            await parent.post(url, json={**registration(serial + 2), "pin": "ZZZZZ-ZZZZZ"}), 422, "pin_invalid"
        )
    expect_error(await parent.post(url, json={**child, "pin": pin["pin"]}), 429, "pin_locked")
    other = await sign_up(transport, "keluarga.lain@contoh.test")  # another account is not held up
    assert (await other.post(url, json={**child, "pin": pin["pin"]})).status_code == 201


async def test_a_school_of_another_region_issues_no_pin_even_for_its_own_graduates(
    admin, operator, parent, transport, sessionmaker
):
    async with sessionmaker() as session, session.begin():
        await accounts.bootstrap_admin(
            session,
            region_code="36.74",
            region_name="Kota Tangerang Selatan",
            email="admin@tangsel.test",
            password=PASSWORD,
        )
    tangsel = await logged_in(transport, "admin@tangsel.test", PASSWORD)
    smp = await new_period(tangsel)
    school = "20740001,SMP Negeri 1 Tangsel,smp,-6.2900,106.7100,64,36.74.01.1001\n"
    imported = await tangsel.post(f"/api/periods/{smp['id']}/schools/import", content=SCHOOLS_HEADER + school)
    assert imported.status_code == 200, imported.text
    created = await tangsel.post(
        "/api/operators",
        json={"email": "op.asal@sekolah.test", "password": PASSWORD, "name": "Operator", "npsn": "20740001"},
    )
    assert created.status_code == 201, created.text
    origin = await logged_in(transport, "op.asal@sekolah.test", PASSWORD)

    period = await new_period(admin, level="sma")  # Kota Tangerang's SMA period
    child = registration(1)
    await enter_rapor(admin, period["id"], child, "80", origin="20740001")
    url = f"/api/periods/{period['id']}/pins"
    # its own graduate list cannot vouch for a NIK: it writes that list itself
    expect_error(await origin.post(url, json={"niks": [child["nik"]]}), 403, "forbidden_region")
    assert (await parent.post(url, json={"niks": [child["nik"]]})).status_code == 403
    assert (await tangsel.post(url, json={"niks": [child["nik"]]})).status_code in (403, 404)


async def test_the_dinas_releases_a_nik_another_account_took(admin, parent, transport, session):
    period = await open_period(admin)  # no PIN in this region
    url = f"/api/periods/{period['id']}/applications"
    child = registration(1)
    squatter = await sign_up(transport, "penyerobot@contoh.test")
    taken = (await squatter.post(url, json={**child, "name": "Nama Asal"})).json()["registration_number"]
    refused = expect_error(await parent.post(url, json=child), 409, "nik_registered_elsewhere")
    assert "laporkan ke Dinas" in refused["message"]
    # the squatter cannot release it for itself, nor can a parent
    assert (await squatter.post(f"/api/applications/{taken}/release", json={"reason": "x" * 5})).status_code == 403
    reason = "KK asli dibawa ibu kandung; akun pendaftar bukan keluarga."
    released = await admin.post(f"/api/applications/{taken}/release", json={"reason": reason})
    assert released.status_code == 200, released.text
    assert released.json()["status"] == "withdrawn"
    entry = await session.scalar(text("SELECT new::text FROM audit_log WHERE action = 'application.release'"))
    assert reason in entry
    created = await parent.post(url, json=child)
    assert created.status_code == 201, created.text
    # what the squatter sees of its withdrawn application is what it typed, not the family's data
    mine = (await squatter.get(f"/api/applications/{taken}")).json()
    assert mine["status"] == "withdrawn"


async def test_a_school_registers_a_walk_in_family_which_claims_it_with_the_pin(
    admin, parent, operator, transport, session
):
    period = await pin_period(admin)
    url = f"/api/periods/{period['id']}/applications"
    child = registration(1)
    school = await operator()
    # the family came to the school without a phone: the operator checks the KK and registers (no PIN needed)
    walk_in = await school.post(url, json=child)
    assert walk_in.status_code == 201, walk_in.text
    number = walk_in.json()["registration_number"]
    actor = await session.scalar(text("SELECT actor FROM audit_log WHERE action = 'application.create'"))
    assert actor.startswith("school_operator:")
    expect_error(await admin.post(url, json=registration(2)), 403, "forbidden")  # the Dinas registers nobody
    (pin,) = (await school.post(f"/api/periods/{period['id']}/pins", json={"niks": [child["nik"]]})).json()
    # later, with an account of its own, the family takes it over with the child's PIN (registering again would
    # only tell it to claim)
    assert (await parent.get(f"/api/applications/{number}")).status_code == 404
    told = expect_error(await parent.post(url, json={**child, "pin": pin["pin"]}), 409, "claim_available")
    assert "nomor pendaftaran dan PIN" in told["message"]
    claim = f"/api/applications/{number}/claim"
    expect_error(await parent.post(claim, json={"pin": "AAAAA-AAAAA"}), 422, "pin_invalid")
    claimed = await parent.post(claim, json={"pin": pin["pin"]})
    assert claimed.status_code == 200, claimed.text
    assert (await parent.get(f"/api/applications/{number}")).json()["registration_number"] == number
    other = await sign_up(transport, "orang.lain@contoh.test")
    expect_error(await other.post(claim, json={"pin": pin["pin"]}), 404, "application_not_found")  # taken
