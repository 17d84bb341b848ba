"""Accounts in Chromium: a parent who forgot the password gets a link (sent by the app's own background worker,
written to the demo's outbox folder) and sets a new one; a family without e-mail signs in with the child's NIK and
the PIN the school gave, where the region uses PINs."""

from __future__ import annotations

import re
import time
from datetime import date

import httpx
import pytest

from ppdb.demo import DEMO_OPERATOR
from ppdb.identity import nik_for
from tests.browser.conftest import set_rule
from tests.browser.test_journeys import DESKTOP, MOBILE, login

pytestmark = pytest.mark.usefixtures("site")
PASSWORD = "kata-sandi-lama-keluarga-2027"
NEW_PASSWORD = "kata-sandi-baru-keluarga-2027"


def _link_in_outbox(site, recipient: str, seconds: float = 30) -> str:
    """The path of the reset link in the message sent to `recipient`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for message in sorted(site["outbox"].glob("*.txt")) if site["outbox"].exists() else []:
            body = message.read_text(encoding="utf-8")
            if f"Kepada: {recipient}" in body and (found := re.search(r"https?://[^/\s]+(/sandi-baru\S+)", body)):
                return found.group(1)
        time.sleep(0.2)
    raise AssertionError(f"no reset message for {recipient}")


def test_a_parent_resets_a_forgotten_password_with_the_link_sent(site, browser, shot) -> None:
    from playwright.sync_api import expect

    base = site["base"]
    page = browser.new_context(**MOBILE).new_page()
    page.set_default_timeout(10000)
    page.goto(f"{base}/daftar-akun")
    page.get_by_label("Nama orang tua / wali").fill("Ibu Lupa")
    page.get_by_label("E-mail").fill("ibu.lupa@contoh.test")
    page.get_by_label("Nomor HP (WhatsApp/SMS)").fill("0812 7777 0001")
    page.locator("#f-password").fill(PASSWORD)
    page.locator("#f-password2").fill(PASSWORD)
    page.get_by_role("button", name="Buat akun").click()
    expect(page.get_by_text("Akun berhasil dibuat")).to_be_visible()  # and signed in: out again, to forget
    page.get_by_role("button", name="Keluar").click()
    page.goto(f"{base}/masuk")

    page.get_by_role("link", name="Lupa kata sandi?").click()
    page.get_by_label("E-mail atau nomor HP").fill("0812-7777-0001")  # by phone: the link goes by WhatsApp/SMS
    page.get_by_role("button", name="Kirim tautan").click()
    expect(page.get_by_text("tautan untuk membuat kata sandi baru sudah dikirim")).to_be_visible()
    shot(page, "30-lupa-sandi")
    link = _link_in_outbox(site, "6281277770001")

    page.goto(f"{base}{link}")
    page.locator("#f-password").fill(NEW_PASSWORD)
    page.locator("#f-password2").fill("tidak-sama-dengan-yang-tadi")
    page.get_by_role("button", name="Simpan kata sandi").click()
    expect(page.get_by_text("Kata sandi tidak sama.")).to_be_visible()
    page.locator("#f-password").fill(NEW_PASSWORD)
    page.locator("#f-password2").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Simpan kata sandi").click()
    expect(page.get_by_text("Kata sandi baru sudah disimpan")).to_be_visible()

    login(page, base, "ibu.lupa@contoh.test", NEW_PASSWORD)
    expect(page).to_have_url(re.compile(r"/orangtua$"))
    page.goto(f"{base}{link}")  # the link is used up
    page.locator("#f-password").fill(NEW_PASSWORD + "x")
    page.locator("#f-password2").fill(NEW_PASSWORD + "x")
    page.get_by_role("button", name="Simpan kata sandi").click()
    expect(page.get_by_text("sudah dipakai")).to_be_visible()
    page.context.close()


def test_a_family_without_e_mail_signs_in_with_the_childs_nik_and_pin(site, browser, shot) -> None:
    from playwright.sync_api import expect

    base, period_id = site["base"], site["period_id"]
    set_rule(site["url"], period_id, "pin_required", True)
    nik = nik_for("367101", date(date.today().year - 12, 2, 3), "P", 9301)
    with httpx.Client(base_url=base) as api:
        token = api.post("/api/auth/login", json=dict(zip(("email", "password"), DEMO_OPERATOR, strict=True)))
        headers = {"Authorization": f"Bearer {token.json()['token']}"}
        issued = api.post(f"/api/periods/{period_id}/pins", json={"niks": [nik]}, headers=headers)
        assert issued.status_code == 201, issued.text
        pin = issued.json()[0]["pin"]

    page = browser.new_context(**DESKTOP).new_page()
    page.set_default_timeout(10000)
    page.goto(f"{base}/masuk")
    page.get_by_role("link", name="Masuk dengan NIK dan PIN anak").click()
    page.get_by_label("NIK atau NISN anak").fill(nik)
    page.get_by_label("PIN").fill("AAAAA-AAAAA")
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_text("PIN tidak cocok dengan NIK ini")).to_be_visible()
    expect(page.get_by_label("NIK atau NISN anak")).to_have_value(nik)
    page.get_by_label("PIN").fill(pin.lower().replace("-", " "))  # as a family may type it
    page.get_by_role("button", name="Masuk").click()
    expect(page).to_have_url(re.compile(r"/orangtua$"))
    shot(page, "31-masuk-pin")
    page.context.close()
