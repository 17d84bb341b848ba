"""Registration at the school (luring) through the pages: a school operator registers a family that came to the
school with the parents' wizard, prints its proof and issues the child's PIN; the family claims it later on its
dashboard. Refusals store nothing; other regions, the Dinas and parents do not get the operator's pages."""

from __future__ import annotations

import io
import re
import zlib

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select, text

from ppdb.accounts import service as accounts
from ppdb.applicants.models import Application, Document, Pin
from tests.conftest import PASSWORD, logged_in
from tests.helpers import new_period, open_period, registration

SCHOOLS_HEADER = "npsn,name,level,latitude,longitude,capacity,kelurahan_code\n"


@pytest.fixture
async def browser(transport):
    """Browsers signing in through the login page (HTTPS, so the Secure session cookie is sent back)."""
    opened: list[httpx.AsyncClient] = []

    async def sign_in(email: str, home: str) -> tuple[httpx.AsyncClient, str]:
        client = httpx.AsyncClient(transport=transport, base_url="https://testserver")
        opened.append(client)
        token = re.search(r'name="_csrf" value="([^"]+)"', (await client.get("/masuk")).text).group(1)
        done = await client.post("/masuk", data={"email": email, "password": PASSWORD, "_csrf": token})
        assert done.status_code == 302 and done.headers["location"] == home, done.text
        return client, re.search(r'name="_csrf" value="([^"]+)"', (await client.get("/")).text).group(1)

    yield sign_in
    for client in opened:
        await client.aclose()


def wizard_form(token: str, serial: int = 1, **changes) -> dict:
    """The wizard's fields for `registration(serial)`, as a browser posts them."""
    body = registration(serial)
    form = {k: str(v) for k, v in body.items() if k not in ("choices", "documents")}
    form.update({f"choice_{i}": npsn for i, npsn in enumerate(body["choices"], start=1)})
    return {"_csrf": token, "action": "submit", "documents": ["kk"], **form, **changes}


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "#c9daf8").save(buffer, format="PNG")
    return buffer.getvalue()


def pdf_text(pdf: bytes) -> str:
    """The text drawn in a PDF made by fpdf2 (its page streams are deflated)."""
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S)
    return "".join(zlib.decompress(s).decode("latin-1") for s in streams if s[:1] == b"x")


async def stored_applications(session) -> int:
    return await session.scalar(select(func.count()).select_from(Application))


async def pin_period(admin) -> dict:
    """An open period whose region requires a child's PIN of a parent registering online."""
    period = await open_period(admin, open_=False)
    changed = await admin.patch(f"/api/periods/{period['id']}/rules", json={"pin_required": True})
    assert changed.status_code == 200, changed.text
    assert (await admin.post(f"/api/periods/{period['id']}/open")).status_code == 200
    return period


async def test_an_operator_registers_a_walk_in_family_prints_its_proof_and_issues_the_pin(
    admin, operator, browser, session
) -> None:
    period = await pin_period(admin)
    await operator()
    school, token = await browser("operator1@sekolah.test", "/sekolah")
    dashboard = await school.get("/sekolah")
    assert 'href="/sekolah/daftar"' in dashboard.text and "Daftarkan di sekolah (luring)" in dashboard.text
    periods = await school.get("/sekolah/daftar")
    assert periods.status_code == 200 and f'href="/sekolah/daftar/{period["id"]}"' in periods.text
    assert periods.headers["cache-control"] == "no-store"

    wizard = await school.get(f"/sekolah/daftar/{period['id']}")
    assert wizard.status_code == 200 and wizard.headers["cache-control"] == "no-store"
    assert 'name="pin"' not in wizard.text  # the KK is checked in person: no PIN for a walk-in
    assert re.search(r'<form [^>]*id="wizard"[^>]*autocomplete="off"', wizard.text)
    for name in ("nik", "kk_number"):
        assert re.search(rf'<input id="f-{name}"[^>]*autocomplete="off"', wizard.text), name
    assert f'hx-post="/sekolah/daftar/{period["id"]}/jarak"' in wizard.text

    form = wizard_form(token)
    done = await school.post(
        f"/sekolah/daftar/{period['id']}", data=form, files={"file_kk": ("kk.png", png(), "image/png")}
    )
    assert done.status_code in (302, 303), done.text
    assert done.headers["cache-control"] == "no-store"
    number = re.fullmatch(r"/sekolah/pendaftar/([0-9A-Z-]+)/luring", done.headers["location"]).group(1)
    application = await session.scalar(select(Application).where(Application.registration_number == number))
    assert application.parent_id is None  # the family's, for it to claim
    actor = await session.scalar(text("SELECT actor FROM audit_log WHERE action = 'application.create'"))
    assert actor.startswith("school_operator:")
    kinds = await session.scalars(select(Document.kind).where(Document.application_id == application.id))
    assert "kk" in set(kinds)

    page = await school.get(done.headers["location"])
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert f'id="nomor">{number}<' in page.text
    assert f'href="/sekolah/pendaftar/{number}/bukti.pdf"' in page.text and 'href="/masuk/pin"' in page.text
    assert f'href="/sekolah/daftar/{period["id"]}">Daftarkan keluarga lain' in page.text
    assert "Buat PIN anak" in page.text and 'id="pin"' not in page.text

    issued = await school.post(f"/sekolah/pendaftar/{number}/pin", data={"_csrf": token})
    assert issued.status_code == 200 and issued.headers["cache-control"] == "no-store"
    pin = re.search(r'id="pin">([0-9A-Z]{5}-[0-9A-Z]{5})<', issued.text).group(1)
    assert await session.scalar(select(Pin.issued_by).where(Pin.nik == form["nik"])) is not None
    again = await school.get(f"/sekolah/pendaftar/{number}/luring")
    assert pin not in again.text  # shown once

    proof = await school.get(f"/sekolah/pendaftar/{number}/bukti.pdf")
    assert proof.status_code == 200 and proof.headers["content-type"] == "application/pdf"
    assert "no-store" in proof.headers["cache-control"]
    drawn = pdf_text(proof.content)
    assert number in drawn and "/masuk/pin" in drawn and "PIN anak" in drawn

    # the next family starts from an empty wizard: nothing of this one is in it
    fresh = await school.get(f"/sekolah/daftar/{period['id']}")
    assert form["nik"] not in fresh.text and form["kk_number"] not in fresh.text and number not in fresh.text


