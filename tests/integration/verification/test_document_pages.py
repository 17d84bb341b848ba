"""Staff reads of a child's documents through the operator pages are audited like the API's (issue 17, defect 1)."""

from __future__ import annotations

from sqlalchemy import text

from tests.helpers import open_period, registration

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


async def _reads(session) -> list[tuple[str, str]]:
    rows = await session.execute(
        text("SELECT actor, entity_id FROM audit_log WHERE action = 'document.read' ORDER BY id")
    )
    return [tuple(r) for r in rows]


async def test_an_operator_viewing_a_document_page_is_audited_like_the_api(admin, parent, operator, session):
    period = await open_period(admin)
    number = (await parent.post(f"/api/periods/{period['id']}/applications", json=registration())).json()[
        "registration_number"
    ]
    assert (await parent.put(f"/api/applications/{number}/documents/kk", content=PDF)).status_code == 200
    school = await operator()

    page = await school.get(f"/sekolah/pendaftar/{number}/dokumen/kk")
    assert page.status_code == 200, page.text
    assert page.content == PDF
    assert page.headers["content-type"] == "application/pdf"
    assert page.headers["content-disposition"].startswith("attachment")  # a PDF is downloaded, never shown here
    reads = await _reads(session)
    assert len(reads) == 1 and reads[0][1] == number and reads[0][0].startswith("school_operator:")

    assert (await school.get(f"/api/applications/{number}/documents/kk")).status_code == 200
    assert len(await _reads(session)) == 2  # the API view records the same entry
    await school.aclose()


POLYGLOT_PDF = b"%PDF-1.7\n<html><script>alert(document.cookie)</script></html>\n%%EOF\n"
POLYGLOT_PNG = b"\x89PNG\r\n\x1a\n<html><script>alert(document.cookie)</script></html>"


async def test_a_polyglot_upload_runs_nothing_wherever_it_is_opened(admin, parent, operator):
    """Security review L9(e): files that pass the magic-byte check but are HTML too. Every answer carrying one is
    sandboxed with no source allowed and `nosniff`; a PDF is always an attachment; only an image is inline, for the
    page's `<img>`."""
    period = await open_period(admin)
    body = registration(documents=["kk", "akta_kelahiran"])
    number = (await parent.post(f"/api/periods/{period['id']}/applications", json=body)).json()["registration_number"]
    assert (await parent.put(f"/api/applications/{number}/documents/kk", content=POLYGLOT_PDF)).status_code == 200
    png = await parent.put(f"/api/applications/{number}/documents/akta_kelahiran", content=POLYGLOT_PNG)
    assert png.status_code == 200, png.text
    school = await operator()
    for url, disposition in (
        (f"/sekolah/pendaftar/{number}/dokumen/kk", "attachment"),
        (f"/sekolah/pendaftar/{number}/dokumen/akta_kelahiran", "inline"),
        (f"/api/applications/{number}/documents/kk", "attachment"),
        (f"/api/applications/{number}/documents/akta_kelahiran", "attachment"),
    ):
        answer = await school.get(url)
        assert answer.status_code == 200, (url, answer.text)
        assert answer.headers["content-disposition"].startswith(disposition), url
        assert answer.headers["content-security-policy"] == "default-src 'none'; sandbox", url
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["content-type"] in ("application/pdf", "image/png")
    await school.aclose()
