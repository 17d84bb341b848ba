"""The registration wizard on real, separately committed transactions: one form submit, one outcome.

The usual fixture (one connection, savepoints) cannot show a registration committed on its own while the
request's transaction rolls back; `live` can.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import PASSWORD, logged_in, sign_up
from tests.helpers import open_period, registration

PDF = b"%PDF-1.4\n%test\n"


def csrf_of(html: str) -> str:
    found = re.search(r'name="_csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def wizard_form(token: str, serial: int) -> dict[str, str]:
    body = registration(serial)
    form = {k: str(v) for k, v in body.items() if k not in ("choices", "documents")}
    form.update({f"choice_{i}": npsn for i, npsn in enumerate(body["choices"], start=1)})
    return {**form, "_csrf": token, "action": "submit", "idempotency_key": f"wizard-{serial}"}


async def counts(engine: AsyncEngine) -> tuple[int, int, int]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM applications), (SELECT count(*) FROM idempotent_responses),"
                    " (SELECT count(*) FROM audit_log WHERE action = 'application.create')"
                )
            )
        ).one()
    return row[0], row[1], row[2]


@pytest.mark.parametrize("warm", [False, True], ids=["first-registration", "period-known-open"])
async def test_a_refused_upload_stores_nothing_and_the_next_submit_registers(
    live: httpx.ASGITransport, engine: AsyncEngine, tmp_path: Path, warm: bool
) -> None:
    admin = await logged_in(live, "admin@tangerang.test", PASSWORD)
    await (await sign_up(live, "orangtua@contoh.test")).aclose()
    period = await open_period(admin)
    before = (0, 0, 0)
    if warm:  # a registration through the API first: the period is then known open (the fast path)
        api = await logged_in(live, "orangtua@contoh.test", PASSWORD)
        assert (await api.post(f"/api/periods/{period['id']}/applications", json=registration(9))).status_code == 201
        await api.aclose()
        before = await counts(engine)
    async with httpx.AsyncClient(transport=live, base_url="https://testserver") as browser:
        token = csrf_of((await browser.get("/masuk")).text)
        login = {"email": "orangtua@contoh.test", "password": PASSWORD, "_csrf": token}
        assert (await browser.post("/masuk", data=login)).status_code in (200, 302, 303)
        token = csrf_of((await browser.get("/")).text)  # the token of the new session
        url = f"/periode/{period['id']}/daftar"
        refused = await browser.post(
            url, data=wizard_form(token, 1), files={"file_kk": ("kk.txt", b"not a scan", "text/plain")}
        )
        assert refused.status_code == 400, refused.text
        assert "Berkas harus PDF, JPEG, atau PNG." in refused.text
        assert await counts(engine) == before  # no registration, no idempotency claim, no audit entry
        assert not [f for f in tmp_path.rglob("*") if f.is_file()]  # no file written either

        again = await browser.post(
            url, data=wizard_form(token, 1), files={"file_kk": ("kk.pdf", PDF, "application/pdf")}
        )
        assert again.status_code in (302, 303), again.text
        assert "?baru=1" in again.headers["location"]
    assert await counts(engine) == (before[0] + 1, before[1] + 1, before[2] + 1)
    async with engine.connect() as conn:
        uploaded = await conn.scalar(text("SELECT count(*) FROM documents WHERE status = 'uploaded'"))
    assert uploaded == 1
    await admin.aclose()


async def test_files_attached_to_a_refused_submit_are_held_for_the_next(
    live: httpx.ASGITransport, engine: AsyncEngine, tmp_path: Path
) -> None:
    """On 3G a KK scan is not sent twice: a submit refused for a typing mistake holds its files, the page says so,
    and the corrected submit registers with them; only the parent who attached a file can use it."""
    admin = await logged_in(live, "admin@tangerang.test", PASSWORD)
    period = await open_period(admin)
    url = f"/periode/{period['id']}/daftar"
    browsers = []
    for email in ("orangtua@contoh.test", "lain@contoh.test"):
        await (await sign_up(live, email)).aclose()
        browser = httpx.AsyncClient(transport=live, base_url="https://testserver")
        token = csrf_of((await browser.get("/masuk")).text)
        assert (await browser.post("/masuk", data={"email": email, "password": PASSWORD, "_csrf": token})).is_redirect
        browsers.append((browser, csrf_of((await browser.get("/")).text)))
    (parent, token), (other, other_token) = browsers

    mistaken = {**wizard_form(token, 1), "name": "", "documents": "kk"}
    refused = await parent.post(url, data=mistaken, files={"file_kk": ("kk-siti.pdf", PDF, "application/pdf")})
    assert refused.status_code == 400 and "Berkas sudah diterima: kk-siti.pdf" in refused.text
    held = re.search(r'name="staged_kk" value="([^"]+)"', refused.text).group(1)
    assert len([f for f in tmp_path.rglob("*.held") if f.is_file()]) == 1
    assert await counts(engine) == (0, 0, 0)

    # another account sending the same field gets nothing of it (the file is in the first parent's folder)
    theirs = {**wizard_form(other_token, 2), "documents": "kk", "staged_kk": held}
    refused_to_them = await other.post(url, data=theirs)
    assert refused_to_them.status_code == 400 and "pilih berkasnya lagi" in refused_to_them.text
    # the same form again with a second document attached: one set of files held per account
    second = await parent.post(
        url,
        data={**mistaken, "documents": ["kk", "akta_kelahiran"], "staged_kk": held},
        files={"file_akta_kelahiran": ("akta.pdf", PDF, "application/pdf")},
    )
    assert second.status_code == 400 and 'name="staged_akta_kelahiran"' in second.text
    assert len(list(tmp_path.rglob("*.held"))) == 2
    # unticking a document drops its held file
    akta = re.search(r'name="staged_akta_kelahiran" value="([^"]+)"', second.text).group(1)
    untick = {**mistaken, "documents": "akta_kelahiran", "staged_kk": held, "staged_akta_kelahiran": akta}
    third = await parent.post(url, data=untick)
    assert third.status_code == 400 and 'name="staged_kk"' not in third.text
    assert len(list(tmp_path.rglob("*.held"))) == 1
    # a held file that is gone (swept, or used by another tab) is a file to choose again, not a registration
    # without it
    gone = await parent.post(url, data={**wizard_form(token, 1), "documents": "kk", "staged_kk": held})
    assert gone.status_code == 400 and "pilih berkasnya lagi" in gone.text
    assert await counts(engine) == (0, 0, 0)
    # the parent's corrected submit, without attaching the file again
    refused = await parent.post(url, data=mistaken, files={"file_kk": ("kk-siti.pdf", PDF, "application/pdf")})
    held = re.search(r'name="staged_kk" value="([^"]+)"', refused.text).group(1)
    fixed = {**wizard_form(token, 1), "documents": "kk", "staged_kk": held}
    registered = await parent.post(url, data=fixed)
    number = registered.headers["location"].split("/")[-1].split("?")[0]
    async with engine.connect() as conn:
        stored = await conn.scalars(
            text(
                "SELECT a.registration_number FROM documents d JOIN applications a ON a.id = d.application_id"
                " WHERE d.status = 'uploaded'"
            )
        )
        assert list(stored) == [number]
    assert not list(tmp_path.rglob("*.held"))  # released once stored
    for browser, _ in browsers:
        await browser.aclose()
    await admin.aclose()
