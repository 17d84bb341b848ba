"""The agency edits the rest of the rule set on the period page: each form is a rules change like the API's
PATCH (checked, audited, versioned), and a refusal shows next to its field with what was typed."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

import httpx
import pytest

from tests.helpers import new_period, open_period
from tests.integration.web.test_pages import admin_browser


@pytest.fixture
async def browser(transport):
    """HTTPS, so the Secure session cookie is sent back."""
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        yield client


class FormReader(HTMLParser):
    """What a browser would post from the form with `action`: text inputs, ticked boxes, chosen options."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.select = action, False, None
        self.fields: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("action") == self.action
        elif not self.inside or "disabled" in a:
            return
        elif tag == "input" and (a.get("type") not in ("checkbox", "radio") or "checked" in a):
            self.fields.setdefault(a["name"] or "", []).append(a.get("value") or "")
        elif tag == "select":
            self.select = a["name"]
            self.fields.setdefault(self.select or "", [])
        elif tag == "option" and self.select and "selected" in a:
            self.fields[self.select].append(a.get("value") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select" and self.select:
            self.fields[self.select] = self.fields[self.select] or [""]
            self.select = None


def form_of(html: str, action: str) -> dict[str, list[str]]:
    reader = FormReader(action)
    reader.feed(html)
    assert reader.fields, f"no form {action}"
    return reader.fields


def shown_error(html: str, key: str) -> str:
    """The message next to a field, checking that the input points at it."""
    found = re.search(rf'<p (?=[^>]*id="e-{key}")[^>]*role="alert">([^<]*)</p>', html)
    assert found, f"no error e-{key}"
    assert f'aria-describedby="e-{key}"' in html
    return unescape(found[1])


async def rules_of(admin, period_id: int) -> dict:
    return (await admin.get(f"/api/periods/{period_id}")).json()["rules"]


async def last_change(admin, period_id: int) -> list[str]:
    """The fields the newest `period.rules` audit entry names as changed."""
    entries = (await admin.get(f"/api/periods/{period_id}/audit", params={"action": "period.rules"})).json()
    return entries[0]["new"]["changed"]


async def test_a_paths_title_and_required_documents_with_any_one_of_and_per_sub_quota(browser, admin) -> None:
    period = await new_period(admin)
    url = f"/dinas/periode/{period['id']}"
    await admin_browser(browser)
    action = f"{url}/jalur/afirmasi"
    form = form_of((await browser.get(url)).text, action)
    assert form["documents"] == ["afirmasi_proof"] and form["sq_0_documents"] == [""]
    form |= {"title": ["Afirmasi KETM"], "documents": ["kk, afirmasi_proof / disability_proof"]}
    form |= {"sq_0_name": ["ketm"], "sq_0_share": ["90"], "sq_0_documents": ["afirmasi_proof"]}
    saved = await browser.post(action, data=form | {"sq_1_name": "disabilitas", "sq_1_share": "10"})
    assert saved.status_code == 200 and "Aturan jalur afirmasi disimpan." in saved.text, saved.text
    # with the disabilitas row, which the page now shows
    form = form_of(saved.text, action)
    assert form["sq_1_name"] == ["disabilitas"] and form["sq_2_name"] == [""]
    saved = await browser.post(action, data=form | {"sq_1_documents": "disability_proof"})
    assert saved.status_code == 200, saved.text

    afirmasi = (await rules_of(admin, period["id"]))["paths"][1]
    assert afirmasi["title"] == "Afirmasi KETM"
    assert afirmasi["required_documents"] == ["kk", ["afirmasi_proof", "disability_proof"]]
    assert [(s["name"], s["required_documents"]) for s in afirmasi["sub_quotas"]] == [
        ("ketm", ["afirmasi_proof"]),
        ("disabilitas", ["disability_proof"]),
    ]
    assert await last_change(admin, period["id"]) == ["paths.afirmasi.sub_quotas"]
    # Saved again as the page shows it, the form carries every requirement: nothing changes.
    page = (await browser.get(url)).text
    assert 'value="kk, afirmasi_proof / disability_proof"' in page
    again = await browser.post(action, data=form_of(page, action))
    assert again.status_code == 200
    after = await admin.get(f"/api/periods/{period['id']}")
    assert after.json()["rules"]["paths"][1] == afirmasi and after.json()["rules_version"] == 3

    # A kind the period does not know: 422 next to the path's documents, as typed.
    unknown = await browser.post(action, data=form_of(page, action) | {"documents": "afirmasi_proof / kip"})
    assert unknown.status_code == 422
    assert "tidak dikenal" in shown_error(unknown.text, "path_afirmasi_documents")
    assert 'value="afirmasi_proof / kip"' in unknown.text and 'aria-invalid="true"' in unknown.text
    # ... in a sub-quota's: next to that row's
    row = await browser.post(action, data=form_of(page, action) | {"sq_1_documents": "surat_panti"})
    assert row.status_code == 422
    assert "'surat_panti' tidak dikenal" in shown_error(row.text, "path_afirmasi_sq_1_documents")
    # Not a kind at all: refused as an unknown kind, next to the field too.
    bad = await browser.post(action, data=form_of(page, action) | {"documents": "Kartu KIP!"})
    assert bad.status_code == 422 and "tidak dikenal" in shown_error(bad.text, "path_afirmasi_documents")
    share = await browser.post(action, data=form_of(page, action) | {"sq_0_share": "sembilan puluh"})
    assert share.status_code == 400 and shown_error(share.text, "path_afirmasi_sub_quotas")
    assert 'value="sembilan puluh"' in share.text
    assert (await rules_of(admin, period["id"]))["paths"][1] == afirmasi


async def test_ages_age_exemptions_and_the_regions_document_kinds(browser, admin) -> None:
    period = await new_period(admin)
    url = f"/dinas/periode/{period['id']}"
    await admin_browser(browser)
    action = f"{url}/usia-dokumen"
    form = form_of((await browser.get(url)).text, action)
    assert form["reference_date"] == ["2027-07-01"] and form["max_age_years"] == ["15"]
    assert form["min_age_months"] == [""] and "age_exemptions" not in form
    change = {
        "reference_date": "2027-06-30",
        "kk_min_age_days": "180",
        "doc_0_kind": "kip",
        "doc_0_title": "Kartu Indonesia Pintar (KIP)",
        "doc_0_formats": ["pdf", "jpg"],
        "age_exemptions": ["disability_proof"],
    }
    saved = await browser.post(action, data=form | change)
    assert saved.status_code == 200 and "Aturan usia dan dokumen disimpan." in saved.text, saved.text
    rules = await rules_of(admin, period["id"])
    assert (rules["reference_date"], rules["kk_min_age_days"], rules["max_age_years"]) == ("2027-06-30", 180, 15)
    assert rules["documents"] == [{"kind": "kip", "title": "Kartu Indonesia Pintar (KIP)", "formats": ["pdf", "jpg"]}]
    assert rules["age_exemptions"] == ["disability_proof"]
    assert sorted(await last_change(admin, period["id"])) == [
        "age_exemptions",
        "documents",
        "kk_min_age_days",
        "reference_date",
    ]
    # The new kind is offered as an exemption; an emptied maximum age is no maximum; an emptied kind is removed.
    form = form_of(saved.text, action)
    assert 'name="age_exemptions" value="kip"' in saved.text and form["doc_1_kind"] == [""]
    cleared = await browser.post(action, data=form | {"max_age_years": "", "doc_0_kind": ""})
    assert cleared.status_code == 200, cleared.text
    rules = await rules_of(admin, period["id"])
    assert rules["max_age_years"] is None and rules["documents"] == []

    # Limits that contradict each other: 422 next to the field the rule names, the typed values kept.
    wrong = await browser.post(action, data=form | {"min_age_months": "150", "max_age_years": "12"})
    assert wrong.status_code == 422
    assert "lebih muda dari usia maksimal" in shown_error(wrong.text, "min_age_months")
    assert re.search(r'id="f-max_age_years"[^>]*value="12"', wrong.text)
    # A reference date outside the school year's first year, a number that is none, a nameless document
    late = await browser.post(action, data=form | {"reference_date": "2028-07-01"})
    assert late.status_code == 422 and "2027" in shown_error(late.text, "reference_date")
    typo = await browser.post(action, data=form | {"max_age_years": "lima belas"})
    assert typo.status_code == 400 and shown_error(typo.text, "max_age_years")
    nameless = await browser.post(action, data=form | {"doc_1_kind": "pkh", "doc_1_title": ""})
    assert nameless.status_code == 400 and shown_error(nameless.text, "documents")
    assert 'value="pkh"' in nameless.text
    # An exemption by a kind the period does not know
    unknown = await browser.post(action, data=form | {"age_exemptions": ["surat_sakti"]})
    assert unknown.status_code == 422 and "surat_sakti" in shown_error(unknown.text, "age_exemptions")
    assert (await rules_of(admin, period["id"]))["max_age_years"] is None


async def test_transfers_change_while_registration_is_open_and_a_cycle_is_refused(browser, admin) -> None:
    period = await open_period(admin)
    url = f"/dinas/periode/{period['id']}"
    await admin_browser(browser)
    action = f"{url}/pengalihan"
    page = (await browser.get(url)).text
    assert "Aturan per jalur" not in page  # the rest of the rules is fixed once registration is open
    assert re.search(r'<input id="f-max_age_years"[^>]*>', page) and "Simpan usia dan dokumen" not in page
    form = form_of(page, action)
    assert [form[f"tr_{i}_from"] + form[f"tr_{i}_to"] for i in range(4)] == [
        ["afirmasi", "domisili"],
        ["mutasi", "prestasi"],
        ["prestasi", "domisili"],
        ["", ""],
    ]
    saved = await browser.post(action, data=form | {"tr_0_to": "prestasi", "tr_1_from": "", "tr_1_to": ""})
    assert saved.status_code == 200 and "Pengalihan kursi disimpan." in saved.text, saved.text
    rules = await rules_of(admin, period["id"])
    assert rules["transfers"] == [{"from": "afirmasi", "to": "prestasi"}, {"from": "prestasi", "to": "domisili"}]
    assert await last_change(admin, period["id"]) == ["transfers"]

    cycle = await browser.post(
        action, data=form_of(saved.text, action) | {"tr_2_from": "domisili", "tr_2_to": "afirmasi"}
    )
    assert cycle.status_code == 422 and "melingkar" in shown_error(cycle.text, "transfers")
    assert re.search(r'name="tr_2_from"[^>]*>.*?<option value="domisili" selected>', cycle.text, re.S)
    half = await browser.post(action, data=form_of(saved.text, action) | {"tr_2_from": "mutasi"})
    assert half.status_code == 422 and "tidak valid" in shown_error(half.text, "transfers")
    assert (await rules_of(admin, period["id"]))["transfers"] == rules["transfers"]

    assert (await admin.post(f"/api/periods/{period['id']}/close")).status_code == 200
    closed = (await browser.get(url)).text
    assert re.search(r'<select name="tr_0_from"[^>]*disabled', closed) and "Simpan pengalihan kursi" not in closed


async def test_the_agency_adds_a_region_path_and_removes_it_in_draft(browser, admin) -> None:
    period = await new_period(admin)
    url = f"/dinas/periode/{period['id']}"
    await admin_browser(browser)
    page = (await browser.get(url)).text
    form = form_of(page, f"{url}/jalur")
    assert form["quota"] == ["0"] and form["category"] == [""]
    categories = re.search(r'name="category".*?</select>', page, re.S)[0]
    assert re.findall(r'<option value="(\w+)"', categories) == ["domisili", "afirmasi", "mutasi", "prestasi"]
    lomba = {"name": "prestasi_lomba", "category": "prestasi", "title": "Prestasi Lomba", "key_0": "distance"}
    added = await browser.post(f"{url}/jalur", data=form | lomba | {"key_1": "lottery"})
    assert added.status_code == 200 and "Jalur prestasi_lomba ditambahkan." in added.text, added.text
    path = (await rules_of(admin, period["id"]))["paths"][-1]
    assert (path["name"], path["category"], path["title"], path["quota"]) == (
        "prestasi_lomba",
        "prestasi",
        "Prestasi Lomba",
        0,
    )
    assert path["keys"] == ["distance", "lottery"]
    assert await last_change(admin, period["id"]) == ["paths.prestasi_lomba"]
    assert 'action="' + url + '/jalur/prestasi_lomba"' in added.text  # its own form to edit it further

    # Refused next to their fields: quotas that no longer add up, a name taken, no category, a loose chain
    more = await browser.post(
        f"{url}/jalur", data=form | lomba | {"name": "prestasi_akademik", "quota": "10", "key_1": "lottery"}
    )
    assert more.status_code == 422 and "harus 100%" in shown_error(more.text, "new_path_quota")
    assert 'value="prestasi_akademik"' in more.text
    taken = await browser.post(f"{url}/jalur", data=form | lomba | {"name": "domisili", "key_1": "lottery"})
    assert taken.status_code == 400 and "sudah ada" in shown_error(taken.text, "new_path_name")
    orphan = await browser.post(f"{url}/jalur", data=form | lomba | {"name": "lain", "category": ""})
    assert orphan.status_code == 400 and shown_error(orphan.text, "new_path_category")
    loose = await browser.post(f"{url}/jalur", data=form | lomba | {"name": "lain"})
    assert loose.status_code == 422 and "'lottery'" in shown_error(loose.text, "new_path_keys")

    # Removing: the region's path goes; a national path without another of its category stays.
    kept = await browser.post(f"{url}/jalur/domisili/hapus", data={"_csrf": form["_csrf"]})
    assert kept.status_code == 422 and "domisili" in shown_error(kept.text, "path_domisili_remove")
    removed = await browser.post(f"{url}/jalur/prestasi_lomba/hapus", data={"_csrf": form["_csrf"]})
    assert removed.status_code == 200 and "Jalur prestasi_lomba dihapus." in removed.text
    assert [p["name"] for p in (await rules_of(admin, period["id"]))["paths"]] == [
        "domisili",
        "afirmasi",
        "mutasi",
        "prestasi",
    ]
    assert await last_change(admin, period["id"]) == ["paths.prestasi_lomba"]


async def test_choice_rules_the_pin_and_school_quotas_on_the_page(browser, admin) -> None:
    period = await open_period(admin, open_=False)
    url = f"/dinas/periode/{period['id']}"
    await admin_browser(browser)
    action = f"{url}/pilihan"
    form = form_of((await browser.get(url)).text, action)
    assert "pin_required" not in form and form["cl_0_kind"] == [""]
    change = {"pin_required": "1", "cl_0_kind": "swasta", "cl_0_max": "1", "cl_0_from_rank": "3"}
    saved = await browser.post(action, data=form | change)
    assert saved.status_code == 200 and "Aturan pilihan sekolah dan PIN disimpan." in saved.text, saved.text
    rules = await rules_of(admin, period["id"])
    assert rules["pin_required"] is True
    assert rules["choice_limits"] == [{"kind": "swasta", "max": 1, "from_rank": 3}]
    assert await last_change(admin, period["id"]) == ["choice_limits", "pin_required"]
    bad = await browser.post(action, data=form | change | {"cl_0_max": "satu"})
    assert bad.status_code == 400 and shown_error(bad.text, "choice_limits")

    action = f"{url}/kuota-sekolah"
    form = form_of(saved.text, action)
    low = await browser.post(action, data=form | {"kq_0_npsn": "20670001", "kq_0_quotas": "domisili=60, prestasi=15"})
    assert low.status_code == 422 and "batas nasional" in shown_error(low.text, "school_quotas")
    assert 'value="domisili=60, prestasi=15"' in low.text
    typo = await browser.post(action, data=form | {"kq_0_npsn": "20670001", "kq_0_quotas": "domisili 50"})
    assert typo.status_code == 400 and "jalur=persen" in shown_error(typo.text, "school_quotas")
    ok = await browser.post(action, data=form | {"kq_0_npsn": "20670001", "kq_0_quotas": "domisili=50, prestasi=25"})
    assert ok.status_code == 200 and "Kuota khusus sekolah disimpan." in ok.text, ok.text
    assert (await rules_of(admin, period["id"]))["school_quotas"] == [
        {"npsn": "20670001", "quotas": {"domisili": 50.0, "prestasi": 25.0}}
    ]
    assert 'value="domisili=50, prestasi=25"' in ok.text
