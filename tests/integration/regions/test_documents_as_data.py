"""Document kinds as data: a region lists its own (KIP, PKH, a union letter), paths and sub-quotas require them,
one kind or any one of several, and a rejected document closes only what rested on it."""

from __future__ import annotations

from tests.helpers import expect_error, open_period, registration

KINDS = [
    {"kind": "kip", "title": "Kartu Indonesia Pintar (KIP)"},
    {"kind": "pkh", "title": "Kartu Program Keluarga Harapan (PKH)", "formats": ["pdf"]},
    {"kind": "surat_serikat_buruh", "title": "Surat keterangan serikat buruh"},
]
AFIRMASI = {
    "name": "afirmasi",
    "required_documents": ["kk", ["kip", "pkh"]],
    "sub_quotas": [
        {"name": "ketm", "share": 80},
        {"name": "anak_buruh", "share": 20, "required_documents": ["surat_serikat_buruh"]},
    ],
}
PNG = b"\x89PNG\r\n\x1a\n image"


async def with_kinds(admin) -> dict:
    period = await open_period(admin, open_=False)
    url = f"/api/periods/{period['id']}/rules"
    unknown = expect_error(await admin.patch(url, json={"paths": [AFIRMASI]}), 422, "document_kind_unknown")
    assert unknown["field"] == "paths.afirmasi.required_documents" and "'kip'" in unknown["message"]
    twice = {"documents": [KINDS[0], KINDS[0]]}
    expect_error(await admin.patch(url, json=twice), 422, "document_duplicate")
    changed = await admin.patch(url, json={"documents": KINDS, "paths": [AFIRMASI]})
    assert changed.status_code == 200, changed.text
    assert [d["kind"] for d in changed.json()["rules"]["documents"]] == ["kip", "pkh", "surat_serikat_buruh"]
    assert (await admin.post(f"/api/periods/{period['id']}/open")).status_code == 200
    return period


def afirmasi(serial: int, category: str, documents: list[str]) -> dict:
    return registration(serial, path="afirmasi", category=category, documents=["kk", "akta_kelahiran", *documents])


async def test_a_region_lists_its_own_kinds_and_a_path_requires_any_one_of_them(admin, parent):
    period = await with_kinds(admin)
    url = f"/api/periods/{period['id']}/applications"
    missing = expect_error(await parent.post(url, json=afirmasi(1, "ketm", [])), 422, "document_missing")
    assert "salah satu dari Kartu Indonesia Pintar (KIP) / Kartu Program Keluarga Harapan (PKH)" in missing["message"]
    expect_error(await parent.post(url, json=afirmasi(1, "ketm", ["bpnt"])), 422, "document_kind_unknown")
    union = expect_error(await parent.post(url, json=afirmasi(1, "anak_buruh", ["kip"])), 422, "document_missing")
    assert "Surat keterangan serikat buruh" in union["message"]
    created = await parent.post(url, json=afirmasi(1, "ketm", ["pkh"]))
    assert created.status_code == 201, created.text
    number = created.json()["registration_number"]
    # PKH is PDF only in this region: a photo is refused with the reason, a PDF is kept
    photo = expect_error(
        await parent.put(f"/api/applications/{number}/documents/pkh", content=PNG), 415, "document_type_unsupported"
    )
    assert photo["message"] == "Kartu Program Keluarga Harapan (PKH) harus berkas PDF."
    assert (await parent.put(f"/api/applications/{number}/documents/pkh", content=b"%PDF-1.4")).status_code == 200
    expect_error(
        await parent.put(f"/api/applications/{number}/documents/bpnt", content=b"%PDF-1.4"),
        422,
        "document_kind_unknown",
    )
    created = await parent.post(url, json=afirmasi(2, "anak_buruh", ["kip", "surat_serikat_buruh"]))
    assert created.status_code == 201, created.text
    # the wizard offers the region's kinds by their titles, a PDF-only one accepting PDF only
    page = await parent.get(f"/periode/{period['id']}/daftar")
    assert "Kartu Indonesia Pintar (KIP)" in page.text
    assert 'name="file_pkh" accept="application/pdf"' in page.text


async def test_a_rejected_proof_closes_the_path_only_when_no_other_declared_one_stands(admin, parent, operator):
    period = await with_kinds(admin)
    pid = period["id"]
    url = f"/api/periods/{pid}/applications"
    numbers = []
    for serial, kinds in ((1, ["kip", "pkh"]), (2, ["kip"])):
        created = await parent.post(url, json=afirmasi(serial, "ketm", kinds))
        assert created.status_code == 201, created.text
        numbers.append(created.json()["registration_number"])
    both, one = numbers
    school = await operator()
    for number in (both, one):
        assert (
            await parent.put(f"/api/applications/{number}/documents/kip", content=b"%PDF-1.4 kip")
        ).status_code == 200
        decision = await school.post(
            f"/api/applications/{number}/documents/kip/decision",
            json={"decision": "rejected", "reason": "KIP atas nama anak lain."},
        )
        assert decision.status_code == 200, decision.text
    assert (await admin.post(f"/api/periods/{pid}/close")).status_code == 200
    assert (await admin.post(f"/api/periods/{pid}/selection-runs")).status_code == 201
    assert (await admin.post(f"/api/periods/{pid}/publications", json={})).status_code == 201
    kept, dropped = [(await parent.get(f"/api/applications/{n}/status")).json() for n in (both, one)]
    assert kept["placed_choice"] == 1  # the PKH it also declared still stands
    assert dropped["placed_choice"] is None
    assert "ditolak verifikator" in dropped["choices"][0]["text"]