async def test_a_refused_walk_in_shows_the_form_again_with_the_error_and_stores_nothing(
    admin, operator, browser, session
) -> None:
    period = await open_period(admin)
    await operator()
    school, token = await browser("operator1@sekolah.test", "/sekolah")
    url = f"/sekolah/daftar/{period['id']}"
    refused = await school.post(url, data=wizard_form(token, birth_date="2014-03-16"))
    assert refused.status_code == 400 and refused.headers["cache-control"] == "no-store"
    assert re.search(r'id="e-birth_date"[^>]*>Tanggal lahir atau jenis kelamin tidak sesuai dengan NIK', refused.text)
    assert 'value="Siti Aminah"' in refused.text  # the input is kept to be fixed
    assert await stored_applications(session) == 0


async def test_a_school_keeps_seeing_a_walk_in_that_chose_only_other_schools(admin, operator, browser, session) -> None:
    period = await open_period(admin)
    api = await operator()
    school, token = await browser("operator1@sekolah.test", "/sekolah")
    elsewhere = wizard_form(token, choice_1="20670002", choice_2="20670003", choice_3="")
    page = await school.post(
        f"/sekolah/daftar/{period['id']}", data=elsewhere, files={"file_kk": ("kk.png", png(), "image/png")}
    )
    assert page.status_code == 302, page.text
    number = page.headers["location"].split("/")[3]
    assert await stored_applications(session) == 1
    assert await session.scalar(text("SELECT count(*) FROM documents WHERE storage_name IS NOT NULL")) == 1
    done = await school.get(f"/sekolah/pendaftar/{number}/luring")
    assert done.status_code == 200 and "Buat PIN anak" in done.text
    assert (await school.get(f"/sekolah/pendaftar/{number}/bukti.pdf")).status_code == 200
    # but it verifies nothing there: that is the chosen schools' (it registered the family, it does not judge it)
    decision = {"decision": "verified"}
    refused = await api.post(f"/api/applications/{number}/documents/kk/decision", json=decision)
    assert refused.status_code == 404 and refused.json()["code"] == "application_not_found"
    assert (await api.post(f"/api/applications/{number}/coordinate/verify")).status_code == 404


async def test_only_an_operator_of_the_periods_region_registers_at_the_school(
    admin, operator, parent, browser, session, transport, sessionmaker
) -> None:
    period = await open_period(admin)
    url = f"/sekolah/daftar/{period['id']}"
    async with sessionmaker() as db, db.begin():
        await accounts.bootstrap_admin(
            db,
            region_code="36.74",
            region_name="Kota Tangerang Selatan",
            email="admin@tangsel.test",
            password=PASSWORD,
            passwords=transport.app.state.runtime.passwords,
        )
    tangsel = await logged_in(transport, "admin@tangsel.test", PASSWORD)
    other = await new_period(tangsel)
    school_csv = SCHOOLS_HEADER + "20740001,SMP Negeri 1 Tangsel,smp,-6.2900,106.7100,64,36.74.01.1001\n"
    imported = await tangsel.post(f"/api/periods/{other['id']}/schools/import", content=school_csv)
    assert imported.status_code == 200, imported.text
    created = await tangsel.post(
        "/api/operators",
        json={"email": "op@tangsel.test", "password": PASSWORD, "name": "Operator", "npsn": "20740001"},
    )
    assert created.status_code == 201, created.text
    await tangsel.aclose()

    elsewhere, token = await browser("op@tangsel.test", "/sekolah")
    assert f"/sekolah/daftar/{period['id']}" not in (await elsewhere.get("/sekolah/daftar")).text
    assert (await elsewhere.get(url)).status_code == 403
    refused = await elsewhere.post(url, data=wizard_form(token))
    assert refused.status_code == 403 and "bukan sekolah daerah periode ini" in refused.text

    dinas, token = await browser("admin@tangerang.test", "/dinas")
    assert (await dinas.get("/sekolah/daftar")).status_code == 403
    assert (await dinas.get(url)).status_code == 403
    assert (await dinas.post(url, data=wizard_form(token))).status_code == 403

    family, token = await browser("orangtua@contoh.test", "/orangtua")
    assert (await family.get(url)).status_code == 403
    assert (await family.post(url, data=wizard_form(token))).status_code == 403
    assert await stored_applications(session) == 0

    # the operator of the region registers the same family
    await operator()
    school, token = await browser("operator1@sekolah.test", "/sekolah")
    assert (await school.post(url, data=wizard_form(token))).status_code in (302, 303)
    assert await stored_applications(session) == 1


