"""Choice rules and per-school quotas as data: negeri and swasta schools, how many choices of a kind and from
which choice on, schools with their own quotas."""

from __future__ import annotations

from tests.helpers import expect_error, open_period, registration

A, B, C, D = "20670001", "20670002", "20670003", "20670004"
SCHOOLS = f"""npsn,name,level,latitude,longitude,capacity,kelurahan_code,status
{A},SMP Negeri 1 Uji,smp,-6.1790,106.6310,20,36.71.01.1001,negeri
{B},SMP Negeri 2 Uji,smp,-6.1900,106.6400,20,36.71.01.1002,NEGERI
{C},SMP Swasta Bakti,smp,-6.1795,106.6305,20,36.71.01.1001,swasta
{D},SMP Swasta Harapan,smp,-6.1800,106.6320,20,36.74.01.1001,swasta
"""
# The home (tests.helpers.HOME) is in A's and D's zones, not in B's (1.7 km away) nor C's (80 m, zone 50 m).
ZONES = f"npsn,kelurahan_code,radius_m,priority\n{A},,3000,1\n{B},,1000,1\n{C},,50,1\n{D},,3000,1\n"


async def draft(admin) -> dict:
    period = await open_period(admin, open_=False, schools_csv=SCHOOLS)
    zones = await admin.post(f"/api/periods/{period['id']}/zones/import", content=ZONES)
    assert zones.status_code == 200, zones.text
    return period


def prestasi(serial: int, choices: list[str]) -> dict:
    """A prestasi registration: no zone needed, so only the choice rules decide."""
    return registration(serial, path="prestasi", documents=["kk", "akta_kelahiran", "rapor"], choices=choices)


async def test_schools_are_negeri_or_swasta_from_the_import(admin, client):
    period = await draft(admin)
    listed = (await client.get(f"/api/periods/{period['id']}/schools")).json()
    assert {s["npsn"]: s["ownership"] for s in listed} == {A: "negeri", B: "negeri", C: "swasta", D: "swasta"}
    bad = SCHOOLS.replace(",negeri\n", ",milik desa\n", 1)
    imported = await admin.post(f"/api/periods/{period['id']}/schools/import", content=bad)
    assert expect_error(imported, 422, "csv_invalid")["details"][0]["code"] == "status_invalid"


async def test_jabar_two_negeri_then_one_swasta_as_the_third_choice(admin, parent):
    period = await draft(admin)
    url = f"/api/periods/{period['id']}/rules"
    limits = [{"kind": "negeri", "max": 2}, {"kind": "swasta", "max": 1, "from_rank": 3}]
    changed = await admin.patch(url, json={"max_choices": 3, "choice_limits": limits})
    assert changed.status_code == 200, changed.text
    assert (await admin.post(f"/api/periods/{period['id']}/open")).status_code == 200
    register = f"/api/periods/{period['id']}/applications"
    early = expect_error(await parent.post(register, json=prestasi(1, [A, C, B])), 422, "choice_composition_invalid")
    assert early["field"] == "choices[1]"
    assert early["message"] == "Sekolah swasta (SMP Swasta Bakti) hanya boleh mulai pilihan ke-3."
    expect_error(await parent.post(register, json=prestasi(1, [A, B, C, D])), 422, "too_many_choices")
    only = expect_error(await parent.post(register, json=prestasi(1, [C])), 422, "choice_composition_invalid")
    assert only["field"] == "choices[0]"
    created = await parent.post(register, json=prestasi(1, [A, B, C]))
    assert created.status_code == 201, created.text
    # the choice rules stay once families have registered against them
    expect_error(await admin.patch(url, json={"choice_limits": []}), 409, "rule_locked")


async def test_jatim_at_most_one_choice_outside_the_zone_and_none_in_another_kabupaten(admin, parent):
    period = await draft(admin)
    limits = [{"kind": "outside_zone", "max": 1}, {"kind": "other_kabupaten", "max": 0}]
    changed = await admin.patch(f"/api/periods/{period['id']}/rules", json={"choice_limits": limits})
    assert changed.status_code == 200, changed.text
    assert (await admin.post(f"/api/periods/{period['id']}/open")).status_code == 200
    register = f"/api/periods/{period['id']}/applications"
    # D's zone takes the home, but D is in Kota Tangerang Selatan (36.74)
    other = expect_error(await parent.post(register, json=prestasi(1, [A, D])), 422, "choice_composition_invalid")
    assert other["field"] == "choices[1]" and "kabupaten/kota lain" in other["message"]
    two = expect_error(await parent.post(register, json=prestasi(1, [B, C])), 422, "choice_composition_invalid")
    assert two["field"] == "choices[1]"
    assert two["message"].startswith("Paling banyak 1 pilihan sekolah yang zonanya tidak mencakup alamat")
    assert (await parent.post(register, json=prestasi(1, [A, B]))).status_code == 201


async def test_a_school_has_its_own_quotas_within_the_national_bounds(admin, client, parent):
    period = await draft(admin)
    pid = period["id"]
    url = f"/api/periods/{pid}/rules"
    low = [{"npsn": A, "quotas": {"domisili": 60, "prestasi": 15}}]
    refused = expect_error(await admin.patch(url, json={"school_quotas": low}), 422, "quota_out_of_bounds")
    assert refused["field"] == f"school_quotas.{A}" and f"di sekolah {A}" in refused["message"]
    unknown = [{"npsn": A, "quotas": {"zonasi_khusus": 10}}]
    expect_error(await admin.patch(url, json={"school_quotas": unknown}), 422, "path_unknown")
    twice = [{"npsn": A, "quotas": {"domisili": 40}}, {"npsn": A, "quotas": {"domisili": 40}}]
    expect_error(await admin.patch(url, json={"school_quotas": twice}), 422, "school_quotas_duplicate")
    assert (await admin.post(f"/api/periods/{pid}/open")).status_code == 200
    # a buffer school takes more of its neighbourhood: still allowed while registration is open (seats only)
    buffer = [{"npsn": A, "quotas": {"domisili": 50, "prestasi": 25}}]
    changed = await admin.patch(url, json={"school_quotas": buffer})
    assert changed.status_code == 200, changed.text
    seats = {s["npsn"]: s["seats"] for s in (await client.get(f"/api/periods/{pid}/schools")).json()}
    assert seats[A] == {"domisili": 10, "afirmasi": 4, "mutasi": 1, "prestasi": 5}
    assert seats[B] == {"domisili": 8, "afirmasi": 4, "mutasi": 1, "prestasi": 7}
    assert (await parent.post(f"/api/periods/{pid}/applications", json=registration(1, choices=[A]))).status_code == 201
    assert (await admin.post(f"/api/periods/{pid}/close")).status_code == 200
    run = (await admin.post(f"/api/periods/{pid}/selection-runs")).json()
    capacity = {p["program"]: p["capacity"] for p in run["programs"]}
    assert (capacity[f"{A}:domisili"], capacity[f"{B}:domisili"]) == (10, 8)
