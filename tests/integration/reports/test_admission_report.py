"""The laporan pelaksanaan over a two-stage admission: its totals are the published placements of each stage,
every breakdown adds up to them, the complaints are counted by outcome, and the Dapodik export lists exactly the
children who took their seat."""

from __future__ import annotations

import csv
import io

from sqlalchemy import func, select

from ppdb.results.models import Publication, PublicationEntry
from tests.conftest import sign_up
from tests.helpers import registration
from tests.integration.regions.test_stages import announce, open_daftar_ulang, register, stage_window, staged_period


def kid(serial: int, sex: str = "P", path: str = "domisili") -> dict:
    documents = ["kk", "akta_kelahiran", *(["afirmasi_proof"] if path == "afirmasi" else [])]
    return registration(
        serial, sex=sex, path=path, choices=["20670001"], documents=documents, latitude=-6.1781 - 0.0005 * serial
    )


async def published_placements(session, period_id: int) -> int:
    latest = (
        select(Publication.id).where(Publication.period_id == period_id).order_by(Publication.version.desc()).limit(1)
    )
    return await session.scalar(
        select(func.count())
        .select_from(PublicationEntry)
        .where(PublicationEntry.publication_id == latest.scalar_subquery(), PublicationEntry.npsn.is_not(None))
    )


async def test_the_report_adds_up_to_the_published_placements(admin, transport, operator, session):
    first = await staged_period(admin)
    pid = first["id"]
    families = [await sign_up(transport, f"laporan{i}@contoh.test") for i in range(5)]
    numbers = [await register(f, pid, kid(i + 1, "L" if i % 2 else "P")) for i, f in enumerate(families[:4])]
    await register(families[4], pid, kid(5, path="afirmasi"))
    await announce(admin, pid)
    complaint = {"category": "result", "registration_number": numbers[3], "text": "Jarak rumah kami salah hitung."}
    case = (await families[3].post(f"/api/periods/{pid}/complaints", json=complaint)).json()["number"]
    await families[2].post(f"/api/periods/{pid}/complaints", json=complaint | {"registration_number": numbers[2]})
    await admin.post(f"/api/complaints/{case}/decision", json={"status": "rejected", "reason": "Jarak sudah benar."})
    await open_daftar_ulang(admin, pid)
    confirmed = numbers[0]
    answer = await families[0].post(f"/api/applications/{confirmed}/reregistration", json={"decision": "confirmed"})
    assert answer.status_code == 200, answer.text
    assert (await admin.post(f"/api/periods/{pid}/reregistration/close")).status_code == 200
    second = (await admin.post(f"/api/periods/{pid}/next-stage", json=stage_window())).json()
    sid = second["id"]
    assert (await admin.post(f"/api/periods/{sid}/open")).status_code == 200
    for serial in (6, 7):
        await register(await sign_up(transport, f"laporan{serial}@contoh.test"), sid, kid(serial, path="prestasi"))
    await announce(admin, sid)

    report = (await admin.get(f"/api/periods/{sid}/report")).json()
    assert [(s["stage"], s["period_id"]) for s in report["stages"]] == [(1, pid), (2, sid)]
    for stage in report["stages"]:
        assert stage["placed"] == await published_placements(session, stage["period_id"]) > 0
        rows = [r for r in report["rows"] if r["stage"] == stage["stage"]]
        totals = {r["path"]: (r["applicants"], r["placed"]) for r in rows if r["dimension"] == "total"}
        assert sum(p for _, p in totals.values()) == stage["placed"]
        assert sum(n for n, _ in totals.values()) == stage["applicants"]
        for dimension in ("sex", "disability", "origin_school", "kelurahan"):
            for path, (applicants, placed) in totals.items():
                parts = [r for r in rows if r["dimension"] == dimension and r["path"] == path]
                assert sum(r["applicants"] for r in parts) == applicants, (dimension, path)
                assert sum(r["placed"] for r in parts) == placed, (dimension, path)
    assert {(r["path"], r["value"]) for r in report["rows"] if r["dimension"] == "sex" and r["stage"] == 1} >= {
        ("domisili", "laki-laki"),
        ("domisili", "perempuan"),
    }
    assert {r["path"] for r in report["rows"] if r["dimension"] == "afirmasi_group"} == {"afirmasi"}
    outcomes = {(c["stage"], c["status"]): c for c in report["complaints"]}
    assert outcomes[1, "rejected"]["count"] == 1 and outcomes[1, "rejected"]["median_hours_to_decision"] is not None
    assert outcomes[1, "received"]["count"] == 1 and outcomes[1, "received"]["median_hours_to_decision"] is None

    table = list(csv.DictReader(io.StringIO((await admin.get(f"/api/periods/{pid}/report.csv")).text)))
    assert len(table) == len(report["rows"]) and table[0].keys() == {
        "tahap",
        "jalur",
        "dimensi",
        "nilai",
        "pendaftar",
        "diterima",
    }
    complaints = (await admin.get(f"/api/periods/{pid}/report/complaints.csv")).text
    assert complaints.splitlines()[0] == "tahap,kategori,status,jumlah,median_jam_sampai_putusan"
    document = await admin.get(f"/api/periods/{pid}/report.pdf")
    assert document.content.startswith(b"%PDF") and document.headers["cache-control"] == "private, no-store"

    # Dapodik: stage 1's accepted students are the one who confirmed (the others' seats were released).
    dapodik = list(csv.DictReader(io.StringIO((await admin.get(f"/api/periods/{pid}/exports/dapodik.csv")).text)))
    assert [(r["nomor_pendaftaran"], r["daftar_ulang"]) for r in dapodik] == [(confirmed, "confirmed")]
    assert dapodik[0]["nik"] == kid(1)["nik"] and dapodik[0]["npsn_tujuan"] == "20670001"
    school = await operator("20670001", "op.laporan@sekolah.test")
    mine = (await school.get(f"/api/periods/{pid}/exports/schools/20670001/dapodik.csv")).text
    assert confirmed in mine
    assert (await school.get(f"/api/periods/{pid}/exports/schools/20670002/dapodik.csv")).status_code == 404
    exports = (await admin.get(f"/api/periods/{pid}/audit", params={"action": "results.export_dapodik"})).json()
    assert [e["new"]["rows"] for e in exports] == [1, 1]
    # A child disqualified after the announcement is no student of the school.
    out = await admin.post(f"/api/applications/{confirmed}/disqualify", json={"reason": "KK tidak sah."})
    assert out.status_code == 204, out.text
    assert (await admin.get(f"/api/periods/{pid}/exports/dapodik.csv")).text.count("\n") == 1  # the header
