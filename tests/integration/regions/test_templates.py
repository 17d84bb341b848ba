"""Juknis templates: each loads into a period in one audited step and runs its region's distinctive rule."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from ppdb.regions.juknis import templates
from tests.helpers import HOME, ORIGIN, enter_rapor, expect_error, new_period, registration

SCHOOLS = """npsn,name,level,latitude,longitude,capacity,kelurahan_code
{a},Sekolah A,{level},-6.1790,106.6310,20,36.71.01.1001
{b},Sekolah B,{level},-6.1900,106.6400,100,36.71.01.1002
"""
A, B = "20670001", "20670002"


async def draft(admin, level: str) -> dict:
    period = await new_period(admin, level=level)
    schools = SCHOOLS.format(a=A, b=B, level=level)
    assert (await admin.post(f"/api/periods/{period['id']}/schools/import", content=schools)).status_code == 200
    return period


async def load(admin, period: dict, name: str) -> dict:
    loaded = await admin.post(f"/api/periods/{period['id']}/rules/template", json={"template": name})
    assert loaded.status_code == 200, loaded.text
    return loaded.json()


async def one_stage(admin, period: dict, name: str) -> dict:
    """The template's ranking rules in one period: its stages left out (they are replayed in test_stages)."""
    loaded = await load(admin, period, name)
    assert loaded["rules"]["stages"], name
    cleared = await admin.patch(f"/api/periods/{period['id']}/rules", json={"stages": []})
    assert cleared.status_code == 200, cleared.text
    return cleared.json()


@pytest.mark.parametrize("name", sorted(templates()))
async def test_every_template_loads_into_a_draft_period_of_its_level_audited(admin, client, session, name):
    template = templates()[name]
    assert template.sources and all(s.startswith("http") for s in template.sources)
    listed = (await client.get("/api/templates", params={"level": template.level.value})).json()
    assert name in {t["name"] for t in listed}
    period = await draft(admin, template.level.value)
    loaded = await load(admin, period, name)
    assert loaded["rules_version"] == 2
    audited = await session.scalar(
        text("SELECT new FROM audit_log WHERE action = 'period.rules' AND period_id = :p"), {"p": period["id"]}
    )
    assert audited["rules_version"] == 2 and audited["changed"]
    other = "sma" if template.level.value == "smp" else "smp"
    wrong = await draft(admin, other)
    expect_error(
        await admin.post(f"/api/periods/{wrong['id']}/rules/template", json={"template": name}),
        409,
        "template_mismatch",
    )


async def test_an_unknown_template_or_field_is_refused(admin):
    period = await draft(admin, "smp")
    url = f"/api/periods/{period['id']}/rules/template"
    expect_error(await admin.post(url, json={"template": "narnia-2025-smp"}), 404, "template_not_found")
    expect_error(await admin.post(url, json={"template": "banyumas-2025-smp", "force": True}), 400, "unknown_field")


async def zones(admin, period: dict, rows: str, header: str = "npsn,kelurahan_code,radius_m,priority") -> None:
    body = header + "\n" + rows
    assert (await admin.post(f"/api/periods/{period['id']}/zones/import", content=body)).status_code == 200


async def register(
    parent, period: dict, serial: int, kelurahan: str, metres: int, *, rapor: tuple | None = None, **fields
) -> str:
    """Register a child; with `rapor` = (client, grade), its origin school first enters its rapor."""
    body = registration(
        serial=serial,
        kelurahan_code=kelurahan,
        latitude=HOME[0] - metres / 111_000,
        longitude=HOME[1],
        choices=[A, B],
        **fields,
    )
    if rapor is not None:
        await enter_rapor(rapor[0], period["id"], body, rapor[1])
    created = await parent.post(f"/api/periods/{period['id']}/applications", json=body)
    assert created.status_code == 201, created.text
    return created.json()["registration_number"]


