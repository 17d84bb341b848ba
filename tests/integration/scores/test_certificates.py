"""Competition certificates: the parent uploads one, the destination school reads its level, rank and date, and
the region's points table gives the points the path ranks by."""

from __future__ import annotations

import re

from sqlalchemy import select

from ppdb.audit.models import AuditEntry
from ppdb.identity import nik_for
from tests.helpers import expect_error, registration
from tests.integration.scores.test_scores import BIRTH, sma_period

SCHOOL = "20680001"
# Like Jatim's table: juara 1, 2, 3 per level; a team's certificate has its own, smaller points at provinsi.
POINTS = {
    "individual": {"kabupaten": [16, 12, 8], "provinsi": [32, 24, 16], "nasional": [64, 48, 32]},
    "team": {"provinsi": [16]},
    "newest_months": 6,
}
LOMBA = {
    "paths": [
        {
            "name": "prestasi",
            "keys": ["score", "age", "submitted_at"],
            "required_documents": ["prestasi_certificate"],
            "score": {"components": [{"name": "poin_lomba", "source": "certificate", "weight": 100, "points": POINTS}]},
        }
    ],
    "transfers": [],
}


def lomba_child(serial: int) -> dict:
    return registration(
        serial,
        birth_date=BIRTH,
        nik=nik_for("367101", BIRTH, "P", serial),
        path="prestasi",
        documents=["kk", "akta_kelahiran", "prestasi_certificate"],
        choices=[SCHOOL],
    )


async def lomba_period(admin) -> dict:
    period = await sma_period(admin)
    changed = await admin.patch(f"/api/periods/{period['id']}/rules", json=LOMBA)
    assert changed.status_code == 200, changed.text
    assert (await admin.post(f"/api/periods/{period['id']}/open")).status_code == 200
    return period


async def register(parent, period: dict, serial: int, certificate: bytes | None) -> str:
    created = await parent.post(f"/api/periods/{period['id']}/applications", json=lomba_child(serial))
    assert created.status_code == 201, created.text
    number = created.json()["registration_number"]
    if certificate is not None:
        uploaded = await parent.put(f"/api/applications/{number}/documents/prestasi_certificate", content=certificate)
        assert uploaded.status_code == 200, uploaded.text
    return number


def check(level: str = "provinsi", rank: int = 1, issued_on: str = "2026-05-10", **more) -> dict:
    return {"level": level, "rank": rank, "issued_on": issued_on, **more}


async def test_a_certificate_rule_needs_a_points_table_and_only_it_has_one(admin):
    period = await sma_period(admin)
    url = f"/api/periods/{period['id']}/rules"
    bare = {
        "paths": [
            {"name": "prestasi", "score": {"components": [{"name": "p", "source": "certificate", "weight": 100}]}}
        ]
    }
    expect_error(await admin.patch(url, json=bare), 422, "score_rule_invalid")
    rapor = {"name": "r", "source": "rapor", "weight": 100, "points": POINTS}
    expect_error(
        await admin.patch(url, json={"paths": [{"name": "prestasi", "score": {"components": [rapor]}}]}),
        422,
        "score_rule_invalid",
    )
    window = {"name": "p", "source": "certificate", "weight": 100, "points": POINTS | {"oldest_months": 6}}
    wrong = {"paths": [{"name": "prestasi", "score": {"components": [window]}}]}
    assert expect_error(await admin.patch(url, json=wrong), 422, "score_rule_invalid")["field"].endswith(".points")
    level = {"name": "p", "source": "certificate", "weight": 100, "points": {"individual": {"kota": [10]}}}
    assert (
        await admin.patch(url, json={"paths": [{"name": "prestasi", "score": {"components": [level]}}]})
    ).status_code == 400


