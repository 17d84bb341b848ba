"""Registration at the school (luring) in Chromium: the demo school's operator registers a family that came to the
school, prints the proof and issues the child's PIN, starts on the next family with nothing of this one left; the
family later adds the registration to its own account with the PIN and follows its status."""

from __future__ import annotations

import re
from datetime import date

import httpx
import pytest

from ppdb.demo import DEMO_OPERATOR
from ppdb.identity import nik_for
from tests.browser.conftest import child, fill_wizard
from tests.browser.test_journeys import DESKTOP, MOBILE, login, png

pytestmark = pytest.mark.usefixtures("site")
PASSWORD = "rahasia-keluarga-luring-2027"
BIRTH = date(date.today().year - 12, 7, 9)


def test_an_operator_registers_a_walk_in_family_which_claims_it_on_its_dashboard(site, browser, shot) -> None:
    from playwright.sync_api import expect

    base, school = site["base"], site["school"]
    nik = nik_for("367101", BIRTH, "L", 9101)
    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    page.set_default_timeout(10000)
    login(page, base, *DEMO_OPERATOR)
    page.get_by_role("link", name="Daftarkan di sekolah (luring)").click()
    page.get_by_role("link", name=re.compile("^Daftarkan: ")).first.click()
    expect(page.get_by_role("heading", name="Pendaftaran di sekolah (luring)")).to_be_visible()
    expect(page.get_by_label("PIN anak")).to_have_count(0)  # the KK is checked at the desk
    walk_in = child(school, 9101, BIRTH, name="Bagus Prasetyo", sex="L", documents=("kk",))
    assert walk_in["nik"] == nik  # the number the test looks the family up by
    fill_wizard(page, walk_in)
    kk = [{"name": "kk.png", "mimeType": "image/png", "buffer": png("#c9daf8", "KARTU KELUARGA")}]
    page.set_input_files("#f-file_kk", files=kk)
    shot(page, "20-luring-pendaftaran")
    page.get_by_role("button", name="Kirim pendaftaran").click()

    expect(page.get_by_role("heading", name="Pendaftaran di sekolah tersimpan")).to_be_visible()
    number = page.locator("#nomor").inner_text()
    assert re.fullmatch(r"[0-9A-Z-]+", number)
    expect(page.get_by_role("link", name="/masuk/pin")).to_have_attribute("href", "/masuk/pin")
    proof = page.request.get(f"{base}/sekolah/pendaftar/{number}/bukti.pdf")
    assert proof.status == 200 and proof.body().startswith(b"%PDF")
    assert proof.headers["cache-control"].endswith("no-store")
    page.get_by_role("button", name="Buat PIN anak").click()
    pin = page.locator("#pin").inner_text()
    assert re.fullmatch(r"[0-9A-Z]{5}-[0-9A-Z]{5}", pin)
    expect(page.get_by_text("hanya ditampilkan sekali")).to_be_visible()
    shot(page, "21-luring-pin")

    # the next family: an empty wizard, nothing of this one on the screen
    page.get_by_role("link", name="Daftarkan keluarga lain").click()
    expect(page.get_by_label("NIK anak (16 angka)")).to_have_value("")
    expect(page.get_by_label("Nama lengkap anak")).to_have_value("")
    content = page.content()
    assert nik not in content and pin not in content and number not in content
    context.close()

    # at home, the family opens an account and adds the registration to it with the child's PIN
    with httpx.Client(base_url=base) as api:
        body = {"email": "keluarga.luring@contoh.id", "password": PASSWORD, "name": "Ibu Rahayu"}
        assert api.post("/api/auth/signup", json=body).status_code == 201
    context = browser.new_context(**MOBILE)
    page = context.new_page()
    page.set_default_timeout(10000)
    login(page, base, "keluarga.luring@contoh.id", PASSWORD)
    expect(page).to_have_url(re.compile(r"/orangtua$"))
    page.get_by_label("Nomor pendaftaran").fill(number)
    page.get_by_label("PIN anak").fill("AAAAA-AAAAA")
    page.get_by_role("button", name="Tambahkan ke akun saya").click()
    expect(page.locator("#e-pin")).to_contain_text("PIN tidak cocok")
    page.get_by_label("PIN anak").fill(pin.lower())
    page.get_by_role("button", name="Tambahkan ke akun saya").click()
    expect(page.get_by_text("sudah ditambahkan ke akun Anda")).to_be_visible()
    expect(page.locator("#nomor")).to_have_text(number)
    expect(page.get_by_role("heading", name="Bagus Prasetyo")).to_be_visible()
    expect(page.locator("#status")).to_be_visible()
    shot(page, "22-luring-diklaim")
    context.close()