async def walk_in(operator_api: httpx.AsyncClient, period_id: int, serial: int = 1, **changes) -> tuple[str, str]:
    """A walk-in registered through the API and the child's PIN: (registration number, PIN)."""
    child = registration(serial, **changes)
    created = await operator_api.post(f"/api/periods/{period_id}/applications", json=child)
    assert created.status_code == 201, created.text
    issued = await operator_api.post(f"/api/periods/{period_id}/pins", json={"niks": [child["nik"]]})
    assert issued.status_code == 201, issued.text
    return created.json()["registration_number"], issued.json()[0]["pin"]


async def test_the_staff_proof_is_for_the_chosen_schools_and_the_region(
    admin, operator, parent, browser, transport, sessionmaker
) -> None:
    period = await open_period(admin)
    first = await operator()
    number, _ = await walk_in(first, period["id"], choices=["20670001", "20670003"])
    url = f"/sekolah/pendaftar/{number}/bukti.pdf"
    await operator("20670002", "operator2@sekolah.test")

    chosen, _ = await browser("operator1@sekolah.test", "/sekolah")
    assert (await chosen.get(url)).content.startswith(b"%PDF")
    dinas, _ = await browser("admin@tangerang.test", "/dinas")
    assert (await dinas.get(url)).status_code == 200
    not_chosen, _ = await browser("operator2@sekolah.test", "/sekolah")
    assert (await not_chosen.get(url)).status_code == 404  # reads as absent, like the verification screen
    assert (await not_chosen.get(f"/sekolah/pendaftar/{number}")).status_code == 404
    family, _ = await browser("orangtua@contoh.test", "/orangtua")
    assert (await family.get(url)).status_code == 403
    async with sessionmaker() as db, db.begin():
        await accounts.bootstrap_admin(
            db,
            region_code="36.74",
            region_name="Kota Tangerang Selatan",
            email="admin@tangsel.test",
            password=PASSWORD,
            passwords=transport.app.state.runtime.passwords,
        )
    other_dinas, _ = await browser("admin@tangsel.test", "/dinas")
    assert (await other_dinas.get(url)).status_code == 404


async def test_a_parent_adds_a_walk_in_to_its_account_with_the_childs_pin(
    admin, operator, parent, browser, session
) -> None:
    period = await pin_period(admin)
    number, pin = await walk_in(await operator(), period["id"])
    family, token = await browser("orangtua@contoh.test", "/orangtua")
    dashboard = await family.get("/orangtua")
    assert 'action="/orangtua/klaim"' in dashboard.text and number not in dashboard.text

    empty = await family.post("/orangtua/klaim", data={"_csrf": token, "registration_number": "", "pin": ""})
    assert empty.status_code == 400
    assert re.search(r'id="e-registration_number"[^>]*>Wajib diisi', empty.text)
    assert re.search(r'id="e-pin"[^>]*>Wajib diisi', empty.text)

    wrong = await family.post(
        "/orangtua/klaim", data={"_csrf": token, "registration_number": number, "pin": "AAAAA-AAAAA"}
    )
    assert wrong.status_code == 422
    assert re.search(r'id="e-pin"[^>]*>PIN tidak cocok', wrong.text)
    assert f'value="{number}"' in wrong.text and "AAAAA-AAAAA" not in wrong.text
    owner = select(Application.parent_id).where(Application.registration_number == number)
    assert await session.scalar(owner) is None

    unknown = await family.post(
        "/orangtua/klaim", data={"_csrf": token, "registration_number": "2027-SMP-ZZZZZZZZ", "pin": pin}
    )
    assert unknown.status_code == 404
    assert re.search(r'id="e-registration_number"[^>]*>Pendaftaran tidak ditemukan', unknown.text)

    typed = {"_csrf": token, "registration_number": number.lower(), "pin": pin.replace("-", "").lower()}
    claimed = await family.post("/orangtua/klaim", data=typed)
    assert claimed.status_code in (302, 303), claimed.text
    assert claimed.headers["location"] == f"/pendaftaran/{number}?klaim=1"
    assert await session.scalar(owner) is not None
    status = await family.get(claimed.headers["location"])
    assert status.status_code == 200 and "sudah ditambahkan ke akun Anda" in status.text and number in status.text
    assert number in (await family.get("/orangtua")).text
