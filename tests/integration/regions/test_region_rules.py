"""A region's own juknis entered through the API: its own paths and sub-quotas that follow each choice's zone."""

from __future__ import annotations

from tests.helpers import HOME, expect_error, open_period, registration

# School A has 4 seats (SMP 2025: domisili 2, afirmasi 1, mutasi 0, prestasi 1); B and C have plenty.
SCHOOLS = """npsn,name,level,latitude,longitude,capacity,kelurahan_code
20670001,SMP Negeri 1 Uji,smp,-6.1790,106.6310,4,36.71.01.1001
20670002,SMP Negeri 2 Uji,smp,-6.1900,106.6400,64,36.71.01.1002
20670003,SMP Negeri 3 Uji,smp,-6.2000,106.6500,33,36.71.02.1001
"""
# Kelurahan 1001 is A's first zone, 1002 its second, 36.71.02.1001 its third; both are B's first; C takes everyone within 5 km.
ZONES = """npsn,kelurahan_code,radius_m,priority
20670001,36.71.01.1001,,1
20670001,36.71.01.1002,,2
20670002,36.71.01.1001,,1
20670001,36.71.02.1001,,3
20670002,36.71.01.1002,,1
20670003,,5000,1
"""
ZONED = {
    "paths": [
        {
            "name": "domisili",
            "sub_quotas": [
                {"name": "utama", "share": 50, "zone_tiers": [1]},
                {"name": "sebaran", "share": 50, "zone_tiers": [2]},
            ],
        }
    ]
}


async def _draft(admin) -> dict:
    period = await open_period(admin, schools_csv=SCHOOLS, open_=False)
    zones = await admin.post(f"/api/periods/{period['id']}/zones/import", content=ZONES)
    assert zones.status_code == 200, zones.text
    return period


async def _register(parent, period_id: int, serial: int, kelurahan: str, metres_south: int, choices: list[str]):
    body = registration(
        serial=serial,
        kelurahan_code=kelurahan,
        latitude=HOME[0] - metres_south / 111_000,
        longitude=HOME[1],
        choices=choices,
    )
    created = await parent.post(f"/api/periods/{period_id}/applications", json=body)
    assert created.status_code == 201, created.text
    return created.json()["registration_number"]


async def test_zoned_sub_quotas_set_through_the_api_place_each_choice_by_its_own_zone(admin, parent):
    period = await _draft(admin)
    changed = await admin.patch(f"/api/periods/{period['id']}/rules", json=ZONED)
    assert changed.status_code == 200, changed.text
    assert changed.json()["rules_version"] == 2
    assert (await admin.post(f"/api/periods/{period['id']}/open")).status_code == 200

    # Four children of A's first zone, nearest first; two of its second zone, further away than all of them;
    # one of A's third zone, for which the juknis has no sub-quota, is told so when choosing A.
    first_zone = [
        await _register(parent, period["id"], i + 1, "36.71.01.1001", 100 * i, ["20670001", "20670002"])
        for i in range(4)
    ]
    second_zone = [
        await _register(parent, period["id"], i + 11, "36.71.01.1002", 1000 + 100 * i, ["20670001", "20670002"])
        for i in range(2)
    ]
    third = registration(serial=21, kelurahan_code="36.71.02.1001", choices=["20670003", "20670001"])
    refused = expect_error(
        await parent.post(f"/api/periods/{period['id']}/applications", json=third), 422, "no_sub_quota"
    )
    assert refused["field"] == "choices[1]"

    assert (await admin.post(f"/api/periods/{period['id']}/close")).status_code == 200
    run = (await admin.post(f"/api/periods/{period['id']}/selection-runs")).json()
    assert (await admin.post(f"/api/periods/{period['id']}/publications", json={})).status_code == 201
    programs = {p["program"]: p for p in run["programs"]}
    utama, sebaran = programs["20670001:domisili/utama"], programs["20670001:domisili/sebaran"]
    assert (utama["capacity"], sebaran["capacity"]) == (1, 1)  # A's two domisili seats, halved
    assert "20670001:domisili" not in programs

    async def placed(number):
        return (await parent.get(f"/api/applications/{number}/status")).json()["placed_choice"]

    # The nearer second-zone child takes A's sebaran seat although four first-zone children live nearer;
    # the utama seat and the afirmasi and prestasi seats passed to it go to the three nearest of the first zone.
    assert [await placed(n) for n in first_zone] == [1, 1, 1, 2]
    assert [await placed(n) for n in second_zone] == [1, 2]


