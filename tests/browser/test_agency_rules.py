"""A Dinas enters its own document kinds and age rules on the period page, in Chromium, and the rules API shows them."""

from __future__ import annotations

import re

import pytest

from ppdb.demo import DEMO_ADMIN
from tests.browser.test_journeys import DESKTOP, login

pytestmark = pytest.mark.usefixtures("site")


def test_the_agency_adds_a_document_kind_requires_it_as_any_one_of_and_exempts_from_the_age_limit(
    site, browser, shot
) -> None:
    from playwright.sync_api import expect

    base = site["base"]
    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    page.set_default_timeout(10000)
    login(page, base, *DEMO_ADMIN)
    page.select_option("#f-preset", "permendikdasmen-3-2025|smp")
    page.fill("#f-school_year", "2032/2033")
    page.fill("#f-opens", "2032-05-01T08:00")
    page.fill("#f-closes", "2032-06-01T16:00")
    page.get_by_role("button", name="Buat periode").click()
    expect(page.get_by_role("heading", name="Usia dan dokumen")).to_be_visible()
    period_id = re.search(r"/dinas/periode/(\d+)", page.url)[1]

    ages = page.locator("form[action$='/usia-dokumen']")
    ages.get_by_label("Jenis dokumen 1").fill("kip")
    ages.get_by_label("Nama dokumen 1").fill("Kartu Indonesia Pintar (KIP)")
    ages.get_by_label("PDF").first.check()
    ages.get_by_role("button", name="Simpan usia dan dokumen").click()
    expect(page.get_by_role("status")).to_contain_text("Aturan usia dan dokumen disimpan")

    afirmasi = page.locator("form[action$='/jalur/afirmasi']")
    afirmasi.get_by_label("Dokumen wajib", exact=True).fill("afirmasi_proof / kip")
    afirmasi.get_by_role("button", name=re.compile("Simpan jalur")).click()
    expect(page.get_by_role("status")).to_contain_text("Aturan jalur afirmasi disimpan")

    ages = page.locator("form[action$='/usia-dokumen']")
    ages.get_by_label("Bukti disabilitas").check()
    ages.get_by_role("button", name="Simpan usia dan dokumen").click()
    expect(page.get_by_role("status")).to_contain_text("Aturan usia dan dokumen disimpan")
    expect(page.locator("form[action$='/jalur/afirmasi']").get_by_label("Dokumen wajib", exact=True)).to_have_value(
        "afirmasi_proof / kip"
    )
    expect(page.locator("#rules-version")).to_have_text("4")
    shot(page, "11-dinas-usia-dokumen")

    rules = page.request.get(f"{base}/api/periods/{period_id}").json()["rules"]
    assert rules["documents"] == [{"kind": "kip", "title": "Kartu Indonesia Pintar (KIP)", "formats": ["pdf"]}]
    assert next(p for p in rules["paths"] if p["name"] == "afirmasi")["required_documents"] == [
        ["afirmasi_proof", "kip"]
    ]
    assert rules["age_exemptions"] == ["disability_proof"]
    context.close()
