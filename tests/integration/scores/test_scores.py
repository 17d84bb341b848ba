"""Scores from their sources: the origin school enters the rapor, the Dinas the tests and indexes, the server
computes the score; a parent cannot set it."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from ppdb.audit.models import AuditEntry
from ppdb.identity import nik_for
from ppdb.scores.models import Graduate
from tests.helpers import ORIGIN, SCHOOLS_CSV, enter_rapor, expect_error, new_period, open_period, registration

SMA_SCHOOLS = """npsn,name,level,latitude,longitude,capacity,kelurahan_code
20680001,SMA Negeri 1 Uji,sma,-6.1790,106.6310,10,36.71.01.1001
"""
BIRTH = date(2011, 3, 15)
HEADER = "nisn,nik,nama,tanggal_lahir,npsn_sekolah_asal," + ",".join(f"matematika_{n}" for n in range(1, 6))


def child(serial: int, **changes) -> dict:
    """An SMA prestasi registration at SMA Negeri 1 Uji."""
    return registration(
        serial,
        birth_date=BIRTH,
        nik=nik_for("367101", BIRTH, "P", serial),
        path="prestasi",
        documents=["kk", "akta_kelahiran", "rapor"],
        choices=["20680001"],
        **changes,
    )


def graduate_row(serial: int, origin: str, grades: str = "80,80,80,80,80") -> str:
    body = child(serial)
    return f"{body['nisn']},{body['nik']},{body['name']},{BIRTH.isoformat()},{origin},{grades}"


async def sma_period(admin) -> dict:
    """An SMP period first (its schools are the origin schools), then the SMA period the children go on to."""
    await open_period(admin, schools_csv=SCHOOLS_CSV)
    period = await new_period(admin, level="sma")
    imported = await admin.post(f"/api/periods/{period['id']}/schools/import", content=SMA_SCHOOLS)
    assert imported.status_code == 200, imported.text
    return period


async def test_a_parent_cannot_type_a_score_and_placement_uses_the_computed_one(admin, parent):
    period = await sma_period(admin)
    assert (await admin.patch(f"/api/periods/{period['id']}/rules", json={"transfers": []})).status_code == 200
    assert (await admin.post(f"/api/periods/{period['id']}/open")).status_code == 200
    url = f"/api/periods/{period['id']}/applications"
    # The parent's 999.99 is refused outright, whatever the path.
    refused = expect_error(await parent.post(url, json=child(1, score="999.99")), 400, "unknown_field")
    assert refused["field"] == "score"
    # Prestasi has 3 of the 10 seats (SMA preset: 30 % domisili, 30 % afirmasi, 5 % mutasi, 35 % prestasi).
    # Child 1's parent would have typed 999.99; the origin school entered 70. Five others have 71..75.
    bodies = [child(i) for i in range(1, 7)]
    numbers = []
    for body, grade in zip(bodies, ["70", "71", "72", "73", "74", "75"], strict=True):
        await enter_rapor(admin, period["id"], body, grade)
        created = await parent.post(url, json=body)
        assert created.status_code == 201, created.text
        numbers.append(created.json()["registration_number"])
    score = (await parent.get(f"/api/applications/{numbers[0]}/score")).json()
    assert score["total"] == 70.0
    assert score["parts"] == [
        {
            "name": "rapor",
            "source": "rapor",
            "source_words": "rata-rata rapor",
            "weight": 100.0,
            "value": 70.0,
            "points": 70.0,
            "missing": [],
            "detail": None,
        }
    ]
    assert (await admin.post(f"/api/periods/{period['id']}/close")).status_code == 200
    run = await admin.post(f"/api/periods/{period['id']}/selection-runs")
    assert {p["program"]: p["capacity"] for p in run.json()["programs"]}["20680001:prestasi"] == 3
    assert (await admin.post(f"/api/periods/{period['id']}/publications", json={})).status_code == 201
    statuses = [(await parent.get(f"/api/applications/{n}/status")).json() for n in numbers]
    assert [s["placed_choice"] for s in statuses] == [None, None, None, 1, 1, 1]
    assert "batas nilai 73,00, nilai Anda 70,00" in statuses[0]["choices"][0]["text"]
    # The score is fixed from closing on: corrections go through a complaint.
    late = await admin.put(
        f"/api/periods/{period['id']}/graduates",
        json={"nisn": bodies[0]["nisn"], "nik": bodies[0]["nik"], "name": "X", "birth_date": "2011-03-15"},
    )
    expect_error(late, 409, "scores_locked")


async def test_a_child_without_rapor_is_told_so_and_ranks_after_every_score(admin, parent):
    period = await sma_period(admin)
    assert (await admin.post(f"/api/periods/{period['id']}/open")).status_code == 200
    created = await parent.post(f"/api/periods/{period['id']}/applications", json=child(1))
    assert created.status_code == 201, created.text
    number = created.json()["registration_number"]
    score = (await parent.get(f"/api/applications/{number}/score")).json()
    assert score["total"] is None and "belum mengisi" in score["message"]
    page = await parent.get(f"/pendaftaran/{number}")
    assert "Nilai dari sekolah asal" in page.text and "belum mengisi nilai" in page.text


async def test_the_origin_school_enters_and_sees_only_its_own_graduates(admin, operator, session):
    period = await sma_period(admin)
    pid = period["id"]
    own = await operator("20670001", "op.asal@sekolah.test")
    other = await operator("20670002", "op.lain@sekolah.test")
    url = f"/api/periods/{pid}/graduates"
    # An origin school's own list: the NPSN column may be left empty.
    csv = "\n".join([HEADER, graduate_row(1, ""), graduate_row(2, "20670001", "90,90,90,90,90")]) + "\n"
    imported = await own.post(f"{url}/import", content=csv)
    assert imported.status_code == 200, imported.text
    assert imported.json() == {"rows": 2, "created": 2, "updated": 0, "removed": 0}
    # A school of the period's own level is no origin school for it (it admits there).
    sma = await operator("20680001", "op.sma@sekolah.test")
    expect_error(
        await sma.post(f"{url}/import", content=HEADER + "\n" + graduate_row(9, "") + "\n"), 403, "not_origin_school"
    )
    # Another school can neither list, claim nor overwrite them.
    assert (await other.get(url)).json() == []
    claimed = await other.post(f"{url}/import", content=HEADER + "\n" + graduate_row(1, "") + "\n")
    assert expect_error(claimed, 422, "csv_invalid")["details"][0]["code"] == "graduate_other_school"
    foreign = await other.post(f"{url}/import", content=HEADER + "\n" + graduate_row(3, "20670001") + "\n")
    assert expect_error(foreign, 422, "csv_invalid")["details"][0]["code"] == "graduate_other_school"
    one = child(1)
    overwrite = {"nisn": one["nisn"], "nik": one["nik"], "name": "X", "birth_date": BIRTH.isoformat()}
    refused = expect_error(await other.put(url, json=overwrite), 422, "graduate_other_school")
    assert refused["field"] == "nik" and not refused["message"].startswith("Baris")
    listed = (await own.get(url)).json()
    assert [g["rapor"]["matematika"]["1"] for g in listed] == [80.0, 90.0]
    assert {g["origin_npsn"] for g in listed} == {"20670001"}
    # A re-import replaces the school's list: child 2 is gone, child 1 changed, one audit entry each.
    again = await own.post(f"{url}/import", content=HEADER + "\n" + graduate_row(1, "", "85,85,85,85,") + "\n")
    assert again.status_code == 200, again.text
    assert again.json() == {"rows": 1, "created": 0, "updated": 1, "removed": 1}
    (only,) = (await own.get(url)).json()
    assert only["rapor"] == {"matematika": {"1": 85.0, "2": 85.0, "3": 85.0, "4": 85.0}}  # semester 5 not entered
    # A name correction without a rapor keeps the grades.
    renamed = await own.put(
        url, json={"nisn": one["nisn"], "nik": one["nik"], "name": "Siti A.", "birth_date": "2011-03-15"}
    )
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["rapor"]) == ("Siti A.", only["rapor"])
    entries = await session.scalar(
        select(func.count()).where(AuditEntry.action == "graduates.import", AuditEntry.period_id == pid)
    )
    assert entries == 2
    # The agency sees every origin school's graduates of its region's period.
    assert len((await admin.get(url)).json()) == 1


async def test_a_bad_row_stores_nothing_and_every_error_is_reported(admin, session):
    period = await sma_period(admin)
    url = f"/api/periods/{period['id']}/graduates/import"
    rows = [
        HEADER,
        graduate_row(1, ORIGIN),
        graduate_row(2, ORIGIN, "80,80,105,80,80"),  # outside 0-100
        graduate_row(3, ORIGIN, "80,80,80.555,80,80"),  # three decimals
        graduate_row(1, ORIGIN),  # the same child twice
        graduate_row(4, "123"),  # not an NPSN
    ]
    error = expect_error(await admin.post(url, content="\n".join(rows) + "\n"), 422, "csv_invalid")
    assert [(d["row"], d["code"]) for d in error["details"]] == [
        (3, "rapor_invalid"),
        (4, "rapor_invalid"),
        (5, "nik_duplicate"),
        (5, "nisn_duplicate"),
        (6, "npsn_sekolah_asal_invalid"),
    ]
    assert await session.scalar(select(func.count()).select_from(Graduate)) == 0
    typo_csv = HEADER + ",matematika_semester1\n" + graduate_row(1, ORIGIN) + ",80\n"
    typo = expect_error(await admin.post(url, content=typo_csv), 422, "csv_invalid")
    assert typo["details"][0]["code"] == "csv_column_unknown"
    twice = HEADER + ",matematika_1\n" + graduate_row(1, ORIGIN) + ",90\n"  # which of the two would count?
    assert "matematika_1" in expect_error(await admin.post(url, content=twice), 422, "csv_header_invalid")["message"]
    # A wrong file has an error in every cell: the answer keeps 200 of them and counts the rest.
    rows = [HEADER] + [graduate_row(i, ORIGIN, "x,x,x,x,x") for i in range(1, 61)]
    many = expect_error(await admin.post(url, content="\n".join(rows) + "\n"), 422, "csv_invalid")
    assert len(many["details"]) == 200 and many["message"].startswith("300 kesalahan")


async def test_test_results_and_school_index_from_the_agency_count_in_the_score(admin, parent, operator):
    period = await sma_period(admin)
    pid = period["id"]
    # Jabar-like prestasi: 50 % rapor + 50 % tes terstandar; domisili: 60 % rapor + 40 % the school's index.
    rules = {
        "paths": [
            {
                "name": "prestasi",
                "score": {
                    "components": [
                        {"name": "rapor", "source": "rapor", "weight": 50, "semesters": [1, 2, 3, 4, 5]},
                        {"name": "tes_terstandar", "source": "test", "weight": 50},
                    ]
                },
            }
        ]
    }
    changed = await admin.patch(f"/api/periods/{pid}/rules", json=rules)
    assert changed.status_code == 200, changed.text
    bad = {"paths": [{"name": "prestasi", "score": {"components": [{"name": "r", "source": "rapor", "weight": 90}]}}]}
    expect_error(await admin.patch(f"/api/periods/{pid}/rules", json=bad), 422, "score_weights_invalid")
    body = child(1)
    await enter_rapor(admin, pid, body, "87", origin="20670001")  # every grade 87
    tests_url = f"/api/periods/{pid}/tests/import"
    unknown = await admin.post(tests_url, content=f"nisn,komponen,nilai\n{body['nisn']},tka,70\n")
    assert expect_error(unknown, 422, "csv_invalid")["details"][0]["code"] == "component_unknown"
    own = await operator("20670001", "op.asal@sekolah.test")
    assert (await own.post(tests_url, content="nisn,komponen,nilai\n")).status_code == 403  # the Dinas only
    loaded = await admin.post(tests_url, content=f"nisn,komponen,nilai\n{body['nisn']},tes_terstandar,75.5\n")
    assert loaded.status_code == 200, loaded.text
    assert (await admin.post(f"/api/periods/{pid}/open")).status_code == 200
    created = await parent.post(f"/api/periods/{pid}/applications", json=body)
    assert created.status_code == 201, created.text
    score = (await parent.get(f"/api/applications/{created.json()['registration_number']}/score")).json()
    # 0.5 × 87 + 0.5 × 75.5 = 43.5 + 37.75 = 81.25
    assert score["total"] == 81.25
    assert [(p["name"], p["value"], p["points"]) for p in score["parts"]] == [
        ("rapor", 87.0, 43.5),
        ("tes_terstandar", 75.5, 37.75),
    ]
    # The school index: one file replaces the period's indexes.
    indexes = f"/api/periods/{pid}/school-indexes/import"
    assert (await admin.post(indexes, content="npsn,indeks\n20670001,80\n20670002,70\n")).json()["rows"] == 2
    assert (await admin.post(indexes, content="npsn,indeks\n20670001,82\n")).json() == {
        "rows": 1,
        "created": 1,
        "updated": 0,
        "removed": 2,
    }


async def test_jatim_prestasi_breaks_a_tie_in_nilai_akhir_by_the_school_index(admin, parent):
    await open_period(admin, schools_csv=SCHOOLS_CSV)
    period = await new_period(admin, level="sma")
    pid = period["id"]
    one_seat = SMA_SCHOOLS.replace(",10,", ",4,")  # prestasi akademik 25 % of 4 = 1 seat
    assert (await admin.post(f"/api/periods/{pid}/schools/import", content=one_seat)).status_code == 200
    loaded = await admin.post(f"/api/periods/{pid}/rules/template", json={"template": "jatim-2025-sma"})
    assert loaded.status_code == 200, loaded.text
    prestasi = next(p for p in loaded.json()["rules"]["paths"] if p["name"] == "prestasi")
    assert prestasi["keys"][:4] == ["score", "distance", "score:indeks_sekolah", "rapor:pendidikan_agama"]
    # prestasi akademik alone, in one period (its stage of the admission: tests/integration/regions/test_stages.py)
    one_period = {"transfers": [], "stages": []}
    assert (await admin.patch(f"/api/periods/{pid}/rules", json=one_period)).status_code == 200
    indexes = "npsn,indeks\n20670001,90\n20670002,82.5\n"
    assert (await admin.post(f"/api/periods/{pid}/school-indexes/import", content=indexes)).status_code == 200
    # A: 0.6 × 80 + 0.4 × 90 = 48 + 36 = 84.00; B: 0.6 × 85 + 0.4 × 82.5 = 51 + 33 = 84.00, same home.
    # B registers first, so registration time would favour B: the index decides before it, for A.
    a, b = child(1), child(2)
    await enter_rapor(admin, pid, a, "80", origin="20670001")
    await enter_rapor(admin, pid, b, "85", origin="20670002")
    assert (await admin.post(f"/api/periods/{pid}/open")).status_code == 200
    url = f"/api/periods/{pid}/applications"
    numbers = {}
    for name, body in (("b", b), ("a", a)):
        created = await parent.post(url, json=body)
        assert created.status_code == 201, created.text
        numbers[name] = created.json()["registration_number"]
    assert (await parent.get(f"/api/applications/{numbers['a']}/score")).json()["total"] == 84.0
    assert (await parent.get(f"/api/applications/{numbers['b']}/score")).json()["total"] == 84.0
    assert (await admin.post(f"/api/periods/{pid}/close")).status_code == 200
    assert (await admin.post(f"/api/periods/{pid}/selection-runs")).status_code == 201
    assert (await admin.post(f"/api/periods/{pid}/publications", json={})).status_code == 201
    status_a = (await parent.get(f"/api/applications/{numbers['a']}/status")).json()
    status_b = (await parent.get(f"/api/applications/{numbers['b']}/status")).json()
    assert (status_a["placed_choice"], status_b["placed_choice"]) == (1, None)
    assert "batas indeks sekolah 90,00, indeks sekolah Anda 82,50" in status_b["choices"][0]["text"], status_b[
        "choices"
    ][0]["text"]


async def test_the_school_sees_score_fraud_flags(admin, parent, operator):
    # Last year's SMA period: origin school 20670001's graduates averaged 75.
    region_id = (await admin.get("/api/auth/me")).json()["region_id"]
    last_year = await admin.post(
        "/api/periods",
        json={
            "region_id": region_id,
            "school_year": "2026/2027",
            "level": "sma",
            "preset": "permendikdasmen-3-2025",
            "registration_opens_at": "2026-06-01T08:00:00+07:00",
            "registration_closes_at": "2026-06-05T16:00:00+07:00",
        },
    )
    assert last_year.status_code == 201, last_year.text
    for serial in (51, 52):
        await enter_rapor(admin, last_year.json()["id"], child(serial), "75", origin="20670001")
    period = await sma_period(admin)
    pid = period["id"]
    # This year: 20670001's graduates average 85 (a jump of 10), 20670002 has no earlier list.
    jumped, unknown, borrowed = child(1), child(2), child(3)
    await enter_rapor(admin, pid, jumped, "85", origin="20670001")
    await enter_rapor(admin, pid, unknown, "95", origin="20670002")
    await enter_rapor(admin, pid, borrowed, "80", origin="20670002")
    assert (await admin.post(f"/api/periods/{pid}/open")).status_code == 200
    url = f"/api/periods/{pid}/applications"
    borrowed["nisn"] = "0999999999"  # the parent's NISN is not the one on the graduate list for this NIK
    numbers = []
    for body in (jumped, unknown, borrowed):
        created = await parent.post(url, json=body)
        assert created.status_code == 201, created.text
        numbers.append(created.json()["registration_number"])
    school = await operator("20680001", "op.sma@sekolah.test")

    async def flagged() -> list[set[str]]:
        rows = (await school.get("/api/schools/20680001/applicants", params={"period_id": pid})).json()
        flags = {
            r["registration_number"]: {f for f in r["flags"] if f in ("rapor_jump", "graduate_mismatch")} for r in rows
        }
        return [flags[n] for n in numbers]

    assert await flagged() == [{"rapor_jump"}, set(), {"graduate_mismatch"}]
    # The origin school corrects its graduate's rapor to 79: a rise of 4 over last year's 75 is no jump.
    await enter_rapor(admin, pid, jumped, "79", origin="20670001")
    assert await flagged() == [set(), set(), {"graduate_mismatch"}]