async def test_a_region_adds_its_own_path_within_a_national_one_and_removes_it(admin, parent):
    period = await _draft(admin)
    url = f"/api/periods/{period['id']}/rules"
    prestasi = next(p for p in period["rules"]["paths"] if p["name"] == "prestasi")
    half = prestasi["quota"] / 2
    split = {
        "paths": [
            {"name": "prestasi", "quota": half, "title": "Prestasi Akademik"},
            {
                "name": "prestasi_lomba",
                "category": "prestasi",
                "title": "Prestasi Lomba",
                "quota": half,
                "keys": ["score", "lottery"],
                "score": {"components": [{"name": "poin_lomba", "source": "test", "weight": 100}]},
                "required_documents": ["kk", "akta_kelahiran", "prestasi_certificate"],
            },
        ]
    }
    changed = await admin.patch(url, json=split)
    assert changed.status_code == 200, changed.text
    lomba = next(p for p in changed.json()["rules"]["paths"] if p["name"] == "prestasi_lomba")
    assert (lomba["category"], lomba["title"], lomba["quota"]) == ("prestasi", "Prestasi Lomba", half)

    # the national bound holds for the sum of a national path's parts
    over = {"paths": [{"name": "prestasi_lomba", "quota": half + 30}, {"name": "domisili", "quota": 10}]}
    assert expect_error(await admin.patch(url, json=over), 422, "quota_out_of_bounds")["field"] == "quotas.domisili"
    stray = {"paths": [{"name": "kelas_industri", "category": "smk", "quota": 0, "keys": ["lottery"]}]}
    assert expect_error(await admin.patch(url, json=stray), 422, "path_category_unknown")["field"] == (
        "paths.kelas_industri.category"
    )
    partial = {"paths": [{"name": "prestasi_tahfiz", "category": "prestasi"}]}
    expect_error(await admin.patch(url, json=partial), 422, "path_unknown")

    assert (await admin.post(f"/api/periods/{period['id']}/open")).status_code == 200
    body = registration(serial=5, path="prestasi_lomba", documents=["kk", "akta_kelahiran", "prestasi_certificate"])
    created = await parent.post(f"/api/periods/{period['id']}/applications", json=body)
    assert created.status_code == 201, created.text
    # once registration is open, the list of paths stays (families registered on them)
    removed = {"paths": [{"name": "prestasi_lomba", "remove": True}, {"name": "prestasi", "quota": prestasi["quota"]}]}
    expect_error(await admin.patch(url, json=removed), 409, "rule_locked")


async def test_a_draft_path_can_be_removed_but_not_a_whole_national_path(admin):
    period = await _draft(admin)
    url = f"/api/periods/{period['id']}/rules"
    prestasi = next(p for p in period["rules"]["paths"] if p["name"] == "prestasi")
    added = {
        "paths": [
            {"name": "prestasi", "quota": 0},
            {"name": "prestasi_lomba", "category": "prestasi", "quota": prestasi["quota"], "keys": ["lottery"]},
        ]
    }
    assert (await admin.patch(url, json=added)).status_code == 200  # SMP prestasi ≥ 25 % holds for the sum
    gone = {"paths": [{"name": "prestasi_lomba", "remove": True}, {"name": "prestasi", "quota": prestasi["quota"]}]}
    changed = await admin.patch(url, json=gone)
    assert changed.status_code == 200, changed.text
    assert "prestasi_lomba" not in {p["name"] for p in changed.json()["rules"]["paths"]}
    only = {"paths": [{"name": "prestasi", "remove": True}, {"name": "domisili", "quota": 100}]}
    assert expect_error(await admin.patch(url, json=only), 422, "paths_mismatch")["field"] == "paths"


