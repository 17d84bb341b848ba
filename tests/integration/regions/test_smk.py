"""SMK as a level of its own (issue 23, first step): the 2025 national bounds for SMK (at least 15 % afirmasi, at
most 10 % for the nearest homes, the rest by achievement), Jabar's SMK shares within them, SMK schools, the
SMPs as origin schools, and a selection from registration to publication."""

from __future__ import annotations

from tests.helpers import enter_rapor, expect_error, new_period, open_period, registration
from tests.integration.scores.test_scores import BIRTH, SCHOOLS_CSV

SMK_SCHOOLS = """npsn,name,level,latitude,longitude,capacity,kelurahan_code
20690001,SMK Negeri 1 Uji,smk,-6.1790,106.6310,4,36.71.01.1001
"""


def smk_child(serial: int, path: str = "prestasi") -> dict:
    documents = ["kk", "akta_kelahiran", *(["rapor"] if path == "prestasi" else [])]
    return registration(serial, birth_date=BIRTH, path=path, documents=documents, choices=["20690001"])


async def test_an_smk_period_has_the_smk_bounds_and_runs_to_publication(admin, parent, operator):
    await open_period(admin, schools_csv=SCHOOLS_CSV)  # an SMP period: its schools are the origin schools
    period = await new_period(admin, level="smk")
    pid = period["id"]
    rules = period["rules"]
    assert {p["name"]: p["quota"] for p in rules["paths"]} == {
        "domisili": 10.0,
        "afirmasi": 15.0,
        "mutasi": 5.0,
        "prestasi": 70.0,
    }
    assert rules["max_age_years"] == 21
    url = f"/api/periods/{pid}/rules"
    expect_error(await admin.patch(url, json={"quotas": {"domisili": 20, "prestasi": 60}}), 422, "quota_out_of_bounds")
    expect_error(await admin.patch(url, json={"quotas": {"afirmasi": 10, "prestasi": 75}}), 422, "quota_out_of_bounds")
    # Jabar SMK 2025: domisili 10, afirmasi 30, mutasi 5, prestasi 55 (research file, J1/J7).
    jabar = {"domisili": 10, "afirmasi": 30, "mutasi": 5, "prestasi": 55}
    assert (await admin.patch(url, json={"quotas": jabar})).status_code == 200
    wrong = await admin.post(f"/api/periods/{pid}/schools/import", content=SMK_SCHOOLS.replace(",smk,", ",sma,"))
    expect_error(wrong, 422, "csv_invalid")
    assert (await admin.post(f"/api/periods/{pid}/schools/import", content=SMK_SCHOOLS)).status_code == 200
    assert (await admin.post(f"/api/periods/{pid}/open")).status_code == 200
    smp = await operator("20670001", "op.smp.asal@sekolah.test")  # an SMP enters its graduates for the SMK
    assert (await smp.get(f"/api/periods/{pid}/graduates")).status_code == 200

    numbers = []
    for serial, grade in zip(range(1, 8), ["70", "75", "80", "85", "90", "95", "99"], strict=True):
        body = smk_child(serial)
        await enter_rapor(admin, pid, body, grade)
        created = await parent.post(f"/api/periods/{pid}/applications", json=body)
        assert created.status_code == 201, created.text
        numbers.append(created.json()["registration_number"])
    for step, payload in (("close", None), ("selection-runs", None), ("publications", {})):
        assert (await admin.post(f"/api/periods/{pid}/{step}", json=payload)).status_code in (200, 201)
    # 4 seats; the other paths' seats, unused, go to prestasi: the 4 best rapor are placed.
    placed = [(await parent.get(f"/api/applications/{n}/status")).json()["placed_choice"] for n in numbers]
    assert placed == [None, None, None, 1, 1, 1, 1]