async def test_the_destination_school_awards_points_from_the_table_and_they_rank_the_path(
    admin, parent, operator, session
):
    period = await lomba_period(admin)
    school = await operator(SCHOOL, "op.sma@sekolah.test")
    elsewhere = await operator("20670001", "op.smp@sekolah.test")
    waiting = await register(parent, period, 1, None)
    score = (await parent.get(f"/api/applications/{waiting}/score")).json()
    assert score["total"] is None
    assert score["message"] == "Nilai belum lengkap: sertifikat prestasi yang diperiksa sekolah tujuan."
    expect_error(
        await school.put(f"/api/applications/{waiting}/certificate", json=check()), 409, "document_not_uploaded"
    )

    first = await register(parent, period, 2, b"%PDF-1.4 juara 1 provinsi")
    second = await register(parent, period, 3, b"%PDF-1.4 juara 2 kabupaten")
    team = await register(parent, period, 4, b"%PDF-1.4 juara 1 beregu provinsi")
    url = f"/api/applications/{first}/certificate"
    # Verified only with what the certificate says: a plain "verified" would leave the score unknown.
    decision = await school.post(
        f"/api/applications/{first}/documents/prestasi_certificate/decision", json={"decision": "verified"}
    )
    expect_error(decision, 409, "certificate_points_required")
    # The juknis' window, counted back from 1 July 2027: at least 6 months, less than 36.
    too_new = expect_error(await school.put(url, json=check(issued_on="2027-03-01")), 422, "certificate_out_of_window")
    assert too_new["field"] == "issued_on" and "01-07-2027" in too_new["message"]
    expect_error(await school.put(url, json=check(issued_on="2024-06-30")), 422, "certificate_out_of_window")
    unlisted = expect_error(await school.put(url, json=check(rank=4)), 422, "certificate_not_in_table")
    assert "juara 4 perorangan tingkat provinsi" in unlisted["message"]
    assert (await elsewhere.put(url, json=check())).status_code in (403, 404)  # not a school this child chose
    assert (await parent.put(url, json=check())).status_code == 403

    awarded = await school.put(url, json=check(number="  421/ dik / 2026 "))
    assert awarded.status_code == 200, awarded.text
    assert awarded.json() | {"issued_on": None} == {
        "level": "provinsi",
        "rank": 1,
        "team": False,
        "issued_on": None,
        "number": "421/DIK/2026",
        "points": 32.0,
        "words": "juara 1 perorangan tingkat provinsi",
    }
    assert (await school.put(f"/api/applications/{second}/certificate", json=check("kabupaten", 2))).json()[
        "points"
    ] == 12
    assert (await school.put(f"/api/applications/{team}/certificate", json=check(team=True))).json()["points"] == 16

    score = (await parent.get(f"/api/applications/{first}/score")).json()
    assert score["total"] == 32.0
    assert score["parts"][0]["detail"] == "juara 1 perorangan tingkat provinsi"
    assert "sertifikat yang diperiksa sekolah tujuan" in score["message"]
    entry = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "certificate.award", AuditEntry.entity_id == first)
    )
    assert entry is not None and entry.new["points"] == "32.00" and entry.old is None
    page = await parent.get(f"/pendaftaran/{first}")
    assert "juara 1 perorangan tingkat provinsi" in page.text

    # A new file voids the points given for the old one until the school checks it again.
    again = await parent.put(f"/api/applications/{second}/documents/prestasi_certificate", content=b"%PDF-1.4 other")
    assert again.status_code == 200
    assert (await parent.get(f"/api/applications/{second}/score")).json()["total"] is None
    assert (await school.put(f"/api/applications/{second}/certificate", json=check("kabupaten", 2))).status_code == 200
    # A rejected certificate earns nothing.
    rejected = await register(parent, period, 5, b"%PDF-1.4 forged")
    assert (await school.put(f"/api/applications/{rejected}/certificate", json=check("nasional"))).status_code == 200
    decision = await school.post(
        f"/api/applications/{rejected}/documents/prestasi_certificate/decision",
        json={"decision": "rejected", "reason": "Sertifikat tidak dilegalisasi panitia."},
    )
    assert decision.status_code == 200, decision.text
    assert (await parent.get(f"/api/applications/{rejected}/score")).json()["total"] is None

    # Prestasi has 3 of the 10 seats (35 %): 32, 16 (team) and 12 points; the rejected and the unchecked wait.
    pid = period["id"]
    assert (await admin.post(f"/api/periods/{pid}/close")).status_code == 200
    assert (await admin.post(f"/api/periods/{pid}/selection-runs")).status_code == 201
    expect_error(await school.put(url, json=check()), 409, "scores_locked")
    assert (await admin.post(f"/api/periods/{pid}/publications", json={})).status_code == 201
    statuses = [
        (await parent.get(f"/api/applications/{n}/status")).json() for n in (first, team, second, rejected, waiting)
    ]
    assert [s["placed_choice"] for s in statuses] == [1, 1, 1, None, None]
    assert "ditolak verifikator" in statuses[3]["choices"][0]["text"]
    assert "batas nilai 12,00" in statuses[4]["choices"][0]["text"], statuses[4]["choices"]