async def test_reguler_then_sebaran_per_kelurahan_through_the_api_with_its_explanation(admin, parent):
    """Jatim / Jateng: the zone's children compete for domisili reguler; who misses it is ranked again, at
    the same school, for the sebaran seats of their own kelurahan."""
    period = await open_period(admin, schools_csv=SCHOOLS.replace(",4,36.71.01.1001", ",20,36.71.01.1001"), open_=False)
    zones = "npsn,kelurahan_code,radius_m,priority\n20670001,36.71.01.1001,,1\n20670001,36.71.01.1002,,1\n"
    zones += "20670002,36.71.01.1001,,1\n20670002,36.71.01.1002,,1\n"
    assert (await admin.post(f"/api/periods/{period['id']}/zones/import", content=zones)).status_code == 200
    split = {
        "transfers": [],
        "paths": [
            {
                "name": "domisili",
                "sub_quotas": [
                    {"name": "reguler", "share": 50, "zone_tiers": [1], "fallback": "sebaran"},
                    {"name": "sebaran", "share": 50, "per_kelurahan": True},
                ],
            }
        ],
    }
    changed = await admin.patch(f"/api/periods/{period['id']}/rules", json=split)
    assert changed.status_code == 200, changed.text
    assert (await admin.post(f"/api/periods/{period['id']}/open")).status_code == 200
    near = [
        await _register(parent, period["id"], i + 1, "36.71.01.1001", 100 * i, ["20670001", "20670002"])
        for i in range(7)
    ]
    far = [
        await _register(parent, period["id"], i + 11, "36.71.01.1002", 2000 + 100 * i, ["20670001", "20670002"])
        for i in range(2)
    ]
    assert (await admin.post(f"/api/periods/{period['id']}/close")).status_code == 200
    run = (await admin.post(f"/api/periods/{period['id']}/selection-runs")).json()
    assert (await admin.post(f"/api/periods/{period['id']}/publications", json={})).status_code == 201
    seats = {p["program"]: p["capacity"] for p in run["programs"] if p["npsn"] == "20670001"}
    assert seats["20670001:domisili/reguler"] == 4  # domisili 8 of 20: 4 reguler, 2 sebaran per kelurahan
    assert seats["20670001:domisili/sebaran-36.71.01.1001"] == seats["20670001:domisili/sebaran-36.71.01.1002"] == 2

    async def status(number):
        return (await parent.get(f"/api/applications/{number}/status")).json()

    placed = [await status(n) for n in [*near, *far]]
    programs = [s["choices"][0]["program"] if s["placed_choice"] == 1 else None for s in placed]
    assert (
        programs
        == ["20670001:domisili/reguler"] * 4
        + ["20670001:domisili/sebaran-36.71.01.1001"] * 2
        + [None]
        + ["20670001:domisili/sebaran-36.71.01.1002"] * 2
    )
    fifth = placed[4]["choices"][0]["text"]
    assert (
        "pada sub-kuota sebaran (kelurahan 36.71.01.1001)" in fifth
        and "tidak mendapat kursi di sub-kuota reguler" in fifth
    )
    seventh = placed[6]
    assert seventh["placed_choice"] == 2
    missed = seventh["choices"][0]["text"]
    assert "sub-kuota reguler: batas" in missed and "sub-kuota sebaran (kelurahan 36.71.01.1001): batas" in missed


async def test_a_path_closed_to_children_from_outside_the_region(admin, parent):
    """Kota Tangerang SMP: children living outside the city come in through prestasi only."""
    period = await open_period(admin, open_=False)
    closed = {"paths": [{"name": p, "out_of_region": False} for p in ("domisili", "afirmasi", "mutasi")]}
    changed = await admin.patch(f"/api/periods/{period['id']}/rules", json=closed)
    assert changed.status_code == 200, changed.text
    assert (await admin.post(f"/api/periods/{period['id']}/open")).status_code == 200
    url = f"/api/periods/{period['id']}/applications"
    outside = dict(kelurahan_code="36.03.01.1001", choices=["20670003"])  # Kabupaten Tangerang, within C's radius
    refused = expect_error(await parent.post(url, json=registration(serial=1, **outside)), 422, "out_of_region")
    assert refused["field"] == "path" and "Prestasi" in refused["message"]
    prestasi = registration(serial=2, path="prestasi", documents=["kk", "akta_kelahiran", "rapor"], **outside)
    assert (await parent.post(url, json=prestasi)).status_code == 201
    assert (await parent.post(url, json=registration(serial=3))).status_code == 201  # a city child on domisili
    # once families registered against it, who may register on a path stays
    reopened = {"paths": [{"name": "domisili", "out_of_region": True}]}
    expect_error(await admin.patch(f"/api/periods/{period['id']}/rules", json=reopened), 409, "rule_locked")


async def test_zone_rows_narrowed_to_an_rw_or_rt_must_name_their_kelurahan_and_rw(admin):
    period = await open_period(admin, open_=False)
    url = f"/api/periods/{period['id']}/zones/import"
    header = "npsn,kelurahan_code,radius_m,priority,rw,rt\n"
    for bad in ("20670001,36.71.01.1001,,1,,4\n", "20670001,,500,1,2,\n", "20670001,36.71.01.1001,,1,1000,\n"):
        refused = expect_error(await admin.post(url, content=header + bad), 422, "csv_invalid")
        assert refused["message"]
    twice = "20670001,36.71.01.1001,,1,2,3\n20670001,36.71.01.1001,,2,2,3\n"
    expect_error(await admin.post(url, content=header + twice), 422, "csv_invalid")
    fine = "20670001,36.71.01.1001,,1,2,3\n20670001,36.71.01.1001,,2,2,\n20670001,36.71.01.1001,,3,,\n"
    assert (await admin.post(url, content=header + fine)).status_code == 200
