"""Accounts: sign-up rules, login throttling per account and per address, expiry, logout, cookie flags."""

from __future__ import annotations

import httpx
from sqlalchemy import text

from tests.conftest import PASSWORD
from tests.helpers import expect_error
from tests.integration.accounts.test_recovery import NEW_PASSWORD, reset_links


async def test_signup_rules(client):
    url = "/api/auth/signup"
    expect_error(
        await client.post(url, json={"email": "a@contoh.test", "password": "pendek", "name": "A"}),
        422,
        "password_too_short",
    )
    expect_error(
        await client.post(url, json={"email": "a@contoh.test", "password": "aaaaaaaaaaaa", "name": "A"}),
        422,
        "password_too_weak",
    )
    expect_error(
        await client.post(url, json={"email": "bukan-email", "password": PASSWORD, "name": "A"}), 400, "invalid_request"
    )
    created = await client.post(url, json={"email": "A@Contoh.Test", "password": PASSWORD, "name": "A"})
    assert created.status_code == 201 and created.json()["role"] == "parent"
    assert created.json()["email"] == "a@contoh.test"
    assert "set-cookie" not in created.headers  # the API's caller holds the token (pages sign in their own way)
    signed_in = {"Authorization": f"Bearer {created.json()['token']}"}  # signed in at once: no second password check
    me = await client.get("/api/auth/me", headers=signed_in)
    assert me.status_code == 200 and me.json()["id"] == created.json()["id"]
    assert created.json()["expires_in"] > 0
    expect_error(
        await client.post(url, json={"email": "a@contoh.test", "password": PASSWORD, "name": "B"}), 409, "email_taken"
    )


async def test_login_sets_a_secure_http_only_cookie_and_logout_ends_the_session(client, transport):
    await client.post("/api/auth/signup", json={"email": "b@contoh.test", "password": PASSWORD, "name": "B"})
    login = await client.post("/api/auth/login", json={"email": "b@contoh.test", "password": PASSWORD})
    assert login.status_code == 200
    cookie = login.headers["set-cookie"].lower()
    assert "__host-ppdb_session=" in cookie and "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie
    token = login.json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/auth/me", headers=bearer)).json()["email"] == "b@contoh.test"
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", cookies={"__Host-ppdb_session": token}
    ) as browser:
        assert (await browser.get("/api/auth/me")).status_code == 200
    assert (await client.post("/api/auth/logout", headers=bearer)).status_code == 204
    expect_error(await client.get("/api/auth/me", headers=bearer), 401, "login_required")


async def test_expired_sessions_are_refused(client, session):
    await client.post("/api/auth/signup", json={"email": "c@contoh.test", "password": PASSWORD, "name": "C"})
    token = (await client.post("/api/auth/login", json={"email": "c@contoh.test", "password": PASSWORD})).json()[
        "token"
    ]
    await session.execute(text("UPDATE auth_sessions SET expires_at = now() - interval '1 second'"))
    await session.commit()
    expect_error(await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}), 401, "login_required")
    expect_error(
        await client.get("/api/auth/me", headers={"Authorization": "Bearer " + "x" * 500}), 401, "login_required"
    )


async def test_login_is_throttled_per_account_and_counts_failures_durably(client, session):
    await client.post("/api/auth/signup", json={"email": "d@contoh.test", "password": PASSWORD, "name": "D"})
    for _ in range(5):
        expect_error(
            await client.post("/api/auth/login", json={"email": "d@contoh.test", "password": "salah-salah"}),
            401,
            "login_failed",
        )
    # even the right password is refused now: the account is locked for the window
    locked = await client.post("/api/auth/login", json={"email": "d@contoh.test", "password": PASSWORD})
    expect_error(locked, 429, "login_throttled")
    failures = await session.scalar(text("SELECT count(*) FROM login_attempts WHERE NOT success"))
    assert failures == 5
    # unknown accounts answer exactly like wrong passwords
    unknown = await client.post("/api/auth/login", json={"email": "tidak-ada@contoh.test", "password": PASSWORD})
    expect_error(unknown, 401, "login_failed")


async def test_wrong_passwords_stop_their_sender_not_the_accounts_owner(client, session):
    """Security review L4: five wrong passwords from one address close the account to that address only; wrong
    passwords from many addresses make the account ask for a password reset, which lets its owner in at once."""
    await client.post("/api/auth/signup", json={"email": "f@contoh.test", "password": PASSWORD, "name": "F"})
    await session.execute(
        text(
            "INSERT INTO login_attempts (email, address, success) "
            "SELECT 'f@contoh.test', '10.0.0.' || g, false FROM generate_series(1, 5) g CROSS JOIN generate_series(1, 5)"
        )
    )  # five addresses, five wrong passwords each: each of them is stopped
    await session.commit()
    owner = await client.post("/api/auth/login", json={"email": "f@contoh.test", "password": PASSWORD})
    assert owner.status_code == 200, owner.text  # the owner, from its own address, is not
    await session.execute(
        text(
            "INSERT INTO login_attempts (email, address, success) "
            "SELECT 'f@contoh.test', '10.0.1.' || g, false FROM generate_series(1, 25) g"
        )
    )  # 50 from everywhere: a spread-out guess
    await session.commit()
    asked = await client.post("/api/auth/login", json={"email": "f@contoh.test", "password": PASSWORD})
    expect_error(asked, 429, "login_reset_required")
    assert (await client.post("/api/auth/password-reset", json={"login": "f@contoh.test"})).status_code == 202
    ((_, _, token),) = await reset_links(session)
    reset = await client.post("/api/auth/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD})
    assert reset.status_code == 204, reset.text
    again = await client.post("/api/auth/login", json={"email": "f@contoh.test", "password": NEW_PASSWORD})
    assert again.status_code == 200, again.text


async def test_login_is_throttled_per_address(client, session):
    await session.execute(
        text(
            "INSERT INTO login_attempts (email, address, success) "
            "SELECT 'spray' || g || '@contoh.test', '127.0.0.1', false FROM generate_series(1, 30) g"
        )
    )
    await session.commit()
    await client.post("/api/auth/signup", json={"email": "e@contoh.test", "password": PASSWORD, "name": "E"})
    expect_error(
        await client.post("/api/auth/login", json={"email": "e@contoh.test", "password": PASSWORD}),
        429,
        "login_throttled",
    )
