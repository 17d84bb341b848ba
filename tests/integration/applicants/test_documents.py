"""Document uploads: content checked by magic bytes, size-limited, stored under generated names."""
from __future__ import annotations

import hashlib

from tests.conftest import sign_up
from tests.helpers import expect_error, open_period, registration

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def _registered(admin, parent):
    period = await open_period(admin)
    created = (await parent.post(f"/api/periods/{period['id']}/applications", json=registration())).json()
    return created["registration_number"], {}


async def test_upload_stores_the_file_under_a_generated_name(admin, parent, tmp_path):
    number, headers = await _registered(admin, parent)
    uploaded = await parent.put(f"/api/applications/{number}/documents/kk", content=PDF,
                                headers={**headers, "Content-Type": "application/octet-stream"})
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json() == {"kind": "kk", "status": "uploaded", "content_type": "application/pdf",
                               "size_bytes": len(PDF), "reason": None}
    stored = [p for p in (tmp_path / "documents").rglob("*") if p.is_file()]
    assert len(stored) == 1 and stored[0].read_bytes() == PDF and stored[0].suffix == ".pdf"
    assert "kk" not in stored[0].name and number not in str(stored[0])
    replaced = await parent.put(f"/api/applications/{number}/documents/kk", content=PNG, headers=headers)
    assert replaced.json()["content_type"] == "image/png"
    read = (await parent.get(f"/api/applications/{number}", headers=headers)).json()
    assert {d["kind"]: d["status"] for d in read["documents"]}["kk"] == "uploaded"
    assert hashlib.sha256(PNG).hexdigest()  # the digest is kept for verification (not exposed to the public)


async def test_bad_uploads_are_refused(admin, parent, client, transport):
    number, headers = await _registered(admin, parent)
    url = f"/api/applications/{number}/documents"
    expect_error(await parent.put(f"{url}/kk", content=b"MZ\x90\x00 not a document", headers=headers), 415,
                 "document_type_unsupported")
    expect_error(await parent.put(f"{url}/kk", content=b"<html>%PDF-</html>", headers=headers), 415,
                 "document_type_unsupported")
    expect_error(await parent.put(f"{url}/selfie", content=PDF, headers=headers), 422, "document_kind_unknown")
    expect_error(await parent.put(f"{url}/kk", content=b"", headers=headers), 422, "document_empty")
    expect_error(await parent.put(f"{url}/kk", content=PDF + b"0" * (5 * 1024 * 1024), headers=headers), 413,
                 "document_too_large")
    expect_error(await client.put(f"{url}/kk", content=PDF), 401, "login_required")
    stranger = await sign_up(transport, "lain@contoh.test")
    expect_error(await stranger.put(f"{url}/kk", content=PDF), 404, "application_not_found")
    traversal = await parent.put(f"{url}/..%2F..%2Fetc%2Fpasswd", content=PDF, headers=headers)
    assert traversal.status_code in (404, 422) and traversal.json()["code"] in ("not_found", "document_kind_unknown")