async def run(admin, parent, period: dict, numbers: list[str]) -> tuple[dict, list[dict]]:
    assert (await admin.post(f"/api/periods/{period['id']}/close")).status_code == 200
    selection = (await admin.post(f"/api/periods/{period['id']}/selection-runs")).json()
    assert (await admin.post(f"/api/periods/{period['id']}/publications", json={})).status_code == 201
    return selection, [(await parent.get(f"/api/applications/{n}/status")).json() for n in numbers]


def placed_in(status: dict) -> str | None:
    rank = status["placed_choice"]
    return None if rank is None else status["choices"][rank - 1]["program"]


async def test_banyumas_smp_sebaran_seats_go_to_the_second_zone_however_near_the_first_zone_is(admin, parent):
    period = await draft(admin, "smp")
    await zones(admin, period, f"{A},36.71.01.1001,,1\n{A},36.71.01.1002,,2\n{B},,9000,1\n")
    await load(admin, period, "banyumas-2025-smp")
    # no seats passed on from the other paths here, so domisili's 9 of 20 stay 7 utama + 2 sebaran
    assert (await admin.patch(f"/api/periods/{period['id']}/rules", json={"transfers": []})).status_code == 200
    assert (await admin.post(f"/api/periods/{period['id']}/open")).status_code == 200
    utama = [await register(parent, period, i + 1, "36.71.01.1001", 100 * i) for i in range(8)]
    sebaran = [await register(parent, period, i + 21, "36.71.01.1002", 3000 + 100 * i) for i in range(2)]
    selection, statuses = await run(admin, parent, period, utama + sebaran)
    seats = {p["program"]: p["capacity"] for p in selection["programs"]}
    assert (seats[f"{A}:domisili/utama"], seats[f"{A}:domisili/sebaran"]) == (7, 2)
    assert [placed_in(s) for s in statuses] == [f"{A}:domisili/utama"] * 7 + [f"{B}:domisili/utama"] + [
        f"{A}:domisili/sebaran"
    ] * 2
    assert "Tidak diterima di Sekolah A" in statuses[7]["choices"][0]["text"]


SMA_CHILD = dict(birth_date=date(2011, 3, 15), nisn=None)


async def test_jatim_sma_reguler_then_sebaran_of_the_own_kelurahan_and_choice_order_first(admin, parent):
    period = await draft(admin, "sma")
    await zones(
        admin,
        period,
        f"{A},36.71.01.1001,,1\n{A},36.71.01.1002,,1\n{B},36.71.01.1001,,1\n{B},36.71.01.1002,,1\n",
    )
    loaded = await one_stage(admin, period, "jatim-2025-sma")
    assert loaded["rules"]["mechanism"] == "first_choice_priority"
    lomba = next(p for p in loaded["rules"]["paths"] if p["name"] == "prestasi_lomba")
    assert (lomba["category"], lomba["title"]) == ("prestasi", "Prestasi Lomba")
    assert (await admin.patch(f"/api/periods/{period['id']}/rules", json={"transfers": []})).status_code == 200
    # Jatim's nilai akhir is 60 % rapor + 40 % the origin school's index: one origin school here
    indexes = await admin.post(
        f"/api/periods/{period['id']}/school-indexes/import", content=f"npsn,indeks\n{ORIGIN},80\n"
    )
    assert indexes.status_code == 200, indexes.text
    assert (await admin.post(f"/api/periods/{period['id']}/open")).status_code == 200
    # domisili 35 % of 20 = 7: reguler 4, sebaran 3 split over the zone's two kelurahan (2 + 1)
    near = [
        await register(parent, period, i + 1, "36.71.01.1001", 100 * i, rapor=(admin, f"{90 - i}.00"), **SMA_CHILD)
        for i in range(7)
    ]
    far = [
        await register(parent, period, i + 21, "36.71.01.1002", 2000, rapor=(admin, f"{70 - i}.00"), **SMA_CHILD)
        for i in range(2)
    ]
    selection, statuses = await run(admin, parent, period, near + far)
    seats = {p["program"]: p["capacity"] for p in selection["programs"] if p["npsn"] == A}
    assert seats[f"{A}:domisili/reguler"] == 4
    assert seats[f"{A}:domisili/sebaran-36.71.01.1001"] + seats[f"{A}:domisili/sebaran-36.71.01.1002"] == 3
    places = [placed_in(s) for s in statuses]
    # the best four scores take reguler whatever their kelurahan; the rest of 1001 compete for its sebaran part
    assert places[:4] == [f"{A}:domisili/reguler"] * 4
    own = seats[f"{A}:domisili/sebaran-36.71.01.1001"]
    assert places[4 : 4 + own] == [f"{A}:domisili/sebaran-36.71.01.1001"] * own
    assert set(places[4 + own : 7]) == {f"{B}:domisili/reguler"}
    # 1002's part is theirs even with lower scores than every unplaced child of 1001
    assert places[7] == f"{A}:domisili/sebaran-36.71.01.1002"
    text_ = statuses[4]["choices"][0]["text"]
    assert "sub-kuota sebaran (kelurahan 36.71.01.1001)" in text_ and "sub-kuota reguler" in text_


