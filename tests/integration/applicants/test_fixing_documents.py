"""A parent fixes a document a verifier rejected, on the status page, even after registration closed."""

from __future__ import annotations

import re

from tests.helpers import expect_error, open_period, registration


async def test_a_rejected_document_is_shown_first_and_can_be_uploaded_again_after_closing(admin, parent, operator):
    period = await open_period(admin)
    number = (await parent.post(f"/api/periods/{period['id']}/applications", json=registration())).json()[
        "registration_number"
    ]
    docs = f"/api/applications/{number}/documents"
    assert (await parent.put(f"{docs}/kk", content=b"%PDF-1.4 blurred")).status_code == 200
    assert (await parent.put(f"{docs}/akta_kelahiran", content=b"%PDF-1.4 akta")).status_code == 200
    school = await operator()
    rejected = await school.post(
        f"{docs}/kk/decision", json={"decision": "rejected", "reason": "KK buram, foto ulang."}
    )
    assert rejected.status_code == 200
    assert (await admin.post(f"/api/periods/{period['id']}/close")).status_code == 200

    # closed: only the rejected document may come again
    expect_error(await parent.put(f"{docs}/akta_kelahiran", content=b"%PDF-1.4 other"), 409, "period_not_open")
    page = await parent.get(f"/pendaftaran/{number}")
    assert page.status_code == 200
    top = page.text.split('id="ditolak"')[1].split("</section>")[0]
    assert "Kartu Keluarga" in top and "KK buram, foto ulang." in top and "Unggah ulang" in top
    token = re.search(r'name="_csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    action = f"/pendaftaran/{number}/dokumen/kk"
    wrong = await parent.post(action, data={"_csrf": token}, files={"file": ("kk.txt", b"not a scan", "text/plain")})
    assert wrong.status_code == 400 and 'id="e-file_kk"' in wrong.text
    fixed = await parent.post(
        action, data={"_csrf": token}, files={"file": ("kk.pdf", b"%PDF-1.4 sharp", "application/pdf")}
    )
    assert fixed.status_code in (302, 303), fixed.text
    mine = (await parent.get(f"/api/applications/{number}")).json()
    assert {d["kind"]: d["status"] for d in mine["documents"]}["kk"] == "uploaded"
    again = await parent.get(f"/pendaftaran/{number}?unggah=kk")
    assert 'id="ditolak"' not in again.text and "terunggah dan akan diperiksa lagi" in again.text
    # and once the selection ran, not even that
    assert (
        await school.post(f"{docs}/kk/decision", json={"decision": "rejected", "reason": "Masih buram."})
    ).status_code == 200
    assert (await admin.post(f"/api/periods/{period['id']}/selection-runs")).status_code == 201
    expect_error(await parent.put(f"{docs}/kk", content=b"%PDF-1.4 third"), 409, "period_not_open")
