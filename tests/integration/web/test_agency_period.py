"""The agency period page shows each cut-off by what it is, whatever order the path ranks by."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from ppdb.identity import nik_for
from tests.helpers import HOME, ZONES_CSV, enter_rapor, new_period, registration
from tests.integration.web.test_pages import admin_browser

# One seat each: SMA domisili ranks by score, then distance (permendikdasmen-3-2025, rules.py).
SMA_SCHOOLS = """npsn,name,level,latitude,longitude,capacity,kelurahan_code
20670001,SMA Negeri 1 Uji,sma,-6.1790,106.6310,1,36.71.01.1001
20670002,SMA Negeri 2 Uji,sma,-6.1900,106.6400,1,36.71.01.1002
20670003,SMA Negeri 3 Uji,sma,-6.2000,106.6500,1,36.71.02.1001
"""
SCORES = ("91.25", "80.00", "70.00", "60.00")


@pytest.fixture
async def browser(transport):
    """HTTPS, so the Secure session cookie is sent back."""
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        yield client


async def test_the_sma_period_page_shows_score_cutoffs_as_scores_not_metres(browser, admin, parent) -> None:
    now = datetime.now(UTC)
    region_id = (await admin.get("/api/auth/me")).json()["region_id"]
    created = await admin.post(
        "/api/periods",
        json={
            "region_id": region_id,
            "school_year": "2027/2028",
            "level": "sma",
            "preset": "permendikdasmen-3-2025",
            "registration_opens_at": (now - timedelta(days=1)).isoformat(),
            "registration_closes_at": (now + timedelta(days=10)).isoformat(),
        },
    )
    assert created.status_code == 201, created.text
    period_id = created.json()["id"]
    for what, csv in (("schools", SMA_SCHOOLS), ("zones", ZONES_CSV)):
        imported = await admin.post(f"/api/periods/{period_id}/{what}/import", content=csv)
        assert imported.status_code == 200, imported.text
    assert (await admin.post(f"/api/periods/{period_id}/open")).status_code == 200
    birth = date(2011, 3, 15)
    for serial, score in enumerate(SCORES, start=1):
        body = registration(
            serial,
            birth_date=birth,
            nik=nik_for("367101", birth, "P", serial),
            latitude=HOME[0] - 0.0009 * serial,
            choices=["20670001", "20670002", "20670003"],
        )
        await enter_rapor(admin, period_id, body, score)  # the origin school's rapor, every grade `score`
        done = await parent.post(f"/api/periods/{period_id}/applications", json=body)
        assert done.status_code == 201, done.text
    assert (await admin.post(f"/api/periods/{period_id}/close")).status_code == 200
    assert (await admin.post(f"/api/periods/{period_id}/selection-runs")).status_code == 201

    await admin_browser(browser)
    page = await browser.get(f"/dinas/periode/{period_id}")
    assert page.status_code == 200, page.text
    cells = re.findall(r"<td>([^<]*)</td>", page.text)
    assert not [c for c in cells if re.fullmatch(r"-[\d.]+,\d\d m", c)], cells
    # The three seats go to the three best scores; each school's cut-off is the score that took its seat.
    shown = sorted(c for c in cells if re.match(r"nilai \d", c))
    assert [c.split(";")[0] for c in shown] == ["nilai 70,00", "nilai 80,00", "nilai 91,25"], cells


async def test_while_open_the_quota_editor_moves_quotas_and_shows_refusals_next_to_the_field(browser, admin):
    from tests.helpers import open_period

    period = await open_period(admin)
    token = await admin_browser(browser)
    url = f"/dinas/periode/{period['id']}"
    page = (await browser.get(url)).text
    assert re.search(r'id="q-domisili"[^>]*>', page) and "disabled" not in re.search(r'id="q-domisili"[^>]*>', page)[0]
    assert "disabled" in re.search(r'id="f-max_choices"[^>]*>', page)[0]  # locked once registration is open
    quotas = {"quota_domisili": "45", "quota_afirmasi": "20", "quota_mutasi": "5", "quota_prestasi": "30"}
    moved = await browser.post(f"{url}/kuota", data={"_csrf": token, **quotas})
    assert moved.status_code == 302, moved.text
    assert '<span id="rules-version">2</span>' in (await browser.get(url)).text
    # A national bound broken: the message is on the path's own row.
    low = await browser.post(
        f"{url}/kuota", data={"_csrf": token, **quotas, "quota_domisili": "35", "quota_prestasi": "40"}
    )
    assert low.status_code == 400 and 'value="35"' in low.text
    assert re.search(r'id="e-quota_domisili" class="error" role="alert">[^<]*minimal 40%', low.text), low.text
    # A locked rule (sent anyway): 409, the message under its field.
    locked = await browser.post(f"{url}/kuota", data={"_csrf": token, **quotas, "max_choices": "2"})
    assert locked.status_code == 409
    assert re.search(r'id="e-max_choices" class="error" role="alert">[^<]*setelah pendaftaran dibuka', locked.text)


async def test_the_agency_loads_a_juknis_template_on_the_page_and_sees_its_paths(browser, admin) -> None:
    url = f"/dinas/periode/{(await new_period(admin, level='sma'))['id']}"
    token = await admin_browser(browser)
    page = await browser.get(url)
    assert "Template juknis daerah" in page.text and "SPMB SMA Provinsi Jawa Timur 2025" in page.text
    assert "SPMB SMP Kabupaten Banyumas" not in page.text  # only the period's level
    missing = await browser.post(f"{url}/template", data={"_csrf": token, "template": ""})
    assert missing.status_code == 400 and 'id="e-template"' in missing.text
    loaded = await browser.post(f"{url}/template", data={"_csrf": token, "template": "jatim-2025-sma"})
    assert loaded.status_code == 200, loaded.text
    assert "Template jatim-2025-sma dimuat" in loaded.text and "Prestasi Lomba" in loaded.text
    assert 'id="rules-version">2<' in loaded.text


async def test_the_agency_edits_a_paths_ranking_chain_and_sub_quotas_on_the_page(browser, admin) -> None:
    period = await new_period(admin)
    url = f"/dinas/periode/{period['id']}"
    token = await admin_browser(browser)
    page = await browser.get(url)
    assert "Aturan per jalur" in page.text and 'name="sq_0_name"' in page.text
    form = {"_csrf": token, "requires_zone": "1", "out_of_region": "1"}
    chain = {"key_0": "zone_priority", "key_1": "distance", "key_2": "age", "key_3": "lottery"}
    sub = {"sq_0_name": "utama", "sq_0_share": "70", "sq_0_tiers": "1", "sq_1_name": "sebaran", "sq_1_share": "30"}
    sub |= {"sq_1_tiers": "2", "sq_1_per_kelurahan": "1"}
    # a chain that does not end strict is refused, next to the path's form, and nothing changes
    loose = await browser.post(f"{url}/jalur/domisili", data={**form, **chain, "key_3": "", **sub})
    assert loose.status_code == 422 and 'id="e-path_domisili"' in loose.text and "undian" in loose.text
    saved = await browser.post(f"{url}/jalur/domisili", data={**form, **chain, **sub})
    assert saved.status_code == 200, saved.text
    assert "Aturan jalur domisili disimpan." in saved.text
    domisili = next(
        p for p in (await admin.get(f"/api/periods/{period['id']}")).json()["rules"]["paths"] if p["name"] == "domisili"
    )
    assert domisili["keys"] == ["zone_priority", "distance", "age", "lottery"]
    assert [(s["name"], s["share"], s["zone_tiers"], s["per_kelurahan"]) for s in domisili["sub_quotas"]] == [
        ("utama", 70, [1], False),
        ("sebaran", 30, [2], True),
    ]
    # emptying a row's name removes that sub-quota
    removed = await browser.post(
        f"{url}/jalur/domisili", data={**form, **chain, "sq_0_name": "utama", "sq_0_share": "100"}
    )
    assert removed.status_code == 200
    again = (await admin.get(f"/api/periods/{period['id']}")).json()
    assert [s["name"] for s in again["rules"]["paths"][0]["sub_quotas"]] == ["utama"]
    assert again["rules_version"] == 3


async def test_a_long_chain_with_parts_of_the_score_survives_a_save_on_the_page(browser, admin) -> None:
    period = await new_period(admin, level="sma")
    url = f"/dinas/periode/{period['id']}"
    token = await admin_browser(browser)
    assert (
        await browser.post(f"{url}/template", data={"_csrf": token, "template": "jatim-2025-sma"})
    ).status_code == 200
    keys = next(
        p for p in (await admin.get(f"/api/periods/{period['id']}")).json()["rules"]["paths"] if p["name"] == "prestasi"
    )["keys"]
    assert len(keys) == 11 and "score:indeks_sekolah" in keys
    page = (await browser.get(url)).text
    form = page[page.index('action="' + url + '/jalur/prestasi"') :]
    form = form[: form.index("</form>")]
    shown = re.findall(
        r'<select id="k-prestasi-\d+" name="(key_\d+)">.*?(?:<option value="([^"]*)" selected>|</select>)', form
    )
    chosen = {name: value for name, value in shown if value}
    assert [chosen[f"key_{i}"] for i in range(len(keys))] == keys
    assert "rapor:matematika" in form  # the path's subjects are offered as keys too
    saved = await browser.post(f"{url}/jalur/prestasi", data={"_csrf": token, "out_of_region": "1", **chosen})
    assert saved.status_code == 200, saved.text
    after = (await admin.get(f"/api/periods/{period['id']}")).json()["rules"]
    prestasi = next(p for p in after["paths"] if p["name"] == "prestasi")
    assert prestasi["keys"] == keys and prestasi["score"]["components"][1]["name"] == "indeks_sekolah"