async def test_jateng_sma_unused_panti_and_ats_seats_go_to_ketm(admin, parent):
    period = await draft(admin, "sma")
    await zones(admin, period, f"{A},,9000,1\n{B},,9000,1\n")
    await load(admin, period, "jateng-2025-sma")
    assert (await admin.post(f"/api/periods/{period['id']}/open")).status_code == 200
    ketm = [
        await register(
            parent,
            period,
            i + 1,
            "36.71.01.1001",
            100 * i,
            path="afirmasi",
            category="ketm",
            documents=["kk", "akta_kelahiran", "afirmasi_proof"],
            **SMA_CHILD,
        )
        for i in range(9)
    ]
    selection, statuses = await run(admin, parent, period, ketm)
    programs = {p["program"]: p for p in selection["programs"] if p["npsn"] == A}
    # afirmasi 32 % of 20 = 6: ketm 5, panti 1 (rounded), ats 0; panti's empty seat goes to ketm
    total = sum(programs[f"{A}:afirmasi/{c}"]["capacity"] for c in ("ketm", "panti", "ats"))
    assert programs[f"{A}:afirmasi/ketm"]["final_capacity"] == total
    assert [s["placed_choice"] for s in statuses].count(1) == total


async def test_kota_tangerang_smp_ranks_domisili_by_rt_rw_tier_then_age_and_keeps_out_of_city_children_to_prestasi(
    admin, parent
):
    period = await draft(admin, "smp")
    # The school stands in RW 2, RT 3 of 36.71.01.1001; RW 3 is "sekitar"; kelurahan 1002 is in its zone.
    await zones(
        admin,
        period,
        f"{A},36.71.01.1001,,1,2,3\n{A},36.71.01.1001,,2,2,\n{A},36.71.01.1001,,3,3,\n{A},36.71.01.1002,,4,,\n"
        f"{B},,9000,1,,\n",
        header="npsn,kelurahan_code,radius_m,priority,rw,rt",
    )
    await one_stage(admin, period, "kota-tangerang-2025-smp")
    assert (await admin.patch(f"/api/periods/{period['id']}/rules", json={"transfers": []})).status_code == 200
    assert (await admin.post(f"/api/periods/{period['id']}/open")).status_code == 200
    born = [date(2014, 6 - i, 1) for i in range(4)]  # later entries older

    async def child(serial, kelurahan, rw, rt, birth):
        return await register(parent, period, serial, kelurahan, 500, rw=rw, rt=rt, birth_date=birth)

    same_rt = [await child(1 + i, "36.71.01.1001", 2, 3, born[0]) for i in range(3)]
    same_rw = [await child(11 + i, "36.71.01.1001", 2, 7, born[0]) for i in range(3)]
    around = [await child(21 + i, "36.71.01.1001", 3, 1, born[i]) for i in range(4)]  # youngest first
    zone = [await child(31, "36.71.01.1002", 5, 5, born[3])]
    refused = await parent.post(
        f"/api/periods/{period['id']}/applications",
        json=registration(serial=41, kelurahan_code="36.03.01.1001", choices=[B]),
    )
    expect_error(refused, 422, "out_of_region")
    selection, statuses = await run(admin, parent, period, same_rt + same_rw + around + zone)
    seats = {p["program"]: p["capacity"] for p in selection["programs"]}
    assert seats[f"{A}:domisili"] == 9
    numbers = same_rt + same_rw + around + zone
    applications = [(await parent.get(f"/api/applications/{n}")).json() for n in numbers]
    assert [a["choices"][0]["zone_priority"] for a in applications] == [1] * 3 + [2] * 3 + [3] * 4 + [4]
    assert (applications[0]["applicant"]["rw"], applications[0]["applicant"]["rt"]) == (2, 3)
    # tiers first (the same RT before the same RW before the RT/RW around), then the older child
    assert [s["placed_choice"] for s in statuses] == [1] * 6 + [2, 1, 1, 1] + [2]
    assert "Tidak diterima di Sekolah A" in statuses[6]["choices"][0]["text"]


