"""Accounts families can keep: a phone number, a password reset by e-mail or phone (single-use, expiring,
throttled, the same answer for unknown addresses), and sign-in with a child's NIK or NISN and PIN."""

from __future__ import annotations

import httpx
from sqlalchemy import select, text

from ppdb.notifications.models import Notification
from tests.conftest import PASSWORD, logged_in
from tests.helpers import expect_error, registration
from tests.integration.applicants.test_pins import pin_period

NEW_PASSWORD = "sandi-baru-yang-panjang-2027"


async def reset_links(session) -> list[tuple[str, str, str]]:
    """(channel, recipient, token) of every reset message in the outbox."""
    rows = await session.scalars(
        select(Notification).where(Notification.kind == "password_reset").order_by(Notification.id)
    )
    return [(n.channel.value, n.recipient, n.params["path"].split("token=")[1]) for n in rows]


async def test_a_reset_link_sets_a_new_password_once_and_ends_every_session(transport, client, parent, session):
    assert (await parent.get("/api/auth/me")).status_code == 200
    asked = await client.post("/api/auth/password-reset", json={"login": " OrangTua@Contoh.test "})
    assert asked.status_code == 202
    ((channel, recipient, token),) = await reset_links(session)
    assert (channel, recipient) == ("email", "orangtua@contoh.test")

    confirm = "/api/auth/password-reset/confirm"
    expect_error(await client.post(confirm, json={"token": token, "password": "pendek"}), 422, "password_too_short")
    assert (await client.post(confirm, json={"token": token, "password": NEW_PASSWORD})).status_code == 204
    assert (await parent.get("/api/auth/me")).status_code == 401  # the old session ended
    expect_error(
        await client.post(confirm, json={"token": token, "password": NEW_PASSWORD}), 422, "reset_token_invalid"
    )
    await logged_in(transport, "orangtua@contoh.test", NEW_PASSWORD)
    old = await client.post("/api/auth/login", json={"email": "orangtua@contoh.test", "password": PASSWORD})
    assert old.status_code == 401


async def test_an_expired_link_is_refused(client, parent, session):
    assert (await client.post("/api/auth/password-reset", json={"login": "orangtua@contoh.test"})).status_code == 202
    ((_, _, token),) = await reset_links(session)
    await session.execute(text("UPDATE password_resets SET expires_at = now() - interval '1 second'"))
    confirm = {"token": token, "password": NEW_PASSWORD}
    expect_error(await client.post("/api/auth/password-reset/confirm", json=confirm), 422, "reset_token_invalid")


async def test_resets_tell_nobody_which_addresses_have_accounts_and_are_throttled(client, parent, session):
    unknown = await client.post("/api/auth/password-reset", json={"login": "tidak.ada@contoh.test"})
    assert unknown.status_code == 202
    for _ in range(4):  # the account's owner gets three links an hour; the rest are answered the same
        known = await client.post("/api/auth/password-reset", json={"login": "orangtua@contoh.test"})
        assert (known.status_code, known.content) == (202, unknown.content)
    assert len(await reset_links(session)) == 3
    for _ in range(5):
        await client.post("/api/auth/password-reset", json={"login": "lain@contoh.test"})
    expect_error(await client.post("/api/auth/password-reset", json={"login": "x@contoh.test"}), 429, "reset_throttled")


async def test_a_phone_number_is_kept_in_one_form_and_used_for_a_reset(transport, client, parent, session):
    account = {"email": "ayah@contoh.test", "password": PASSWORD, "name": "Ayah"}
    expect_error(await client.post("/api/auth/signup", json={**account, "phone": "12345"}), 422, "phone_invalid")
    created = await client.post("/api/auth/signup", json={**account, "phone": "0812 3456 7890"})
    assert created.status_code == 201 and created.json()["phone"] == "6281234567890"
    expect_error(await parent.patch("/api/auth/me", json={"phone": "+62 812-3456-7890"}), 409, "phone_taken")
    changed = await parent.patch("/api/auth/me", json={"phone": "0857-1111-2222"})
    assert changed.json()["phone"] == "6285711112222"
    assert (await parent.get("/api/auth/me")).json()["phone"] == "6285711112222"
    assert (await client.post("/api/auth/password-reset", json={"login": "085711112222"})).status_code == 202
    assert [(c, r) for c, r, _ in await reset_links(session)] == [("phone", "6285711112222")]
    assert (await parent.patch("/api/auth/me", json={"phone": None})).json()["phone"] is None


