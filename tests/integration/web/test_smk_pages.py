"""SMK programs on the pages (issue 23): the public school list and the wizard offer programs, the school
records a program requirement unmet on its verification page, and the parent's status page says so."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import PASSWORD
from tests.integration.regions.test_smk_programs import AKL, PROGRAMS, TKJ, child, smk_period
from tests.integration.web.test_pages import csrf_of


@pytest.fixture
async def browser(transport):
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        yield client


async def log_in(browser: httpx.AsyncClient, email: str) -> str:
    token = csrf_of((await browser.get("/masuk")).text)
    done = await browser.post("/masuk", data={"email": email, "password": PASSWORD, "_csrf": token})
    assert done.status_code == 302, done.text
    return csrf_of((await browser.get("/")).text)


async def test_programs_on_the_pages_from_the_school_list_to_the_schools_finding(browser, admin, parent, operator):
    pid = await smk_period(admin)
    assert (await admin.post(f"/api/periods/{pid}/programs/import", content=PROGRAMS)).status_code == 200
    assert (await admin.post(f"/api/periods/{pid}/open")).status_code == 200
    listed = (await browser.get(f"/periode/{pid}/sekolah")).text
    assert "Teknik Komputer dan Jaringan" in listed and "kelas industri, PT Mitra Otomotif" in listed
    assert "Syarat: Tidak buta warna" in listed
    created = await parent.post(f"/api/periods/{pid}/applications", json=child(1, 100, [TKJ, AKL]))
    assert created.status_code == 201, created.text
    number = created.json()["registration_number"]

    await operator("20690001", "op.smkn1@sekolah.test")
    token = await log_in(browser, "op.smkn1@sekolah.test")
    page = await browser.get(f"/sekolah/pendaftar/{number}")
    assert page.status_code == 200, page.text
    assert "SMK Negeri 1 Uji – Teknik Komputer dan Jaringan" in page.text
    assert 'name="unmet" value="tidak_buta_warna"' in page.text  # TKJ's requirement; AKL has none to check
    url = f"/sekolah/pendaftar/{number}/syarat-program"
    form = {"_csrf": token, "program": TKJ, "unmet": "tidak_buta_warna"}
    refused = await browser.post(url, data=form)
    assert refused.status_code == 422 and "Tuliskan alasan" in refused.text
    done = await browser.post(url, data=form | {"reason": "Tes Ishihara gagal"})
    assert done.status_code == 302, done.text
    assert (await parent.get(f"/api/applications/{number}")).json()["choices"][0]["program_unmet"] == [
        "tidak_buta_warna"
    ]
    assert "Syarat program tidak terpenuhi" in (await browser.get(f"/sekolah/pendaftar/{number}")).text

    await browser.post("/keluar", data={"_csrf": token})
    browser.cookies.clear()
    token = await log_in(browser, "orangtua@contoh.test")
    wizard = (await browser.get(f"/periode/{pid}/daftar")).text
    assert 'value="20690001/TKJ"' in wizard and "SMK Negeri 1 Uji – Teknik Komputer dan Jaringan (20690001)" in wizard
    status = (await browser.get(f"/pendaftaran/{number}")).text
    assert "Syarat program tidak terpenuhi</strong> (Tes Ishihara gagal)" in status