async def test_surabaya_smp_domisili_2_is_split_equally_over_the_kelurahan_of_the_second_zone(admin, parent):
    period = await draft(admin, "smp")
    second = ["36.71.02.1001", "36.71.02.1002", "36.71.02.1003", "36.71.02.1004"]  # a kecamatan without an SMPN
    await zones(admin, period, f"{A},36.71.01.1001,,1\n" + "".join(f"{A},{k},,2\n" for k in second) + f"{B},,9000,1\n")
    await load(admin, period, "surabaya-2025-smp")
    assert (await admin.patch(f"/api/periods/{period['id']}/rules", json={"transfers": []})).status_code == 200
    assert (await admin.post(f"/api/periods/{period['id']}/open")).status_code == 200
    # domisili 40 % of 20 = 8: domisili 1 gets 4, domisili 2 gets 4, one per kelurahan of the second zone
    near = [await register(parent, period, i + 1, "36.71.01.1001", 100 * i) for i in range(5)]
    # two children in the first kelurahan of the second zone (the nearer wins its one seat), none in the last
    crowded = [await register(parent, period, 11 + i, second[0], 1000 + 100 * i) for i in range(2)]
    others = [await register(parent, period, 21 + i, k, 5000) for i, k in enumerate(second[1:3])]
    selection, statuses = await run(admin, parent, period, near + crowded + others)
    seats = {p["program"]: p["capacity"] for p in selection["programs"] if p["npsn"] == A}
    assert seats[f"{A}:domisili/domisili1"] == 4
    assert [seats[f"{A}:domisili/domisili2-{k}"] for k in second] == [1, 1, 1, 1]
    places = [placed_in(s) for s in statuses]
    assert places[:5] == [f"{A}:domisili/domisili1"] * 4 + [f"{B}:domisili/domisili1"]
    assert places[5:7] == [f"{A}:domisili/domisili2-{second[0]}", f"{B}:domisili/domisili1"]
    # further away than everyone, but each in their own kelurahan's seat
    assert places[7:] == [f"{A}:domisili/domisili2-{k}" for k in second[1:3]]