async def test_a_family_signs_in_with_the_childs_nik_or_nisn_and_pin(admin, operator, transport, client, session):
    period = await pin_period(admin)
    child = registration(1)
    school = await operator()
    walk_in = await school.post(f"/api/periods/{period['id']}/applications", json=child)
    assert walk_in.status_code == 201, walk_in.text
    number = walk_in.json()["registration_number"]
    (pin,) = (await school.post(f"/api/periods/{period['id']}/pins", json={"niks": [child["nik"]]})).json()

    login = "/api/auth/pin-login"
    expect_error(await client.post(login, json={"nik": child["nik"], "pin": "AAAAA-AAAAA"}), 422, "pin_invalid")
    expect_error(await client.post(login, json={"nik": "3671010101010001", "pin": pin["pin"]}), 422, "pin_invalid")
    signed = await client.post(login, json={"nik": child["nik"], "pin": pin["pin"].lower()})
    assert signed.status_code == 200, signed.text
    assert signed.json()["user"]["email"] is None and "__Host-ppdb_session" in signed.cookies
    family = httpx.AsyncClient(transport=transport, base_url="http://testserver")
    family.headers["Authorization"] = f"Bearer {signed.json()['token']}"
    # the registration the school made is now in the family's account
    assert (await family.get(f"/api/applications/{number}")).json()["registration_number"] == number
    # again, by NISN: the same account
    again = await client.post(login, json={"nisn": child["nisn"], "pin": pin["pin"]})
    assert again.json()["user"]["id"] == signed.json()["user"]["id"]
    audit = await session.scalar(text("SELECT actor FROM audit_log WHERE action = 'application.claim'"))
    assert audit == "pin"
    # a new PIN (the family lost the paper, or it leaked) signs out whoever came in with the old one
    (again,) = (await school.post(f"/api/periods/{period['id']}/pins", json={"niks": [child["nik"]]})).json()
    assert (await family.get(f"/api/applications/{number}")).status_code == 401
    renewed = await client.post(login, json={"nik": child["nik"], "pin": again["pin"]})
    assert renewed.json()["user"]["id"] == signed.json()["user"]["id"]  # the same family account


async def test_a_pin_never_opens_an_account_that_signs_in_with_a_password(admin, operator, parent, client):
    """Whoever holds the PIN (or a school that issues a new one) must not get the family's e-mail account."""
    period = await pin_period(admin)
    child = registration(1)
    (pin,) = (await (await operator()).post(f"/api/periods/{period['id']}/pins", json={"niks": [child["nik"]]})).json()
    created = await parent.post(f"/api/periods/{period['id']}/applications", json={**child, "pin": pin["pin"]})
    assert created.status_code == 201, created.text
    refused = await client.post("/api/auth/pin-login", json={"nik": child["nik"], "pin": pin["pin"]})
    told = expect_error(refused, 409, "pin_login_has_account")
    assert "Masuk dengan e-mail" in told["message"]


async def test_wrong_pins_at_sign_in_count_for_the_client_address(admin, operator, client):
    period = await pin_period(admin)
    child = registration(1)
    (pin,) = (await (await operator()).post(f"/api/periods/{period['id']}/pins", json={"niks": [child["nik"]]})).json()
    for serial in range(30):  # across NIKs: each NIK's own lock never trips
        body = {"nik": registration(serial + 2)["nik"], "pin": "AAAAA-AAAAA"}
        expect_error(await client.post("/api/auth/pin-login", json=body), 422, "pin_invalid")
    refused = expect_error(
        await client.post("/api/auth/pin-login", json={"nik": child["nik"], "pin": pin["pin"]}), 429, "pin_locked"
    )
    assert "15 menit" in refused["message"]