async def test_a_certificate_another_child_registered_is_flagged(admin, parent, operator):
    period = await lomba_period(admin)
    school = await operator(SCHOOL, "op.sma@sekolah.test")
    copied = [await register(parent, period, i, b"%PDF-1.4 the same scan") for i in (1, 2)]
    renumbered = await register(parent, period, 3, b"%PDF-1.4 a rescan")
    honest = await register(parent, period, 4, b"%PDF-1.4 own certificate")
    for number in (copied[0], renumbered):
        assert (
            await school.put(f"/api/applications/{number}/certificate", json=check(number="12/A"))
        ).status_code == 200
    assert (await school.put(f"/api/applications/{honest}/certificate", json=check(number="13/A"))).status_code == 200
    listed = await school.get(f"/api/schools/{SCHOOL}/applicants", params={"period_id": period["id"]})
    flagged = {row["registration_number"] for row in listed.json() if "certificate_reused" in row["flags"]}
    assert flagged == {*copied, renumbered}
    only = await school.get(
        f"/api/schools/{SCHOOL}/applicants", params={"period_id": period["id"], "flag": "certificate_reused"}
    )
    assert {row["registration_number"] for row in only.json()} == flagged


async def test_the_school_page_awards_points_with_errors_next_to_the_field(admin, parent, operator):
    period = await lomba_period(admin)
    school = await operator(SCHOOL, "op.sma@sekolah.test")
    number = await register(parent, period, 1, b"%PDF-1.4 juara 2 nasional")
    page = await school.get(f"/sekolah/pendaftar/{number}")
    assert "Verifikasi dan beri poin" in page.text and "tingkat kabupaten/kota" in page.text
    assert 'value="verified"' not in page.text.split("Sertifikat prestasi")[-1]  # points, not a bare "verified"
    token = re.search(r'name="_csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    form = {"_csrf": token, "level": "nasional", "rank": "2", "issued_on": "2027-05-01", "number": ""}
    late = await school.post(f"/sekolah/pendaftar/{number}/sertifikat", data=form)
    assert late.status_code == 422 and 'id="e-c-issued_on"' in late.text and "paling lama 36 bulan" in late.text
    missing = await school.post(f"/sekolah/pendaftar/{number}/sertifikat", data=form | {"rank": ""})
    assert missing.status_code == 400 and 'id="e-c-rank"' in missing.text
    done = await school.post(f"/sekolah/pendaftar/{number}/sertifikat", data=form | {"issued_on": "2026-05-01"})
    assert done.status_code in (302, 303), done.text
    shown = await school.get(f"/sekolah/pendaftar/{number}")
    assert "juara 2 perorangan tingkat nasional" in shown.text and "48,00" in shown.text
