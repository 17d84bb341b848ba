"""SMK programs (issue 23): the Jabar SMK 2025 template end to end through the API. Programs (kompetensi
keahlian) are imported with their own capacity, parents choose (school, program) pairs under the template's
composition rule, a school finds a program requirement unmet at verification, the selection places by program,
and every explanation, list and lookup names the program."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from ppdb.selection import engine
from tests.helpers import enter_rapor, expect_error, new_period, registration
from tests.integration.regions.test_stages import stage_window
from tests.integration.scores.test_scores import BIRTH

SCHOOLS = """npsn,name,level,latitude,longitude,capacity,kelurahan_code,status
20690001,SMK Negeri 1 Uji,smk,-6.1790,106.6310,0,36.71.01.1001,negeri
20690002,SMK Bakti Uji,smk,-6.1900,106.6400,0,36.71.01.1002,swasta
"""
PROGRAMS = """npsn,code,name,capacity,requirements,partner
20690001,TKJ,Teknik Komputer dan Jaringan,20,tidak_buta_warna,
20690001,akl,Akuntansi dan Keuangan Lembaga,20,,
20690001,TKR-IND,Teknik Kendaraan Ringan (Kelas Industri),10,lulus_tes_mitra,PT Mitra Otomotif
20690002,TKJ,Teknik Komputer dan Jaringan,10,,
"""
TKJ, AKL, SWASTA = "20690001/TKJ", "20690001/AKL", "20690002/TKJ"
HEALTH = "surat_keterangan_sehat"


def child(serial: int, north_m: float, choices: list[str], documents: tuple[str, ...] = (HEALTH,)) -> dict:
    """A domisili registration `north_m` metres north of the schools' street (farther: a worse key)."""
    return registration(
        serial,
        birth_date=BIRTH,
        latitude=-6.1790 + north_m / 111_320,
        longitude=106.6310,
        choices=choices,
        documents=["kk", "akta_kelahiran", *documents],
    )


async def smk_period(admin) -> int:
    pid = (await new_period(admin, level="smk"))["id"]
    loaded = await admin.post(f"/api/periods/{pid}/rules/template", json={"template": "jabar-2025-smk"})
    assert loaded.status_code == 200, loaded.text
    assert loaded.json()["rules"]["programs"]["max_per_school"] == 2
    assert (await admin.post(f"/api/periods/{pid}/schools/import", content=SCHOOLS)).status_code == 200
    return pid


