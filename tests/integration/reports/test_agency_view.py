"""The agency's view at a glance: schools sorted by how full they are, kelurahan by the share of their children
placed (the blank spots first), complaints per day; the same numbers on the period page."""

from __future__ import annotations

from tests.integration.complaints.test_sanggah import published_cycle
from tests.integration.web.test_new_pages import signed_in


async def test_schools_kelurahan_and_complaints_at_a_glance(admin, transport):
    pid, families, numbers = await published_cycle(admin, transport)
    filed = await families[3].post(
        f"/api/periods/{pid}/complaints",
        json={"category": "result", "registration_number": numbers[3], "text": "Anak kami tidak diterima di mana pun."},
    )
    assert filed.status_code == 201
    stats = (await admin.get(f"/api/periods/{pid}/statistics")).json()
    schools = stats["schools"]
    assert [s["fill_rate"] for s in schools] == sorted(s["fill_rate"] for s in schools)
    assert sum(s["filled"] for s in schools) == sum(p["filled"] for p in stats["programs"]) == stats["placed"] == 3
    smp1 = next(s for s in schools if s["npsn"] == "20670001")
    assert (smp1["applicants"], smp1["seats"], smp1["filled"]) == (4, 2, 2)
    assert smp1["distance_cutoff_m"] > 0
    (kelurahan,) = stats["kelurahan"]  # every family lives in one kelurahan
    assert (kelurahan["applicants"], kelurahan["placed"], kelurahan["share_placed"]) == (4, 3, 0.75)
    assert round(kelurahan["latitude"], 3) == kelurahan["latitude"]  # no one's home, only the area's
    assert [(d["filed"], d["decided"]) for d in stats["complaints_by_day"]] == [(1, 0)]
    paths = {p["path"]: p for p in stats["paths"]}
    assert sum(p["applicants"] for p in paths.values()) == stats["applications"] - stats["withdrawn"] == 4
    assert sum(p["filled"] for p in paths.values()) == stats["placed"]
    assert sum(p["seats"] for p in paths.values()) == sum(p["seats"] for p in stats["programs"])

    browser, _ = await signed_in(transport, "admin")
    shown = await browser.get(f"/dinas/periode/{pid}")
    assert shown.status_code == 200, shown.headers
    page = shown.text
    for table in (
        'id="schools-table"',
        'id="paths-table"',
        'id="chart-paths"',
        'id="chart-cutoffs"',
        'id="kelurahan-table"',
        'id="complaints-by-day"',
        'id="kelurahan-map"',
    ):
        assert table in page
    assert "75.0%" in page


async def test_the_public_rank_page_shows_one_school_when_asked(admin, transport, client):
    """On a phone the rank list is long: a parent picks the school (works without JavaScript; the 30 s refresh
    keeps the choice), and each row is a card naming its values."""
    pid, _, _ = await published_cycle(admin, transport)
    everything = (await client.get(f"/periode/{pid}/peringkat")).text
    assert "SMP Negeri 1 Uji" in everything and "SMP Negeri 2 Uji" in everything
    assert '<table class="cards">' in everything and 'data-label="Batas"' in everything
    one = await client.get(f"/periode/{pid}/peringkat", params={"sekolah": "20670002"})
    rows = one.text.split("<tbody>")[1]
    assert "SMP Negeri 2 Uji" in rows and "SMP Negeri 1 Uji" not in rows
    assert '<option value="20670002" selected>' in one.text
    assert f'hx-get="/periode/{pid}/peringkat?sekolah=20670002"' in one.text
    refreshed = await client.get(f"/periode/{pid}/peringkat?sekolah=20670002", headers={"HX-Request": "true"})
    assert "SMP Negeri 2 Uji" in refreshed.text and "SMP Negeri 1 Uji" not in refreshed.text
    unknown = await client.get(f"/periode/{pid}/peringkat", params={"sekolah": "99999999"})
    assert unknown.status_code == 200 and "SMP Negeri 1 Uji" in unknown.text.split("<tbody>")[1]
    assert (await client.get(f"/periode/{pid}/peringkat", params={"sekolah": "9" * 21})).status_code == 400
