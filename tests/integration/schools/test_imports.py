"""School and zone CSV imports: row-level errors, nothing half-imported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from ppdb.schools.models import PeriodSchool, School, ZoneEntry
from tests.helpers import expect_error, open_period

HEADER = "npsn,name,level,latitude,longitude,capacity,kelurahan_code\n"


async def test_every_bad_row_is_reported_and_nothing_is_imported(admin, session):
    period = await open_period(admin, open_=False)
    before = await session.scalar(select(func.count()).select_from(School))
    csv = HEADER + (
        "20670010,SMP Baik,smp,-6.18,106.63,64,36.71.01.1001\n"
        "2067001,SMP NPSN Pendek,smp,-6.18,106.63,64,\n"
        "20670012,SMP Jenjang Salah,sma,-6.18,106.63,64,\n"
        "20670013,SMP Luar Negeri,smp,13.75,100.50,64,\n"
        "20670014,SMP Kapasitas,smp,-6.18,106.63,-5,\n"
        "20670010,SMP Ganda,smp,-6.18,106.63,64,\n"
        "20670016,,smp,abc,106.63,64,36.71.1\n"
    )
    error = expect_error(
        await admin.post(f"/api/periods/{period['id']}/schools/import", content=csv), 422, "csv_invalid"
    )
    found = {(d["row"], d["code"]) for d in error["details"]}
    assert found == {
        (3, "npsn_invalid"),
        (4, "school_level_mismatch"),
        (5, "coordinate_outside_indonesia"),
        (6, "capacity_invalid"),
        (7, "npsn_duplicate"),
        (8, "name_invalid"),
        (8, "latitude_invalid"),
        (8, "kelurahan_code_invalid"),
    }
    assert all(d["message"].startswith(f"Baris {d['row']}") for d in error["details"])
    assert await session.scalar(select(func.count()).select_from(School)) == before


async def test_reimport_updates_capacity_and_reports_counts(admin, session):
    period = await open_period(admin, open_=False)
    csv = (
        HEADER + "20670001,SMP Negeri 1 Uji (baru),smp,-6.1790,106.6310,128,36.71.01.1001\n"
        "20670009,SMP Negeri 9 Uji,smp,-6.1700,106.6200,96,\n"
    )
    result = await admin.post(f"/api/periods/{period['id']}/schools/import", content=csv)
    assert result.json() == {"rows": 2, "created": 1, "updated": 1, "removed": 0}
    capacity = await session.scalar(select(PeriodSchool.capacity).join(School).where(School.npsn == "20670001"))
    assert capacity == 128


async def test_header_and_encoding_errors(admin):
    period = await open_period(admin, open_=False)
    url = f"/api/periods/{period['id']}/schools/import"
    expect_error(await admin.post(url, content="npsn,name\n1,2\n"), 422, "csv_header_invalid")
    expect_error(await admin.post(url, content=HEADER), 422, "csv_empty")
    expect_error(await admin.post(url, content=b"\xff\xfe\x00bad"), 422, "csv_encoding_invalid")
    # Tens of thousands of rows are answered like a few (security review L2: 500 past 32,767 query parameters).
    many = HEADER + "".join(f"{20000000 + n},SMP {n},smp,-6.1,106.6,x\n" for n in range(33_000))
    refused = expect_error(await admin.post(url, content=many), 422, "csv_invalid")
    assert "33000 kesalahan" in refused["message"] and len(refused["details"]) == 200


async def test_zone_import_errors_and_replacement(admin, session):
    period = await open_period(admin, open_=False)
    url = f"/api/periods/{period['id']}/zones/import"
    bad = (
        "npsn,kelurahan_code,radius_m,priority\n"
        "99999999,36.71.01.1001,,1\n"
        "20670001,,,1\n"
        "20670001,36.71.01.1001,500,1\n"
        "20670002,3671,,1\n"
        "20670002,,-5,1\n"
        "20670002,36.71.01.1003,,0\n"
    )
    error = expect_error(await admin.post(url, content=bad), 422, "csv_invalid")
    assert {(d["row"], d["code"]) for d in error["details"]} == {
        (2, "school_not_in_period"),
        (3, "zone_area_invalid"),
        (4, "zone_area_invalid"),
        (5, "kelurahan_code_invalid"),
        (6, "radius_m_invalid"),
        (7, "priority_invalid"),
    }
    before = await session.scalar(select(func.count()).select_from(ZoneEntry))
    assert before == 3  # the zones from open_period are untouched
    good = "npsn,kelurahan_code,radius_m,priority\n20670001,36.71.01.1002,,1\n20670001,36.71.01.1003,,2\n"
    assert (await admin.post(url, content=good)).json() == {"rows": 2, "created": 0, "updated": 1, "removed": 0}
    codes = set(await session.scalars(select(ZoneEntry.kelurahan_code).join(School).where(School.npsn == "20670001")))
    assert codes == {"36.71.01.1002", "36.71.01.1003"}


async def test_imports_refused_while_registration_is_open(admin):
    period = await open_period(admin)
    csv = HEADER + "20670001,SMP Negeri 1 Uji,smp,-6.1790,106.6310,1,\n"
    expect_error(
        await admin.post(f"/api/periods/{period['id']}/schools/import", content=csv), 409, "period_not_editable"
    )


async def test_a_school_of_a_running_period_keeps_its_name_and_place_when_another_period_imports_it(admin):
    """Security review M4: importing schools into a draft rewrote a school of an open period (its families chose
    it and their distances were measured as it was)."""
    running = await open_period(admin)  # open, with SMP Negeri 1 Uji among its schools
    region_id = (await admin.get("/api/auth/me")).json()["region_id"]
    now = datetime.now(UTC)
    draft = await admin.post(
        "/api/periods",
        json={
            "region_id": region_id,
            "school_year": "2028/2029",
            "level": "smp",
            "preset": "permendikdasmen-3-2025",
            "registration_opens_at": (now + timedelta(days=300)).isoformat(),
            "registration_closes_at": (now + timedelta(days=310)).isoformat(),
        },
    )
    assert draft.status_code == 201, draft.text
    url = f"/api/periods/{draft.json()['id']}/schools/import"
    header = "npsn,name,level,latitude,longitude,capacity,kelurahan_code\n"
    moved = header + "20670001,SMP Negeri 1 Uji (baru),smp,-6.3000,106.7000,90,36.71.01.1001\n"
    refused = expect_error(await admin.post(url, content=moved), 422, "csv_invalid")
    assert refused["details"][0]["code"] == "school_in_use"
    same = header + "20670001,SMP Negeri 1 Uji,smp,-6.1790,106.6310,90,36.71.01.1001\n"  # only its capacity
    assert (await admin.post(url, content=same)).status_code == 200
    schools = (await admin.get(f"/api/periods/{running['id']}/schools")).json()
    assert next(s for s in schools if s["npsn"] == "20670001")["name"] == "SMP Negeri 1 Uji"
