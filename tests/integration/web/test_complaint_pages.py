"""Complaint pages: a parent files and follows a case, an anonymous report is followed with its code, the Dinas
decides and corrects from the case page; each page by role; junk input never a 500."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import open_period, registration
from tests.integration.web.test_new_pages import TEXT, signed_in


async def test_a_parent_files_a_complaint_and_the_dinas_decides_it(transport, admin, parent, operator) -> None:
    period = await open_period(admin)
    pid = period["id"]
    number = (await parent.post(f"/api/periods/{pid}/applications", json=registration(choices=["20670001"]))).json()[
        "registration_number"
    ]
    await operator()
    family, token = await signed_in(transport, "parent")
    form = await family.get(f"/pengaduan?periode={pid}&nomor={number}")
    assert form.status_code == 200 and f'value="{number}" selected' in form.text
    refused = await family.post(
        "/pengaduan",
        data={"_csrf": token, "period_id": str(pid), "category": "verification", "registration_number": number},
    )
    assert refused.status_code == 400 and "Uraikan pengaduan" in refused.text
    for period in ("²", "9" * 5000):  # digits Python reads but no period id: the form again, not a 500
        odd = await family.post("/pengaduan", data={"_csrf": token, "period_id": period, "category": "fraud"})
        assert odd.status_code == 400 and "Pilih periode" in odd.text
    filed = await family.post(
        "/pengaduan",
        data={
            "_csrf": token,
            "period_id": str(pid),
            "category": "verification",
            "registration_number": number,
            "text": "Titik rumah kami dipindah verifikator ke tempat yang salah.",
        },
        files={"file": ("bukti.pdf", b"%PDF-1.4 bukti", "application/pdf")},
    )
    assert filed.status_code == 302, filed.text
    case_url = filed.headers["location"].split("?")[0]
    case = re.search(r"ADU-[0-9A-Z]{8}", case_url).group(0)
    page = await family.get(filed.headers["location"])
    assert "Pengaduan terkirim" in page.text and "Berkas 1" in page.text and "Keputusan dinas" not in page.text

    dinas, dinas_token = await signed_in(transport, "admin")
    listed = await dinas.get(f"/dinas/periode/{pid}/pengaduan")
    assert case in listed.text
    school, _ = await signed_in(transport, "operator")
    assert case in (await school.get(f"/sekolah/periode/{pid}/pengaduan")).text
    missing = await dinas.post(f"{case_url}/putusan", data={"_csrf": dinas_token, "status": "upheld"})
    assert missing.status_code == 422 and "alasan" in missing.text.lower()
    decided = await dinas.post(
        f"{case_url}/putusan", data={"_csrf": dinas_token, "status": "upheld", "reason": "Titik dibetulkan."}
    )
    assert decided.status_code == 302
    fixed = await dinas.post(
        f"{case_url}/koreksi",
        data={
            "_csrf": dinas_token,
            "what": "coordinate",
            "latitude": "-6.1781",
            "longitude": "106.6301",
            "reason": "Sesuai sanggah.",
        },
    )
    assert fixed.status_code == 302, fixed.text
    shown = await family.get(case_url)
    assert "Dikabulkan" in shown.text and "Titik dibetulkan." in shown.text and "menunggu seleksi koreksi" in shown.text


async def test_an_anonymous_report_shows_its_code_once_and_is_followed_with_it(transport, admin) -> None:
    period = await open_period(admin)
    visitor, token = await signed_in(transport, "anonymous")
    form = await visitor.get("/pengaduan")
    assert form.status_code == 200 and 'value="fraud"' in form.text and 'value="result"' not in form.text
    filed = await visitor.post(
        "/pengaduan",
        data={
            "_csrf": token,
            "period_id": str(period["id"]),
            "category": "fraud",
            "npsn": "20670001",
            "text": "Seorang pendaftar memakai KK kerabat yang tinggal dekat sekolah.",
        },
    )
    assert filed.status_code == 200, filed.text
    number = re.search(r'id="case-number">([^<]+)<', filed.text).group(1)
    code = re.search(r'id="case-code">([^<]+)<', filed.text).group(1)
    wrong = await visitor.post("/pengaduan/lacak", data={"_csrf": token, "number": number, "code": "AAAAA-AAAAA"})
    assert wrong.status_code == 404 and "tidak cocok" in wrong.text
    found = await visitor.post("/pengaduan/lacak", data={"_csrf": token, "number": number.lower(), "code": code})
    assert found.status_code == 200 and "Diterima" in found.text and code not in found.text


async def test_complaint_pages_by_role(transport, admin, parent, operator) -> None:
    period = await open_period(admin)
    await operator()
    pid = period["id"]
    number = (await parent.post(f"/api/periods/{pid}/applications", json=registration(choices=["20670003"]))).json()[
        "registration_number"
    ]
    case = (
        await parent.post(
            f"/api/periods/{pid}/complaints",
            json={"category": "registration", "registration_number": number, "text": "Nama anak salah ketik."},
        )
    ).json()["number"]
    expected = {
        "anonymous": {f"/dinas/periode/{pid}/pengaduan": 302, f"/pengaduan/{case}": 302, "/pengaduan": 200},
        "parent": {f"/dinas/periode/{pid}/pengaduan": 403, f"/pengaduan/{case}": 200, "/pengaduan": 200},
        "operator": {f"/sekolah/periode/{pid}/pengaduan": 200, f"/pengaduan/{case}": 404},  # not its applicant
        "admin": {f"/dinas/periode/{pid}/pengaduan": 200, f"/pengaduan/{case}": 200},
    }
    for role, pages in expected.items():
        client, token = await signed_in(transport, role)
        for path, status in pages.items():
            assert (await client.get(path)).status_code == status, (role, path)
        if role in ("parent", "operator"):  # only the Dinas decides
            refused = await client.post(f"/pengaduan/{case}/putusan", data={"_csrf": token, "status": "upheld"})
            assert refused.status_code == 403, role
        await client.aclose()


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/pengaduan", ("period_id", "category", "registration_number", "npsn", "text")),
        ("/pengaduan/lacak", ("number", "code")),
    ],
)
async def test_complaint_forms_take_any_input_without_a_500(transport, admin, path, fields) -> None:
    await open_period(admin)
    client, token = await signed_in(transport, "anonymous")
    answers: list[dict[str, str]] = []

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.fixed_dictionaries({name: TEXT for name in fields}))
    def junk(values: dict[str, str]) -> None:
        answers.append(values)

    junk()
    for values in answers:
        answer = await client.post(path, data={**values, "_csrf": token})
        assert answer.status_code in (200, 302, 400, 404, 409, 422, 429), (path, values, answer.status_code)
    await client.aclose()
