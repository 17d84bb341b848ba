"""Complaints: who may file what and when, following a case (signed in or with the anonymous code), evidence,
who sees a case, the Dinas' steps, the limits, and the messages the complainant is sent."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
from sqlalchemy import text

from ppdb.complaints import service
from tests.conftest import sign_up
from tests.helpers import expect_error, open_period, registration

FRAUD = {"category": "fraud", "npsn": "20670001", "text": "Ada pendaftar yang memakai KK pinjaman kerabat."}


async def registered(admin, parent) -> tuple[int, str]:
    period = await open_period(admin)
    created = await parent.post(f"/api/periods/{period['id']}/applications", json=registration(choices=["20670001"]))
    assert created.status_code == 201, created.text
    return period["id"], created.json()["registration_number"]


def about(number: str, category: str = "verification") -> dict:
    return {"category": category, "registration_number": number, "text": "Dokumen KK saya ditolak padahal sah."}


async def test_a_family_files_and_follows_a_complaint_about_its_registration(admin, parent, operator, session):
    pid, number = await registered(admin, parent)
    filed = await parent.post(f"/api/periods/{pid}/complaints", json=about(number))
    assert filed.status_code == 201, filed.text
    case = filed.json()
    assert (case["status"], case["registration_number"], case["anonymous"]) == ("received", number, False)
    assert datetime.fromisoformat(case["due_at"]) - datetime.fromisoformat(case["filed_at"]) == timedelta(days=3)
    assert [c["number"] for c in (await parent.get("/api/complaints")).json()] == [case["number"]]

    # The school the child chose sees the case; another school does not; only the Dinas moves it.
    chosen, other = await operator("20670001", "op1@sekolah.test"), await operator("20670003", "op3@sekolah.test")
    assert (await chosen.get(f"/api/complaints/{case['number']}")).status_code == 200
    expect_error(await other.get(f"/api/complaints/{case['number']}"), 404, "complaint_not_found")
    assert [c["number"] for c in (await chosen.get(f"/api/periods/{pid}/complaints")).json()] == [case["number"]]
    assert (await other.get(f"/api/periods/{pid}/complaints")).json() == []
    staff = (await admin.get(f"/api/periods/{pid}/complaints")).json()
    assert [(c["number"], c["status"], c["overdue"]) for c in staff] == [(case["number"], "received", False)]

    expect_error(
        await admin.post(f"/api/complaints/{case['number']}/decision", json={"status": "rejected"}),
        422,
        "reason_required",
    )
    rejected = await admin.post(
        f"/api/complaints/{case['number']}/decision",
        json={"status": "rejected", "reason": "KK terbit 2 bulan sebelum pendaftaran (NIK 3671010101000001)."},
    )
    assert rejected.json()["status"] == "rejected" and rejected.json()["decided_at"]
    expect_error(
        await admin.post(f"/api/complaints/{case['number']}/decision", json={"status": "upheld", "reason": "Ulang"}),
        409,
        "complaint_already_rejected",
    )
    expect_error(
        await parent.post(f"/api/complaints/{case['number']}/files", content=b"%PDF-1.4 x"), 409, "complaint_closed"
    )
    seen = (await parent.get(f"/api/complaints/{case['number']}")).json()["events"]
    assert [(e["status"], e["actor"]) for e in seen] == [("received", "pengadu"), ("rejected", "dinas")]
    told = (
        await session.execute(
            text("SELECT kind, params FROM notifications WHERE key LIKE :k ORDER BY id"),
            {"k": f"complaint:{case['number']}:%"},
        )
    ).all()
    assert [kind for kind, _ in told] == ["complaint_received", "complaint_decided"]
    decided = told[1][1]
    assert decided["status"] == "ditolak" and "3671010101000001" not in decided["reason"]


async def test_a_family_complains_only_about_its_own_registration(admin, parent, transport):
    pid, number = await registered(admin, parent)
    stranger = await sign_up(transport, "orang.lain@contoh.test")
    expect_error(
        await stranger.post(f"/api/periods/{pid}/complaints", json=about(number)), 404, "application_not_found"
    )
    expect_error(
        await parent.post(f"/api/periods/{pid}/complaints", json={**about(number), "registration_number": None}),
        422,
        "registration_required",
    )
    expect_error(
        await parent.post(f"/api/periods/{pid}/complaints", json={**FRAUD, "registration_number": number}),
        422,
        "registration_not_allowed",
    )
    expect_error(await admin.post(f"/api/periods/{pid}/complaints", json=FRAUD), 403, "forbidden")
    anonymous = httpx.AsyncClient(transport=transport, base_url="http://testserver")
    expect_error(await anonymous.post(f"/api/periods/{pid}/complaints", json=about(number)), 401, "login_required")


async def test_a_result_is_objected_to_within_the_masa_sanggah(admin, parent, session):
    pid, number = await registered(admin, parent)
    expect_error(
        await parent.post(f"/api/periods/{pid}/complaints", json=about(number, "result")), 409, "not_published"
    )
    assert (await admin.post(f"/api/periods/{pid}/close")).status_code == 200
    assert (await admin.post(f"/api/periods/{pid}/selection-runs")).status_code == 201
    assert (await admin.post(f"/api/periods/{pid}/publications", json={})).status_code == 201
    assert (await parent.post(f"/api/periods/{pid}/complaints", json=about(number, "result"))).status_code == 201
    await session.execute(text("SET LOCAL session_replication_role = replica"))  # publications are append-only
    await session.execute(text("UPDATE publications SET published_at = now() - interval '8 days'"))
    await session.commit()
    expect_error(
        await parent.post(f"/api/periods/{pid}/complaints", json=about(number, "result")), 409, "objection_closed"
    )
    # Other complaints go on while the period runs.
    assert (await parent.post(f"/api/periods/{pid}/complaints", json=about(number))).status_code == 201


async def test_an_anonymous_fraud_report_is_followed_with_its_code(admin, parent, transport, operator):
    pid, number = await registered(admin, parent)
    anonymous = httpx.AsyncClient(transport=transport, base_url="http://testserver")
    expect_error(
        await anonymous.post(f"/api/periods/{pid}/complaints", json={**FRAUD, "npsn": None}), 422, "school_required"
    )
    expect_error(
        await anonymous.post(f"/api/periods/{pid}/complaints", json={**FRAUD, "npsn": "20679999"}),
        404,
        "school_not_found",
    )
    filed = await anonymous.post(f"/api/periods/{pid}/complaints", json=FRAUD)
    assert filed.status_code == 201, filed.text
    case, code = filed.json()["number"], filed.json()["code"]
    assert filed.json()["anonymous"] and len(code) == 11
    proof = await anonymous.post(
        f"/api/complaints/{case}/files", content=b"\x89PNG\r\n\x1a\nfoto", headers={"X-Complaint-Code": code}
    )
    assert proof.status_code == 201, proof.text
    expect_error(
        await anonymous.post(f"/api/complaints/{case}/files", content=b"%PDF-1.4", headers={"X-Complaint-Code": "X"}),
        404,
        "complaint_not_found",
    )
    followed = await anonymous.post(f"/api/complaints/{case}/follow", json={"code": code.lower().replace("-", "")})
    assert followed.status_code == 200 and followed.json()["code"] is None
    assert followed.json()["files"][0]["content_type"] == "image/png"
    expect_error(
        await anonymous.post(f"/api/complaints/{case}/follow", json={"code": "AAAAA-AAAAA"}), 404, "complaint_not_found"
    )
    # The Dinas finds the registration concerned; corrections for the case then apply to it.
    found = await admin.post(
        f"/api/complaints/{case}/decision",
        json={"status": "upheld", "reason": "KK pinjaman terbukti.", "registration_number": number},
    )
    assert found.json()["registration_number"] == number
    disqualified = await admin.post(
        f"/api/applications/{number}/disqualify", json={"reason": "KK pinjaman.", "complaint": case}
    )
    assert disqualified.status_code == 204, disqualified.text
    # The reporter learns the outcome, nothing of the child concerned (masked, no corrections); the Dinas sees all.
    followed = (await anonymous.post(f"/api/complaints/{case}/follow", json={"code": code})).json()
    assert (followed["status"], followed["registration_number"], followed["corrections"]) == (
        "upheld",
        "****" + number[-4:],
        [],
    )
    corrections = (await admin.get(f"/api/complaints/{case}")).json()["corrections"]
    assert [(c["action"], c["run_id"]) for c in corrections] == [("application.disqualify", None)]
    # Fraud reports are the Dinas' alone: not even the school named sees the report or who made it.
    school = await operator("20670001", "op.adu@sekolah.test")
    expect_error(await school.get(f"/api/complaints/{case}"), 404, "complaint_not_found")
    assert case not in {c["number"] for c in (await school.get(f"/api/periods/{pid}/complaints")).json()}
    # The Dinas reads the evidence; the read is audited.
    evidence = await admin.get(f"/api/complaints/{case}/files/{proof.json()['id']}")
    assert evidence.content.startswith(b"\x89PNG") and evidence.headers["cache-control"] == "private, no-store"
    reads = (await admin.get(f"/api/periods/{pid}/audit", params={"action": "complaint.evidence_read"})).json()
    assert [r["entity_id"] for r in reads] == [case]


async def test_corrections_belong_to_an_upheld_case_of_the_same_registration(admin, parent, transport):
    pid, number = await registered(admin, parent)
    other = await sign_up(transport, "keluarga.lain@contoh.test")
    theirs = (
        await other.post(f"/api/periods/{pid}/applications", json=registration(serial=2, choices=["20670001"]))
    ).json()["registration_number"]
    case = (await parent.post(f"/api/periods/{pid}/complaints", json=about(number))).json()["number"]
    await admin.post(f"/api/complaints/{case}/decision", json={"status": "upheld", "reason": "Benar."})
    expect_error(
        await admin.post(f"/api/applications/{theirs}/disqualify", json={"reason": "Uji.", "complaint": case}),
        409,
        "complaint_other_application",
    )
    expect_error(
        await admin.post(
            f"/api/applications/{number}/disqualify", json={"reason": "Uji.", "complaint": "ADU-00000000"}
        ),
        404,
        "complaint_not_found",
    )
    # Nothing was written by the refused corrections.
    assert (await admin.get(f"/api/applications/{theirs}")).json()["status"] == "submitted"


async def test_evidence_is_checked_like_a_document(admin, parent):
    pid, number = await registered(admin, parent)
    case = (await parent.post(f"/api/periods/{pid}/complaints", json=about(number))).json()["number"]
    expect_error(
        await parent.post(f"/api/complaints/{case}/files", content=b"MZ\x90\x00"), 415, "document_type_unsupported"
    )
    expect_error(await parent.post(f"/api/complaints/{case}/files", content=b""), 422, "document_empty")
    for _ in range(service.MAX_FILES):
        assert (await parent.post(f"/api/complaints/{case}/files", content=b"%PDF-1.4 x")).status_code == 201
    expect_error(await parent.post(f"/api/complaints/{case}/files", content=b"%PDF-1.4 x"), 409, "too_many_files")


async def test_complaints_are_limited_per_account_and_per_address(admin, parent, transport, monkeypatch):
    pid, number = await registered(admin, parent)
    monkeypatch.setattr(service, "PER_ACCOUNT_PER_DAY", 2)
    monkeypatch.setattr(service, "ANONYMOUS_PER_HOUR", 2)
    for _ in range(2):
        assert (await parent.post(f"/api/periods/{pid}/complaints", json=about(number))).status_code == 201
    expect_error(await parent.post(f"/api/periods/{pid}/complaints", json=about(number)), 429, "too_many_complaints")
    anonymous = httpx.AsyncClient(transport=transport, base_url="http://testserver")
    for _ in range(2):
        assert (await anonymous.post(f"/api/periods/{pid}/complaints", json=FRAUD)).status_code == 201
    expect_error(await anonymous.post(f"/api/periods/{pid}/complaints", json=FRAUD), 429, "too_many_complaints")
    # A family's own limit is its own: the anonymous flood from its address does not stop it.
    other = await sign_up(transport, "keluarga.dua@contoh.test")
    assert (await other.post(f"/api/periods/{pid}/complaints", json=FRAUD)).status_code == 201


async def test_no_complaints_before_registration_opens(admin, parent):
    period = await open_period(admin, open_=False)
    expect_error(await parent.post(f"/api/periods/{period['id']}/complaints", json=FRAUD), 409, "complaints_not_open")


async def test_after_the_selection_a_document_decision_changes_only_for_an_upheld_case(admin, parent, operator):
    """A decision that changes a result after the official selection is a correction: made for an upheld case
    (by the Dinas), never quietly by a school (the review of the sanggah change)."""
    pid, number = await registered(admin, parent)
    assert (await parent.put(f"/api/applications/{number}/documents/kk", content=b"%PDF-1.4 kk")).status_code == 200
    school = await operator("20670001", "op.dok@sekolah.test")
    url = f"/api/applications/{number}/documents/kk/decision"
    assert (await school.post(url, json={"decision": "verified"})).status_code == 200
    assert (await admin.post(f"/api/periods/{pid}/close")).status_code == 200
    assert (await admin.post(f"/api/periods/{pid}/selection-runs")).status_code == 201
    rejected = {"decision": "rejected", "reason": "KK milik keluarga lain."}
    expect_error(await school.post(url, json=rejected), 409, "documents_decided")
    expect_error(await admin.post(url, json=rejected), 409, "documents_decided")
    case = (await parent.post(f"/api/periods/{pid}/complaints", json=about(number))).json()["number"]
    await admin.post(f"/api/complaints/{case}/decision", json={"status": "upheld", "reason": "Diperiksa ulang."})
    expect_error(await school.post(url, json={**rejected, "complaint": case}), 403, "forbidden")
    assert (await admin.post(url, json={**rejected, "complaint": case})).status_code == 200
