"""Sanggah end to end: a published result, a complaint about a wrong coordinate, upheld, corrected, a correction
run and a second version that lists exactly who moved; every version still verifies, and the audit log links
the case to its correction, the run and the publication."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import sign_up
from tests.helpers import expect_error, open_period, registration
from tests.integration.scores.test_certificates import SCHOOL, check, lomba_period, register

SCHOOLS = """npsn,name,level,latitude,longitude,capacity,kelurahan_code
20670001,SMP Negeri 1 Uji,smp,-6.1790,106.6310,2,36.71.01.1001
20670002,SMP Negeri 2 Uji,smp,-6.1900,106.6400,1,36.71.01.1002
20670003,SMP Negeri 3 Uji,smp,-6.2000,106.6500,0,36.71.02.1001
"""
TRUE_HOME = (-6.1791, 106.6310)
"""Where the fourth family really lives: nearer SMP Negeri 1 than anyone."""


async def published_cycle(admin, transport, rules: dict | None = None) -> tuple[int, list, list[str]]:
    """Four families due north of SMP 1, each further away (from SMP 2 too), all choosing SMP 1 then SMP 2; the
    fourth registered a point 400 m north of its home. Announced: SMP 1 takes the first two, SMP 2 the third."""
    period = await open_period(admin, schools_csv=SCHOOLS)
    pid = period["id"]
    if rules is not None:
        assert (await admin.patch(f"/api/periods/{pid}/rules", json=rules)).status_code == 200
    families, numbers = [], []
    for i in range(4):
        family = await sign_up(transport, f"sanggah{i}@contoh.test")
        body = registration(
            serial=i + 1, latitude=-6.1785 + 0.001 * i, longitude=106.6310, choices=["20670001", "20670002"]
        )
        created = await family.post(f"/api/periods/{pid}/applications", json=body)
        assert created.status_code == 201, created.text
        families.append(family)
        numbers.append(created.json()["registration_number"])
    assert (await admin.post(f"/api/periods/{pid}/close")).status_code == 200
    assert (await admin.post(f"/api/periods/{pid}/selection-runs")).status_code == 201
    assert (await admin.post(f"/api/periods/{pid}/publications", json={})).status_code == 201
    return pid, families, numbers


async def seats(client, pid: int, numbers: list[str]) -> list[str | None]:
    found = []
    for i, number in enumerate(numbers):
        birth = registration(serial=i + 1)["birth_date"]
        answer = await client.get(
            f"/api/periods/{pid}/results/lookup", params={"registration_number": number, "birth_date": birth}
        )
        found.append(answer.json()["npsn"])
    return found


async def uphold_coordinate_complaint(admin, family, pid: int, number: str) -> str:
    """The family objects to its result (its point is wrong), with evidence; the Dinas reviews, upholds and
    moves the point for the case."""
    filed = await family.post(
        f"/api/periods/{pid}/complaints",
        json={
            "category": "result",
            "registration_number": number,
            "text": "Titik rumah kami salah, rumah kami di sebelah SMP Negeri 1. Terlampir surat keterangan RT.",
        },
    )
    assert filed.status_code == 201, filed.text
    case = filed.json()["number"]
    assert filed.json()["status"] == "received" and filed.json()["code"] is None
    proof = await family.post(f"/api/complaints/{case}/files", content=b"%PDF-1.4 surat keterangan RT")
    assert proof.status_code == 201, proof.text
    expect_error(
        await admin.put(
            f"/api/applications/{number}/coordinate",
            json={"latitude": TRUE_HOME[0], "longitude": TRUE_HOME[1], "reason": "Sesuai sanggah.", "complaint": case},
        ),
        409,
        "complaint_not_upheld",
    )
    review = await admin.post(f"/api/complaints/{case}/decision", json={"status": "in_review"})
    assert review.json()["status"] == "in_review", review.text
    upheld = await admin.post(
        f"/api/complaints/{case}/decision",
        json={"status": "upheld", "reason": "Surat keterangan RT dan peta menunjukkan rumah di dekat sekolah."},
    )
    assert upheld.json()["status"] == "upheld", upheld.text
    corrected = await admin.put(
        f"/api/applications/{number}/coordinate",
        json={"latitude": TRUE_HOME[0], "longitude": TRUE_HOME[1], "reason": "Sesuai sanggah.", "complaint": case},
    )
    assert corrected.status_code == 204, corrected.text
    return case


async def test_an_upheld_complaint_corrects_the_announced_result(admin, client, transport):
    pid, families, numbers = await published_cycle(admin, transport)
    assert await seats(client, pid, numbers) == ["20670001", "20670001", "20670002", None]
    case = await uphold_coordinate_complaint(admin, families[3], pid, numbers[3])

    expect_error(await admin.post(f"/api/periods/{pid}/selection-runs"), 409, "period_not_ready")
    run = await admin.post(f"/api/periods/{pid}/selection-runs/correction")
    assert run.status_code == 201, run.text
    run_id = run.json()["id"]
    expect_error(await admin.post(f"/api/periods/{pid}/publications", json={}), 422, "reason_required")
    v2 = await admin.post(
        f"/api/periods/{pid}/publications", json={"reason": f"Koreksi atas sanggah {case}: titik rumah dibetulkan."}
    )
    assert v2.status_code == 201, v2.text
    assert (v2.json()["version"], v2.json()["round"]) == (2, 0)

    after = await seats(client, pid, numbers)
    assert after == ["20670001", "20670002", None, "20670001"]
    snapshot = (await client.get(f"/api/periods/{pid}/results/snapshot")).json()
    moved = {m["registration_number"]: (m["before"], m["after"]) for m in snapshot["changes"]}

    assert set(moved) == {"****" + numbers[i][-4:] for i in (1, 2, 3)}
    assert {k: (b and b["npsn"], a and a["npsn"]) for k, (b, a) in moved.items()} == {
        "****" + numbers[1][-4:]: ("20670001", "20670002"),
        "****" + numbers[2][-4:]: ("20670002", None),
        "****" + numbers[3][-4:]: (None, "20670001"),
    }
    assert all(m["name"].endswith("****") and numbers[0] not in m["registration_number"] for m in snapshot["changes"])

    public = (await client.get(f"/periode/{pid}/hasil")).text  # the results page shows the same, in words
    assert "Perubahan dari versi 1" in public and 'id="masa-sanggah"' in public
    assert all("****" + numbers[i][-4:] in public for i in (1, 2, 3)) and numbers[3] not in public

    versions = (await client.get(f"/api/periods/{pid}/publications")).json()
    assert [v["version"] for v in versions] == [2, 1]
    for version in versions:
        raw = await client.get(f"/api/periods/{pid}/results/snapshot", params={"version": version["version"]})
        assert hashlib.sha256(raw.content).hexdigest() == version["digest"] == raw.headers["x-digest"]
    assert versions[0]["reason"].startswith(f"Koreksi atas sanggah {case}")

    # The trail: case -> correction -> run -> publication.
    decided = (await admin.get(f"/api/periods/{pid}/audit", params={"action": "complaint.decide"})).json()
    assert [(e["entity_id"], e["new"]["status"]) for e in decided] == [(case, "upheld")]
    correction = (await admin.get(f"/api/periods/{pid}/audit", params={"action": "coordinate.correct"})).json()
    assert [(e["entity_id"], e["new"]["complaint"]) for e in correction] == [(numbers[3], case)]
    rerun = (await admin.get(f"/api/periods/{pid}/audit", params={"action": "selection.correction"})).json()
    assert [(int(e["entity_id"]), e["new"]["complaints"]) for e in rerun] == [(run_id, [case])]
    published = (await admin.get(f"/api/periods/{pid}/audit", params={"action": "results.publish"})).json()
    assert published[0]["new"]["run_id"] == run_id and published[0]["new"]["version"] == 2
    assert decided[0]["id"] < correction[0]["id"] < rerun[0]["id"] < published[0]["id"]

    followed = (await families[3].get(f"/api/complaints/{case}")).json()
    assert [e["status"] for e in followed["events"]] == ["received", "in_review", "upheld"]
    assert followed["corrections"] == [
        {
            "registration_number": numbers[3],
            "action": "coordinate.correct",
            "at": followed["corrections"][0]["at"],
            "run_id": run_id,
        }
    ]
    # Nothing left to take in: the vacancy round may run once daftar ulang is over.
    closes = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    assert (await admin.post(f"/api/periods/{pid}/reregistration/open", json={"closes_at": closes})).status_code == 204
    assert (await admin.post(f"/api/periods/{pid}/reregistration/close")).status_code == 200
    assert (await admin.post(f"/api/periods/{pid}/vacancy-rounds")).status_code == 201


@pytest.mark.parametrize("keep", [True, False])
async def test_a_correction_keeps_the_seats_confirmed_at_daftar_ulang_where_the_rules_say_so(
    admin, client, transport, keep
):
    pid, families, numbers = await published_cycle(admin, transport, {"complaints": {"keep_confirmed": keep}})
    closes = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    assert (await admin.post(f"/api/periods/{pid}/reregistration/open", json={"closes_at": closes})).status_code == 204
    confirmed = await families[1].post(f"/api/applications/{numbers[1]}/reregistration", json={"decision": "confirmed"})
    assert confirmed.status_code == 200, confirmed.text
    await uphold_coordinate_complaint(admin, families[3], pid, numbers[3])
    assert (await admin.post(f"/api/periods/{pid}/selection-runs/correction")).status_code == 201
    assert (
        await admin.post(f"/api/periods/{pid}/publications", json={"reason": "Koreksi sanggah."})
    ).status_code == 201
    if keep:  # the second family confirmed SMP 1: it stays, though the corrected fourth family is nearer; the
        # first family, not yet re-registered, is solved again and moves down to SMP 2; the third drops out
        assert await seats(client, pid, numbers) == ["20670002", "20670001", None, "20670001"]
    else:  # everyone solved again: the confirmed second family moves down like the others, and its decision
        # about the seat it lost is void: it decides again about the one it holds now
        assert await seats(client, pid, numbers) == ["20670001", "20670002", None, "20670001"]
        voided = (await admin.get(f"/api/periods/{pid}/audit", params={"action": "reregistration.void"})).json()
        assert [e["entity_id"] for e in voided] == [numbers[1]]
        again = await families[1].post(f"/api/applications/{numbers[1]}/reregistration", json={"decision": "confirmed"})
        assert again.status_code == 200, again.text


async def test_a_vacancy_round_waits_for_the_corrections(admin, client, transport):
    """A vacancy round builds on the announced keys: while an upheld case's correction is not yet run and
    announced, it is refused; after, it fills the seats with the corrected data."""
    pid, families, numbers = await published_cycle(admin, transport)
    closes = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    assert (await admin.post(f"/api/periods/{pid}/reregistration/open", json={"closes_at": closes})).status_code == 204
    assert (await admin.post(f"/api/periods/{pid}/reregistration/close")).json()["released"] == 3
    await uphold_coordinate_complaint(admin, families[3], pid, numbers[3])
    expect_error(await admin.post(f"/api/periods/{pid}/vacancy-rounds"), 409, "corrections_pending")
    assert (await admin.post(f"/api/periods/{pid}/selection-runs/correction")).status_code == 201
    assert (
        await admin.post(f"/api/periods/{pid}/publications", json={"reason": "Koreksi sanggah."})
    ).status_code == 201
    # Every placed family let its seat go: those answered and are not placed again; the fourth family, the only
    # one that never had a seat, takes one with its corrected point, and re-registers in a window of its own.
    assert await seats(client, pid, numbers) == [None, None, None, "20670001"]
    changes = (await client.get(f"/api/periods/{pid}/results/snapshot")).json()["changes"]
    assert [c["registration_number"] for c in changes] == ["****" + numbers[3][-4:]]  # not those who let go
    assert (await admin.post(f"/api/periods/{pid}/reregistration/open", json={"closes_at": closes})).status_code == 204
    confirmed = await families[3].post(f"/api/applications/{numbers[3]}/reregistration", json={"decision": "confirmed"})
    assert confirmed.status_code == 200, confirmed.text
    assert (await admin.post(f"/api/periods/{pid}/reregistration/close")).json()["released"] == 0
    assert (await admin.post(f"/api/periods/{pid}/vacancy-rounds")).status_code == 201
    assert (await admin.post(f"/api/periods/{pid}/publications", json={})).status_code == 201
    assert await seats(client, pid, numbers) == [None, None, None, "20670001"]


async def test_an_upheld_complaint_corrects_a_certificates_points(admin, parent, operator, client):
    """The school entered juara 3 kabupaten for a juara 1 nasional certificate; after the selection the points
    change only for an upheld case, and the correction run ranks the path on the corrected score."""
    period = await lomba_period(admin)
    pid = period["id"]
    school = await operator(SCHOOL, "op.lomba@sekolah.test")
    levels = [("provinsi", 1), ("provinsi", 2), ("kabupaten", 2), ("kabupaten", 3)]  # 32, 24, 12, 8 points
    numbers = []
    for serial, (level, rank) in enumerate(levels, start=1):
        number = await register(parent, period, serial, b"%PDF-1.4 sertifikat")
        awarded = await school.put(f"/api/applications/{number}/certificate", json=check(level, rank))
        assert awarded.status_code == 200, awarded.text
        numbers.append(number)
    for step, body in (("close", None), ("selection-runs", None), ("publications", {})):
        assert (await admin.post(f"/api/periods/{pid}/{step}", json=body)).status_code in (200, 201)
    placed = [(await parent.get(f"/api/applications/{n}/status")).json()["placed_choice"] for n in numbers]
    assert placed == [1, 1, 1, None]  # prestasi has 3 seats

    last = numbers[3]
    case = (
        await parent.post(
            f"/api/periods/{pid}/complaints",
            json={"category": "result", "registration_number": last, "text": "Sertifikat anak kami juara 1 nasional."},
        )
    ).json()["number"]
    expect_error(
        await school.put(f"/api/applications/{last}/certificate", json=check("nasional", 1)), 409, "scores_locked"
    )
    await admin.post(f"/api/complaints/{case}/decision", json={"status": "upheld", "reason": "Sertifikat dicek ulang."})
    fixed = await admin.put(f"/api/applications/{last}/certificate", json=check("nasional", 1, complaint=case))
    assert fixed.status_code == 200 and fixed.json()["points"] == 64
    assert (await admin.post(f"/api/periods/{pid}/selection-runs/correction")).status_code == 201
    assert (await admin.post(f"/api/periods/{pid}/publications", json={"reason": f"Sanggah {case}"})).status_code == 201
    placed = [(await parent.get(f"/api/applications/{n}/status")).json()["placed_choice"] for n in numbers]
    assert placed == [1, 1, None, 1]
    changes = (await client.get(f"/api/periods/{pid}/results/snapshot")).json()["changes"]
    assert {c["registration_number"] for c in changes} == {"****" + numbers[2][-4:], "****" + last[-4:]}


async def test_a_correction_waits_for_its_announcement_and_for_the_answers_given_meanwhile(admin, client, transport):
    """Findings of the review: families answering daftar ulang while a correction is solved make it stale; a
    step that builds on the announcement waits for the correction's; the complainant's own child is solved again
    whatever it answered; the next stage waits for pending corrections."""
    pid, families, numbers = await published_cycle(admin, transport)
    closes = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    assert (await admin.post(f"/api/periods/{pid}/reregistration/open", json={"closes_at": closes})).status_code == 204
    # The third family (SMP 2) confirms its seat as a safety, then objects: its point is wrong.
    confirm = {"decision": "confirmed"}
    assert (await families[2].post(f"/api/applications/{numbers[2]}/reregistration", json=confirm)).status_code == 200
    await uphold_coordinate_complaint(admin, families[2], pid, numbers[2])
    expect_error(await admin.post(f"/api/periods/{pid}/next-stage", json={}), 409, "invalid_transition")
    assert (await admin.post(f"/api/periods/{pid}/selection-runs/correction")).status_code == 201
    expect_error(await admin.post(f"/api/periods/{pid}/reregistration/close"), 409, "run_unpublished")
    # Meanwhile the first family confirms the seat announced before: the correction did not know; run it again.
    assert (await families[0].post(f"/api/applications/{numbers[0]}/reregistration", json=confirm)).status_code == 200
    expect_error(
        await admin.post(f"/api/periods/{pid}/publications", json={"reason": "Koreksi."}), 409, "decisions_since_run"
    )
    assert (await admin.post(f"/api/periods/{pid}/selection-runs/correction")).status_code == 201
    assert (await admin.post(f"/api/periods/{pid}/publications", json={"reason": "Koreksi."})).status_code == 201
    # The third family, corrected, now nearest: SMP 1 beside the confirmed first family; the second moves to
    # SMP 2. The third's decision about SMP 2 is void: it answers again for SMP 1.
    assert await seats(client, pid, numbers) == ["20670001", "20670002", "20670001", None]
    again = await families[2].post(f"/api/applications/{numbers[2]}/reregistration", json=confirm)
    assert again.status_code == 200, again.text
    assert (await admin.post(f"/api/periods/{pid}/reregistration/close")).status_code == 200
