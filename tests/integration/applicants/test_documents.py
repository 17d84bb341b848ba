"""Document uploads: content checked by magic bytes, size-limited, stored under generated names."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ppdb.applicants import documents
from ppdb.applicants.models import Application
from ppdb.regions.rules import PRESETS, Level, rules_from_preset
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
    uploaded = await parent.put(
        f"/api/applications/{number}/documents/kk",
        content=PDF,
        headers={**headers, "Content-Type": "application/octet-stream"},
    )
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json() == {
        "kind": "kk",
        "status": "uploaded",
        "content_type": "application/pdf",
        "size_bytes": len(PDF),
        "reason": None,
    }
    stored = [p for p in (tmp_path / "documents").rglob("*") if p.is_file()]
    assert len(stored) == 1 and stored[0].read_bytes() == PDF and stored[0].suffix == ".pdf"
    assert "kk" not in stored[0].name and number not in str(stored[0])
    # a child's KK on the server's disk: only the service's own user reads it (no group, no others)
    assert stored[0].stat().st_mode & 0o077 == 0
    assert all(folder.stat().st_mode & 0o077 == 0 for folder in (stored[0].parent, stored[0].parent.parent))
    replaced = await parent.put(f"/api/applications/{number}/documents/kk", content=PNG, headers=headers)
    assert replaced.json()["content_type"] == "image/png"
    # the replaced scan is deleted with the commit: only the current file of a kind is kept
    assert [p.read_bytes() for p in (tmp_path / "documents").rglob("*") if p.is_file()] == [PNG]
    read = (await parent.get(f"/api/applications/{number}", headers=headers)).json()
    assert {d["kind"]: d["status"] for d in read["documents"]}["kk"] == "uploaded"
    assert hashlib.sha256(PNG).hexdigest()  # the digest is kept for verification (not exposed to the public)


async def test_bad_uploads_are_refused(admin, parent, client, transport):
    number, headers = await _registered(admin, parent)
    url = f"/api/applications/{number}/documents"
    expect_error(
        await parent.put(f"{url}/kk", content=b"MZ\x90\x00 not a document", headers=headers),
        415,
        "document_type_unsupported",
    )
    expect_error(
        await parent.put(f"{url}/kk", content=b"<html>%PDF-</html>", headers=headers), 415, "document_type_unsupported"
    )
    expect_error(await parent.put(f"{url}/selfie", content=PDF, headers=headers), 422, "document_kind_unknown")
    expect_error(await parent.put(f"{url}/kk", content=b"", headers=headers), 422, "document_empty")
    expect_error(
        await parent.put(f"{url}/kk", content=PDF + b"0" * (5 * 1024 * 1024), headers=headers),
        413,
        "document_too_large",
    )
    expect_error(await client.put(f"{url}/kk", content=PDF), 401, "login_required")
    stranger = await sign_up(transport, "lain@contoh.test")
    expect_error(await stranger.put(f"{url}/kk", content=PDF), 404, "application_not_found")
    traversal = await parent.put(f"{url}/..%2F..%2Fetc%2Fpasswd", content=PDF, headers=headers)
    assert traversal.status_code in (404, 422) and traversal.json()["code"] in ("not_found", "document_kind_unknown")


async def test_documents_are_served_only_to_those_allowed_to_see_them(
    admin, parent, operator, client, transport, session
):
    from sqlalchemy import text

    from ppdb.accounts import service as accounts
    from tests.conftest import PASSWORD, logged_in

    number, _ = await _registered(admin, parent)
    url = f"/api/applications/{number}/documents/kk"
    assert (await parent.put(url, content=PDF)).status_code == 200
    own_school = await operator("20670001", "op1@sekolah.test")
    for reader in (parent, own_school, admin):
        response = await reader.get(url)
        assert response.status_code == 200, response.text
        assert response.content == PDF
        assert response.headers["content-type"] == "application/pdf"
        assert response.headers["content-disposition"] == 'attachment; filename="kk.pdf"'
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "no-store" in response.headers["cache-control"]
    await accounts.bootstrap_admin(
        session,
        region_code="36.74",
        region_name="Kota Tangerang Selatan",
        email="admin@tangsel.test",
        password=PASSWORD,
    )
    await session.commit()
    other_admin = await logged_in(transport, "admin@tangsel.test", PASSWORD)
    stranger = await sign_up(transport, "lain@contoh.test")
    # Another region's agency and other parents (an unchosen school: the next test).
    for outsider in (stranger, other_admin):
        expect_error(await outsider.get(url), 404, "application_not_found")
    expect_error(await client.get(url), 401, "login_required")
    expect_error(await parent.get(f"/api/applications/{number}/documents/akta_kelahiran"), 404, "document_not_found")
    for path in ("..%2F..%2Fetc%2Fpasswd", "..%2Fkk", "kk%00.pdf", "%2Fetc%2Fpasswd"):  # only kinds name files
        response = await parent.get(f"/api/applications/{number}/documents/{path}")
        assert response.status_code == 404, (path, response.text)
        assert response.json()["code"] in ("document_not_found", "not_found")
    # Staff reads of a child's documents are audited; the parent's own reads are not.
    readers = (
        (await session.execute(text("SELECT actor FROM audit_log WHERE action = 'document.read'"))).scalars().all()
    )
    assert len(readers) == 2
    for c in (own_school, other_admin, stranger):
        await c.aclose()


async def test_an_unchosen_school_cannot_download(admin, parent, operator):
    period = await open_period(admin)
    number = (
        await parent.post(f"/api/periods/{period['id']}/applications", json=registration(choices=["20670001"]))
    ).json()["registration_number"]
    assert (await parent.put(f"/api/applications/{number}/documents/kk", content=PDF)).status_code == 200
    other_school = await operator("20670003", "op3@sekolah.test")
    expect_error(await other_school.get(f"/api/applications/{number}/documents/kk"), 404, "application_not_found")
    await other_school.aclose()


async def test_oversized_bodies_are_refused_before_they_are_read(admin, parent):
    number, _ = await _registered(admin, parent)
    url = f"/api/applications/{number}/documents/kk"
    # Over the configured limit (5 MB) but under the transport cap: refused from Content-Length.
    expect_error(await parent.put(url, content=PDF + b"0" * (6 * 1024 * 1024)), 413, "document_too_large")
    expect_error(await parent.put(url, content=PDF + b"0" * (21 * 1024 * 1024)), 413, "document_too_large")

    async def chunked(megabytes: int):  # no Content-Length: the size is only known while reading
        yield PDF
        for _ in range(megabytes):
            yield b"0" * (1024 * 1024)

    expect_error(await parent.put(url, content=chunked(6)), 413, "document_too_large")
    expect_error(await parent.put(url, content=chunked(21)), 413, "request_too_large")  # reading stops at 20 MB


async def test_a_file_goes_with_a_transaction_that_does_not_land(admin, parent, sessionmaker, tmp_path):
    number, headers = await _registered(admin, parent)
    uploaded = await parent.put(f"/api/applications/{number}/documents/kk", content=PDF, headers=headers)
    assert uploaded.status_code == 200

    def stored() -> list[bytes]:
        return sorted(p.read_bytes() for p in (tmp_path / "documents").rglob("*") if p.is_file())

    async with sessionmaker() as session:
        application = await session.scalar(
            select(Application)
            .where(Application.registration_number == number)
            .options(selectinload(Application.documents))
        )
        rules = rules_from_preset(PRESETS["permendikdasmen-3-2025", Level.SMP], "2027/2028")
        await documents.store(
            session, application, "kk", PNG, rules=rules, actor="test", data_dir=tmp_path, max_bytes=10**6
        )
        assert stored() == sorted([PDF, PNG])
        await session.rollback()
    assert stored() == [PDF]  # the new file went with the transaction; the one still referenced stayed
