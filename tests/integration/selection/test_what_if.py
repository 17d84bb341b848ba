"""What-if: a rule variant solved on the current pool, compared, and nothing written."""

from __future__ import annotations

from sqlalchemy import func, select

from ppdb.selection.models import SelectionRun
from tests.helpers import HOME, expect_error, open_period, registration

SCHOOLS = """npsn,name,level,latitude,longitude,capacity,kelurahan_code
20670001,SMP Negeri 1 Uji,smp,-6.1790,106.6310,10,36.71.01.1001
20670002,SMP Negeri 2 Uji,smp,-6.1900,106.6400,10,36.71.01.1002
20670003,SMP Negeri 3 Uji,smp,-6.2000,106.6500,0,36.71.02.1001
"""


async def _pool(parent, period_id):
    url = f"/api/periods/{period_id}/applications"
    for i in range(8):  # domisili applicants for school 1, more than its domisili seats
        body = registration(serial=i + 1, latitude=HOME[0] - 0.0005 * i, choices=["20670001"])
        assert (await parent.post(url, json=body)).status_code == 201
    for i in range(1):  # one afirmasi applicant: fewer than the 2 afirmasi seats
        body = registration(serial=20 + i, path="afirmasi", documents=["afirmasi_proof"], choices=["20670001"])
        assert (await parent.post(url, json=body)).status_code == 201


async def test_quota_variant_reports_fills_groups_and_changes(admin, parent, session):
    period = await open_period(admin, schools_csv=SCHOOLS)
    await _pool(parent, period["id"])
    url = f"/api/periods/{period['id']}/selection-runs/what-if"
    same = (await admin.post(url, json={})).json()
    assert same["current_digest"] == same["variant_digest"] and same["changed"] == 0

    # No transfers: unused afirmasi seats stay empty, so fewer domisili applicants are placed.
    variant = await admin.post(url, json={"transfers": []})
    assert variant.status_code == 200, variant.text
    body = variant.json()
    assert body["variant_digest"] != body["current_digest"]
    domisili = next(g for g in body["groups"] if g["group"] == "domisili")
    assert domisili["applicants"] == 8 and domisili["variant_placed"] < domisili["placed"]
    assert body["changed"] == domisili["changed"] == domisili["placed"] - domisili["variant_placed"]
    assert all(c["variant"] is None and c["current"] == "20670001:domisili" for c in body["changes"])
    afirmasi_fill = next(p for p in body["paths"] if p["path"] == "afirmasi")
    # school 1 has 10 seats: domisili 4, afirmasi 2, mutasi 1, prestasi 3 (largest remainder)
    assert afirmasi_fill["filled"] == afirmasi_fill["variant_filled"] == 1
    assert (afirmasi_fill["seats"], afirmasi_fill["variant_seats"]) == (1 + 0, 2 + 2)  # school 2's stay unused
    assert await session.scalar(select(func.count()).select_from(SelectionRun)) == 0


async def test_preset_variant_maps_path_names(admin, parent):
    period = await open_period(admin, schools_csv=SCHOOLS)
    await _pool(parent, period["id"])
    body = (
        await admin.post(f"/api/periods/{period['id']}/selection-runs/what-if", json={"preset": "permendikbud-1-2021"})
    ).json()
    paths = {p["path"]: p for p in body["paths"]}
    assert set(paths) == {"domisili", "zonasi", "afirmasi", "mutasi", "perpindahan_tugas", "prestasi"}
    assert paths["zonasi"]["seats"] == 0 and paths["zonasi"]["variant_seats"] > 0
    assert paths["domisili"]["variant_seats"] == 0
    domisili = next(g for g in body["groups"] if g["group"] == "domisili")
    assert domisili["variant_placed"] > 0  # domisili applicants compete in zonasi


async def test_variants_breaking_national_bounds_are_refused(admin, parent):
    period = await open_period(admin, schools_csv=SCHOOLS)
    url = f"/api/periods/{period['id']}/selection-runs/what-if"
    expect_error(await admin.post(url, json={"quotas": {"domisili": 20, "prestasi": 55}}), 422, "quota_out_of_bounds")
    expect_error(await admin.post(url, json={"preset": "nope"}), 422, "preset_unknown")
    expect_error(await admin.post(url, json={"mechanism": "boston"}), 400, "invalid_request")


async def test_a_template_variant_shows_what_a_regions_juknis_would_change(admin, parent, session):
    period = await open_period(admin, schools_csv=SCHOOLS)
    await _pool(parent, period["id"])
    url = f"/api/periods/{period['id']}/selection-runs/what-if"
    # Banyumas: domisili split into utama / sebaran by each choice's zone tier, and no afirmasi seats to pass on
    body = (await admin.post(url, json={"template": "banyumas-2025-smp", "transfers": []})).json()
    assert body["variant_digest"] != body["current_digest"]
    domisili = next(g for g in body["groups"] if g["group"] == "domisili")
    assert domisili["variant_placed"] < domisili["placed"]
    assert await session.scalar(select(func.count()).select_from(SelectionRun)) == 0
    expect_error(await admin.post(url, json={"template": "jatim-2025-sma"}), 409, "template_mismatch")
    expect_error(await admin.post(url, json={"template": "narnia"}), 404, "template_not_found")