async def test_dki_sma_domisili_ranks_score_then_rt_tier_then_age(admin, parent):
    period = await draft(admin, "sma")
    await zones(
        admin,
        period,
        f"{A},36.71.01.1001,,1,1,1\n{A},36.71.01.1001,,2,1,\n{A},36.71.01.1002,,3,,\n{B},,9000,1,,\n",
        header="npsn,kelurahan_code,radius_m,priority,rw,rt",
    )
    loaded = await one_stage(admin, period, "dki-2025-sma")
    domisili = next(p for p in loaded["rules"]["paths"] if p["name"] == "domisili")
    assert domisili["keys"] == ["score", "zone_priority", "age", "choice_rank", "submitted_at"]
    assert (await admin.patch(f"/api/periods/{period['id']}/rules", json={"transfers": []})).status_code == 200
    assert (await admin.post(f"/api/periods/{period['id']}/open")).status_code == 200

    async def child(serial, kelurahan, rw, rt, score, birth=date(2011, 3, 15)):
        return await register(
            parent, period, serial, kelurahan, 500, rw=rw, rt=rt, rapor=(admin, score), birth_date=birth, nisn=None
        )

    # domisili 35 % of 20 = 7 seats
    best = [await child(1, "36.71.01.1002", 9, 9, "95.00")]  # the highest score, in the furthest tier
    rt = [await child(11 + i, "36.71.01.1001", 1, 1, "85.00") for i in range(3)]
    around = [await child(21 + i, "36.71.01.1001", 1, 4, "85.00") for i in range(2)]
    far = [
        await child(31, "36.71.01.1002", 2, 2, "85.00", birth=date(2011, 9, 1)),  # younger
        await child(32, "36.71.01.1002", 2, 2, "85.00", birth=date(2010, 9, 1)),  # older
    ]
    selection, statuses = await run(admin, parent, period, best + rt + around + far)
    assert {p["program"]: p["capacity"] for p in selection["programs"]}[f"{A}:domisili"] == 7
    assert [s["placed_choice"] for s in statuses] == [1] * 6 + [2, 1]


async def test_jabar_sma_disabled_children_are_exempt_from_the_age_limit_and_distance_ties_go_to_the_rapor(
    admin, parent, operator
):
    period = await draft(admin, "sma")
    pid = period["id"]
    await zones(admin, period, f"{A},,9000,1\n{B},,9000,1\n")
    loaded = await load(admin, period, "jabar-2025-sma")
    assert (loaded["rules"]["max_age_years"], loaded["rules"]["age_exemptions"]) == (21, ["disability_proof"])
    assert (await admin.patch(f"/api/periods/{pid}/rules", json={"transfers": []})).status_code == 200
    assert (await admin.post(f"/api/periods/{pid}/open")).status_code == 200
    url = f"/api/periods/{pid}/applications"

    # 22 on 1 July 2027: over the limit, unless disabled (proof declared, checked by the school)
    adult = dict(birth_date=date(2005, 3, 15), nisn=None, path="afirmasi")
    too_old = expect_error(await parent.post(url, json=registration(serial=31, **adult)), 422, "age_above_maximum")
    assert "Bukti disabilitas" in too_old["message"]
    unproven = registration(serial=31, **{**adult, "birth_date": date(2011, 3, 15)})
    missing = expect_error(await parent.post(url, json=unproven), 422, "document_missing")
    assert "salah satu dari Bukti keluarga tidak mampu (KIP/PKH) / Bukti disabilitas" in missing["message"]
    documents = ["kk", "akta_kelahiran", "disability_proof"]
    exempt = [
        await register(parent, period, serial, "36.71.01.1001", 100, documents=documents, **adult)
        for serial in (31, 32)
    ]
    upload = f"/api/applications/{exempt[1]}/documents/disability_proof"
    assert (await parent.put(upload, content=b"%PDF-1.4 not an assessment")).status_code == 200
    school = await operator(A, "op.a@sekolah.test")
    rejected = await school.post(
        f"{upload}/decision", json={"decision": "rejected", "reason": "Bukan surat asesmen disabilitas."}
    )
    assert rejected.status_code == 200, rejected.text

    # domisili 35 % of 20 = 7 seats at A: the nearest child first whatever its rapor, then the eight children
    # at the same distance by their rapor average; the two lowest go to B.
    child = dict(birth_date=date(2011, 3, 15), nisn=None)
    nearest = await register(parent, period, 1, "36.71.01.1001", 111, rapor=(admin, "70"), **child)  # 110.6 m
    same = [
        await register(parent, period, 10 + i, "36.71.01.1001", 100, rapor=(admin, f"{90 - i}"), **child)
        for i in range(8)
    ]
    _, statuses = await run(admin, parent, period, [nearest, *same, *exempt])
    places = [placed_in(s) for s in statuses]
    assert places[:9] == [f"{A}:domisili"] * 7 + [f"{B}:domisili"] * 2
    assert places[9] == f"{A}:afirmasi"
    assert places[10] is None and "ditolak verifikator" in statuses[10]["choices"][0]["text"]
