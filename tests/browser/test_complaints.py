"""Sanggah in Chromium: a parent files a complaint about a verification decision from the status page, with a
photo as evidence, and follows it; the Dinas finds it in the period's list and upholds it with a reason, which
the parent then reads on the case page."""

from __future__ import annotations

import re
from datetime import date

import httpx
import pytest

from ppdb.demo import DEMO_ADMIN
from tests.browser.conftest import child
from tests.browser.test_journeys import DESKTOP, MOBILE, login, png

pytestmark = pytest.mark.usefixtures("site")
PASSWORD = "rahasia-keluarga-sanggah-2027"
BIRTH = date(date.today().year - 12, 2, 11)


def test_a_parent_files_a_complaint_and_the_dinas_upholds_it(site, browser, shot) -> None:
    from playwright.sync_api import expect

    base, pid, school = site["base"], site["period_id"], site["school"]
    with httpx.Client(base_url=base, timeout=30) as api:
        account = {"email": "ibu.sanggah@contoh.id", "password": PASSWORD, "name": "Ibu Rina"}
        assert api.post("/api/auth/signup", json=account).status_code == 201
        token = api.post("/api/auth/login", json={"email": account["email"], "password": PASSWORD}).json()["token"]
        body = child(school, 9501, BIRTH, name="Rina Kartika", north=0.003)
        created = api.post(f"/api/periods/{pid}/applications", json=body, headers={"Authorization": f"Bearer {token}"})
        assert created.status_code == 201, created.text
    number = created.json()["registration_number"]

    context = browser.new_context(**MOBILE)
    page = context.new_page()
    page.set_default_timeout(10000)
    login(page, base, account["email"], PASSWORD)
    page.goto(f"{base}/pendaftaran/{number}")
    page.get_by_role("link", name="Ajukan pengaduan atau sanggah").click()
    expect(page.get_by_role("heading", name="Pengaduan dan sanggah", exact=True)).to_be_visible()
    expect(page.get_by_label("Pendaftaran anak Anda")).to_have_value(number)
    page.get_by_label("Keputusan verifikasi").check()
    page.get_by_role("button", name="Kirim pengaduan").click()  # nothing written yet: told what is missing
    expect(page.get_by_text("Uraikan pengaduan Anda")).to_be_visible()
    expect(page.get_by_label("Keputusan verifikasi")).to_be_checked()
    page.get_by_label("Uraian").fill("Titik rumah kami dipindah ke ujung kelurahan; rumah kami di Jl. Flamboyan.")
    photo = [{"name": "rumah.png", "mimeType": "image/png", "buffer": png("#f4cccc", "FOTO RUMAH")}]
    page.set_input_files("#f-file", files=photo)
    shot(page, "40-pengaduan-formulir")
    page.get_by_role("button", name="Kirim pengaduan").click()
    expect(page.get_by_text("Pengaduan terkirim")).to_be_visible()
    expect(page.locator("#case-status")).to_have_text("Diterima")
    expect(page.get_by_role("link", name="Berkas 1")).to_be_visible()
    case = re.search(r"ADU-[0-9A-Z]{8}", page.url).group(0)
    shot(page, "41-pengaduan-terkirim")

    dinas = browser.new_context(**DESKTOP).new_page()
    dinas.set_default_timeout(10000)
    login(dinas, base, *DEMO_ADMIN)
    dinas.goto(f"{base}/dinas/periode/{pid}")
    dinas.get_by_role("link", name="Pengaduan dan sanggah periode ini").click()
    dinas.get_by_role("link", name=case).click()
    expect(dinas.get_by_role("heading", name="Keputusan dinas")).to_be_visible()
    dinas.get_by_label("Kabulkan").check()
    dinas.get_by_role("button", name="Simpan keputusan").click()  # a decision needs its reason
    expect(dinas.get_by_role("alert").filter(has_text="alasan")).to_be_visible()
    dinas.get_by_label("Kabulkan").check()
    dinas.get_by_label("Alasan (dikirim ke pengadu)").fill("Foto dan surat RT menunjukkan rumah di Jl. Flamboyan.")
    dinas.get_by_role("button", name="Simpan keputusan").click()
    expect(dinas.locator("#case-status")).to_have_text("Dikabulkan")
    expect(dinas.get_by_role("heading", name="Koreksi untuk pengaduan ini")).to_be_visible()
    shot(dinas, "42-pengaduan-diputus")

    # The period page at a glance: schools by how full they are, the kelurahan map, complaints per day.
    dinas.goto(f"{base}/dinas/periode/{pid}")
    for chart in ("#chart-paths", "#chart-schools", "#chart-cutoffs"):
        expect(dinas.locator(chart)).to_be_visible()
    expect(dinas.locator("#kelurahan-map path.leaflet-interactive").first).to_be_attached()
    expect(dinas.locator("#complaints-by-day")).to_contain_text("1")
    dinas.locator("#schools-table").scroll_into_view_if_needed()
    shot(dinas, "43-dinas-statistik")
    pdf = dinas.get_by_role("link", name="PDF", exact=True).get_attribute("href")
    report = dinas.request.get(f"{base}{pdf}")  # with the agency's session cookie
    assert report.status == 200 and report.body().startswith(b"%PDF")

    page.reload()
    expect(page.locator("#case-status")).to_have_text("Dikabulkan")
    expect(page.locator("#case-events")).to_contain_text("Foto dan surat RT")
    assert "admin" not in page.locator("#case-events").inner_text()  # who decided is for the staff
    context.close()


def test_the_api_docs_render_from_the_sites_own_scripts(site, browser) -> None:
    """Swagger UI at /schema, its scripts from /static/vendor under the docs' CSP: no request leaves the site."""
    from playwright.sync_api import expect

    page = browser.new_context(**DESKTOP).new_page()
    elsewhere: list[str] = []
    page.on("request", lambda r: elsewhere.append(r.url) if not r.url.startswith((site["base"], "data:")) else None)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{site['base']}/schema")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("PPDB API")
    expect(page.get_by_text("/api/periods/{period_id}/complaints").first).to_be_visible()
    assert elsewhere == [] and not [e for e in errors if "Content Security Policy" in e], (elsewhere, errors)