async def test_programs_are_imported_with_their_own_seats_all_rows_or_none(admin, client, session):
    pid = await smk_period(admin)
    url = f"/api/periods/{pid}/programs/import"
    wrong = PROGRAMS + "20690001,TKJ,Lagi,5,buta_huruf,\n20690009,X,Sekolah lain,5,,\n20690002,T K,Spasi,-1,,\n"
    refused = expect_error(await admin.post(url, content=wrong), 422, "csv_invalid")
    codes = {(d["row"], d["code"]) for d in refused["details"]}
    assert codes == {
        (6, "program_duplicate"),
        (6, "program_requirement_unknown"),
        (7, "school_not_in_period"),
        (8, "code_invalid"),
        (8, "capacity_invalid"),
    }
    assert await session.scalar(text("SELECT count(*) FROM programs")) == 0  # nothing of a refused file
    imported = await admin.post(url, content=PROGRAMS)
    assert imported.status_code == 200, imported.text
    assert imported.json()["rows"] == 4
    schools = {s["npsn"]: s for s in (await client.get(f"/api/periods/{pid}/schools")).json()}
    smkn = schools["20690001"]
    assert smkn["capacity"] == 50  # the sum of its programs'
    programs = {p["code"]: p for p in smkn["programs"]}
    assert programs["AKL"]["name"] == "Akuntansi dan Keuangan Lembaga"  # codes are upper case
    assert programs["TKJ"]["requirements"] == ["Tidak buta warna"]
    assert programs["TKR-IND"]["partner"] == "PT Mitra Otomotif"
    for p in programs.values():  # each program's seats add up to its own capacity, path by path
        assert sum(p["seats"].values()) == p["capacity"]
    assert programs["TKJ"]["seats"] == {"domisili": 2, "afirmasi": 6, "mutasi": 1, "prestasi": 11}
    # Importing again replaces a school's programs; a school import keeps an SMK's capacity at their sum.
    again = "npsn,code,name,capacity\n20690002,TKJ,Teknik Komputer dan Jaringan,12\n"
    assert (await admin.post(url, content=again)).status_code == 200
    assert (await admin.post(f"/api/periods/{pid}/schools/import", content=SCHOOLS)).status_code == 200
    schools = {s["npsn"]: s for s in (await client.get(f"/api/periods/{pid}/schools")).json()}
    assert (schools["20690001"]["capacity"], schools["20690002"]["capacity"]) == (50, 12)

    sma = (await new_period(admin, level="sma"))["id"]
    sma_school = SCHOOLS.replace(",smk,", ",sma,").replace("2069", "2068")
    assert (await admin.post(f"/api/periods/{sma}/schools/import", content=sma_school)).status_code == 200
    refused = await admin.post(f"/api/periods/{sma}/programs/import", content=PROGRAMS.replace("2069", "2068"))
    assert "programs_not_smk" in {d["code"] for d in expect_error(refused, 422, "csv_invalid")["details"]}


async def test_choices_are_programs_under_the_templates_composition_rules(admin, parent):
    pid = await smk_period(admin)
    assert (await admin.post(f"/api/periods/{pid}/programs/import", content=PROGRAMS)).status_code == 200
    assert (await admin.post(f"/api/periods/{pid}/open")).status_code == 200
    url = f"/api/periods/{pid}/applications"
    for choices, status, code, where in (
        (["20690001"], 422, "program_missing", "choices[0]"),  # an SMK with programs is chosen by one
        (["20690001/MM"], 422, "program_unknown", "choices[0]"),
        ([TKJ, AKL, "20690001/TKR-IND"], 422, "choice_composition_invalid", "choices[2]"),  # at most 2 at one SMK
        ([SWASTA, TKJ], 422, "choice_composition_invalid", "choices[0]"),  # the private school only third
        ([TKJ, TKJ.lower()], 422, "duplicate_choice", "choices"),
        (["20690001/", AKL], 422, "program_unknown", "choices[0]"),
    ):
        refused = expect_error(await parent.post(url, json=child(1, 100, choices)), status, code)
        assert refused["field"] == where, refused
    # TKJ asks for a health certificate (it shows the child is not colour-blind): declared with the choice.
    missing = expect_error(await parent.post(url, json=child(1, 100, [TKJ], ())), 422, "document_missing")
    assert "Teknik Komputer dan Jaringan" in missing["message"]
    created = await parent.post(url, json=child(1, 100, [TKJ, AKL.lower(), SWASTA]))
    assert created.status_code == 201, created.text
    chosen = created.json()["choices"]
    assert [(c["npsn"], c["program"]) for c in chosen] == [
        ("20690001", "TKJ"),
        ("20690001", "AKL"),
        ("20690002", "TKJ"),
    ]
    assert chosen[1]["program_name"] == "Akuntansi dan Keuangan Lembaga"
    number = created.json()["registration_number"]
    assert (await parent.get(f"/api/applications/{number}")).json()["choices"] == chosen
    # A change keeps the programs (the form is "npsn/code" again) and may swap them.
    changed = await parent.patch(f"/api/applications/{number}", json={"choices": [AKL, TKJ]})
    assert changed.status_code == 200, changed.text
    assert [c["program"] for c in changed.json()["choices"]] == ["AKL", "TKJ"]


async def test_a_jabar_smk_admission_places_by_program_and_says_so(admin, parent, operator, client, session):
    pid = await smk_period(admin)
    assert (await admin.post(f"/api/periods/{pid}/programs/import", content=PROGRAMS)).status_code == 200
    assert (await admin.post(f"/api/periods/{pid}/open")).status_code == 200
    url = f"/api/periods/{pid}/applications"
    # Four children want TKJ first (2 domisili seats there in tahap 1), then AKL; the nearest is colour-blind.
    numbers = []
    for serial, north in ((1, 100), (2, 200), (3, 300), (4, 400)):
        created = await parent.post(url, json=child(serial, north, [TKJ, AKL, SWASTA]))
        assert created.status_code == 201, created.text
        numbers.append(created.json()["registration_number"])
    first, _, _, fourth = numbers

    smkn = await operator("20690001", "op.smkn1@sekolah.test")
    other = await operator("20690002", "op.bakti@sekolah.test")
    check = f"/api/applications/{first}/program-check"
    finding = {"program": TKJ, "unmet": ["tidak_buta_warna"], "reason": "Tes Ishihara: buta warna parsial"}
    expect_error(await other.put(check, json=finding), 403, "forbidden_school")  # another school's program
    expect_error(await smkn.put(check, json=finding | {"reason": None}), 422, "reason_required")
    wrong = finding | {"unmet": ["lulus_tes_mitra"]}
    expect_error(await smkn.put(check, json=wrong), 422, "program_requirement_unknown")
    not_chosen = finding | {"program": "20690001/TKR-IND"}
    expect_error(await smkn.put(check, json=not_chosen), 404, "program_choice_not_found")
    checked = await smkn.put(check, json=finding)
    assert checked.status_code == 200, checked.text
    assert checked.json()["program_unmet"] == ["tidak_buta_warna"]
    assert checked.json()["program_reason"] == "Tes Ishihara: buta warna parsial"
    told = await session.scalar(text("SELECT count(*) FROM notifications WHERE kind = 'program_unmet'"))
    assert told == 1
    audited = await session.scalar(text("SELECT new FROM audit_log WHERE action = 'program.check'"))
    assert audited["program"] == TKJ and audited["unmet"] == ["tidak_buta_warna"]
    listed = (await smkn.get("/api/schools/20690001/applicants", params={"period_id": pid})).json()
    mine = [(r["choice_rank"], r["program"], r["program_unmet"]) for r in listed if r["registration_number"] == first]
    assert mine == [(1, "TKJ", True), (2, "AKL", False)]  # two programs of one school: a row each
    # The parent sees the finding. It is the child's for that program: dropping the choice and choosing it
    # again, or changing anything else, does not clear it.
    mine = (await parent.get(f"/api/applications/{first}")).json()["choices"][0]
    assert mine["program_unmet"] == ["tidak_buta_warna"]
    url = f"/api/applications/{first}"
    assert (await parent.patch(url, json={"choices": [AKL]})).status_code == 200
    back = await parent.patch(url, json={"choices": [TKJ, AKL, SWASTA], "address": "Jl. Melati No. 2, RT 001/RW 002"})
    assert back.status_code == 200, back.text
    assert back.json()["choices"][0]["program_unmet"] == ["tidak_buta_warna"]

    for step, payload in (("close", None), ("selection-runs", None), ("publications", {})):
        done = await admin.post(f"/api/periods/{pid}/{step}", json=payload)
        assert done.status_code in (200, 201), done.text
    explained = {n: (await parent.get(f"/api/applications/{n}/status")).json() for n in numbers}
    assert [explained[n]["placed_choice"] for n in numbers] == [2, 1, 1, 2]
    mine = explained[first]["choices"]
    assert mine[0]["outcome"] == "dropped" and "syarat program" in mine[0]["text"]
    assert mine[0]["school_name"] == "SMK Negeri 1 Uji – Teknik Komputer dan Jaringan"
    assert mine[1]["outcome"] == "placed"
    assert mine[1]["text"] == "Diterima di SMK Negeri 1 Uji – Akuntansi dan Keuangan Lembaga (pilihan ke-2)."
    assert "Akuntansi dan Keuangan Lembaga" in explained[first]["summary"]
    missed = explained[fourth]["choices"][0]
    assert missed["outcome"] == "not_placed" and missed["program"] == "20690001:domisili@TKJ"
    assert missed["text"].startswith("Tidak diterima di SMK Negeri 1 Uji – Teknik Komputer dan Jaringan: batas ")
    assert 290 < missed["cutoff"][0] < 310  # the third child's distance

    # The engine's contract is unchanged: each program's path is an engine program, replayable by anyone.
    run = (await client.get(f"/api/periods/{pid}/selection-runs/latest")).json()
    exported = await client.get(f"/api/periods/{pid}/selection-runs/{run['id']}/instance")
    assert engine.solve(engine.load_instance(exported.content)).digest == run["digest"]
    programs = {p["id"]: p for p in json.loads(exported.content)["programs"]}
    assert programs["20690001:domisili@TKJ"] == {
        "id": "20690001:domisili@TKJ",
        "school": "20690001",
        "path": "domisili@TKJ",
        "capacity": 2,
    }
    assert len(programs) == 4 * 4  # four programs, four paths each

    summary = (await client.get(f"/api/periods/{pid}/results")).json()
    smkn_paths = next(s for s in summary["schools"] if s["npsn"] == "20690001")["paths"]
    tkj = next(p for p in smkn_paths if p["program"] == "TKJ" and p["path"] == "domisili")
    assert tkj["program_name"] == "Teknik Komputer dan Jaringan"
    assert (tkj["seats"], tkj["filled"]) == (2, 2)
    listed = (await client.get(f"/api/periods/{pid}/results/schools/20690001")).json()
    akl = next(p for p in listed["paths"] if p["program"] == "AKL" and p["path"] == "domisili")
    assert len(akl["placed"]) == 2
    found = await client.get(
        f"/api/periods/{pid}/results/lookup", params={"registration_number": first, "birth_date": BIRTH.isoformat()}
    )
    assert found.status_code == 200, found.text
    assert found.json()["program"] == "AKL" and found.json()["path"] == "domisili"
    assert "SMK Negeri 1 Uji – Akuntansi dan Keuangan Lembaga jalur Domisili" in found.json()["message"]

    # Daftar ulang, then tahap 2 (prestasi): each program keeps the seats not confirmed in it.
    closes = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert (await admin.post(f"/api/periods/{pid}/reregistration/open", json={"closes_at": closes})).status_code == 204
    confirmed = await parent.post(f"/api/applications/{numbers[1]}/reregistration", json={"decision": "confirmed"})
    assert confirmed.status_code == 200, confirmed.text
    assert (await admin.post(f"/api/periods/{pid}/reregistration/close")).status_code == 200
    started = await admin.post(f"/api/periods/{pid}/next-stage", json=stage_window())
    assert started.status_code == 201, started.text
    second = started.json()["id"]
    schools = {s["npsn"]: s for s in (await client.get(f"/api/periods/{second}/schools")).json()}
    assert {p["code"]: p["capacity"] for p in schools["20690001"]["programs"]} == {"AKL": 20, "TKJ": 19, "TKR-IND": 10}
    assert schools["20690001"]["capacity"] == 49
    assert (await admin.post(f"/api/periods/{second}/open")).status_code == 200
    body = child(9, 50, [TKJ], documents=(HEALTH, "rapor")) | {"path": "prestasi"}
    await enter_rapor(admin, second, body, "90")
    later = await parent.post(f"/api/periods/{second}/applications", json=body)
    assert later.status_code == 201, later.text
    assert later.json()["choices"][0]["program_name"] == "Teknik Komputer dan Jaringan"
