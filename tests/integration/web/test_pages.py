"""Pages: CSRF on every form, errors next to the field in Bahasa Indonesia, the page CSP."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.conftest import PASSWORD
from tests.helpers import open_period, registration


@pytest.fixture
async def client(transport):
    """A browser: HTTPS, so the Secure session cookie is sent back."""
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as browser:
        yield browser


def csrf_of(html: str) -> str:
    return re.search(r'name="_csrf" value="([^"]+)"', html).group(1)


async def test_home_and_public_pages_render_with_a_strict_csp(client, admin) -> None:
    period = await open_period(admin)
    home = await client.get("/")
    assert home.status_code == 200 and "Cara seleksi" in home.text and "jarak rumah ke sekolah" in home.text
    csp = home.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    for path in ("sekolah", "peringkat", "hasil"):
        page = await client.get(f"/periode/{period['id']}/{path}")
        assert page.status_code == 200, page.text
    assert "SMP Negeri 1 Uji" in (await client.get(f"/periode/{period['id']}/sekolah")).text
    assert (await client.get("/api/presets")).headers["content-security-policy"].startswith("default-src 'none'")


async def test_a_page_form_without_the_csrf_token_is_refused(client, parent) -> None:
    form = {"email": "orangtua@contoh.test", "password": PASSWORD}
    refused = await client.post("/masuk", data=form)
    assert refused.status_code == 403 and "CSRF" in refused.text
    token = csrf_of((await client.get("/masuk")).text)
    wrong = await client.post("/masuk", data={**form, "_csrf": token[:-2] + "xx"})
    assert wrong.status_code == 403
    accepted = await client.post("/masuk", data={**form, "_csrf": token})
    assert accepted.status_code == 302 and accepted.headers["location"] == "/orangtua"
    assert "__Host-ppdb_session=" in accepted.headers["set-cookie"]  # only this host, over HTTPS, sets it


async def test_cookie_authenticated_api_writes_need_the_token_and_bearer_clients_do_not(
    client, parent, transport
) -> None:
    token = csrf_of((await client.get("/masuk")).text)
    await client.post("/masuk", data={"email": "orangtua@contoh.test", "password": PASSWORD, "_csrf": token})
    assert (await client.get("/api/auth/me")).status_code == 200  # the cookie alone reads
    stale, token = token, csrf_of((await client.get("/")).text)  # signing in issues a token for the session
    assert stale != token
    refused = await client.post("/api/auth/logout")
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    # A session cookie in a second Cookie header is the session for the CSRF check too (security review L6).
    session = client.cookies["__Host-ppdb_session"]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as bare:
        split = await bare.post(
            "/api/auth/logout", headers=[("cookie", "x=1"), ("cookie", f"__Host-ppdb_session={session}")]
        )
        assert split.status_code == 403 and split.json()["code"] == "csrf_failed"
        # A token of no session (one anybody can fetch, then plant as a cookie) does not fit this session.
        planted = {"cookie": f"__Host-ppdb_session={session}; ppdb_csrf={stale}", "x-csrf-token": stale}
        assert (await bare.post("/api/auth/logout", headers=planted)).json()["code"] == "csrf_failed"
    assert (await client.post("/api/auth/logout", headers={"X-CSRF-Token": token})).status_code == 204
    # A write from another site's page is refused even without a session (no login CSRF through the API).
    foreign = await client.post(
        "/api/auth/login",
        json={"email": "orangtua@contoh.test", "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403 and foreign.json()["code"] == "csrf_failed"
    # A bearer client (no cookie involved) writes without any token.
    assert (await parent.post("/api/auth/logout")).status_code == 204


async def test_form_errors_sit_next_to_the_field_in_indonesian_and_keep_the_input(client) -> None:
    token = csrf_of((await client.get("/daftar-akun")).text)
    page = await client.post(
        "/daftar-akun",
        data={
            "_csrf": token,
            "name": "Ibu <b>Siti</b>",
            "email": "siti@contoh.test",
            "password": "pendek",
            "password2": "pendek",
        },
    )
    assert page.status_code == 422
    assert re.search(r'id="e-password"[^>]*>Kata sandi minimal 10 karakter', page.text)
    assert 'value="Ibu &lt;b&gt;Siti&lt;/b&gt;"' in page.text and 'value="siti@contoh.test"' in page.text


async def test_the_wizard_reports_a_nik_mismatch_next_to_the_birth_date(client, admin, parent) -> None:
    period = await open_period(admin)
    token = csrf_of((await client.get("/masuk")).text)
    await client.post("/masuk", data={"email": "orangtua@contoh.test", "password": PASSWORD, "_csrf": token})
    token = csrf_of((await client.get("/")).text)
    form = {
        "_csrf": token,
        "nik": "3671015503140001",
        "sex": "P",
        "birth_date": "2014-03-16",
        "name": "Siti",
        "kk_number": "3671010101190001",
        "kk_issued_on": "2019-05-02",
        "address": "Jl. Merdeka 1",
        "kelurahan_code": "36.71.01.1001",
        "latitude": "-6.178",
        "longitude": "106.63",
        "path": "domisili",
        "choice_1": "20670001",
        "action": "submit",
    }
    page = await client.post(f"/periode/{period['id']}/daftar", data=form)
    assert page.status_code == 400
    assert re.search(r'id="e-birth_date"[^>]*>Tanggal lahir atau jenis kelamin tidak sesuai dengan NIK', page.text)
    assert 'value="3671015503140001"' in page.text
    # Without JavaScript the same button posts the whole form and the page comes back with the distances.
    no_js = await client.post(
        f"/periode/{period['id']}/daftar", data={**form, "birth_date": "2014-03-15", "action": "preview"}
    )
    assert no_js.status_code == 200 and "Jarak dihitung server" in no_js.text and 'value="Siti"' in no_js.text
    preview = await client.post(
        f"/periode/{period['id']}/daftar/jarak",
        data={**form, "birth_date": "2014-03-15"},
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert preview.status_code == 200 and "SMP Negeri 1 Uji" in preview.text and " m</strong>" in preview.text


async def test_the_wizard_takes_numbers_and_coordinates_as_people_type_them(client, admin, parent) -> None:
    """A NIK and KK typed in groups, a NISN with dots, a point pasted from a maps app into the latitude field with
    a minus sign from a phone keyboard: registered as meant, not refused or cut."""
    period = await open_period(admin)
    token = csrf_of((await client.get("/masuk")).text)
    await client.post("/masuk", data={"email": "orangtua@contoh.test", "password": PASSWORD, "_csrf": token})
    token = csrf_of((await client.get("/")).text)
    body = registration()
    nik = body["nik"]
    form = {
        "_csrf": token,
        "nik": f"{nik[:4]} {nik[4:8]} {nik[8:12]} {nik[12:]}",
        "nisn": "0000.000.001",
        "sex": "P",
        "birth_date": "2014-03-15",
        "name": "Siti",
        "kk_number": f"{body['kk_number'][:6]}-{body['kk_number'][6:]}",
        "kk_issued_on": "2019-05-02",
        "address": "Jl. Merdeka 1",
        "kelurahan_code": "36.71.01.1001",
        "latitude": "\u22126.178000, 106.630000",
        "longitude": "",
        "path": "domisili",
        "choice_1": "20670001",
        "documents": ["kk", "akta_kelahiran"],
        "action": "submit",
    }
    page = await client.post(f"/periode/{period['id']}/daftar", data=form)
    assert page.status_code == 302, page.text
    number = page.headers["location"].rsplit("/", 1)[-1]
    stored = (await parent.get(f"/api/applications/{number}")).json()["applicant"]
    assert (stored["nik"], stored["nisn"], stored["kk_number"]) == (nik, "0000000001", body["kk_number"])
    assert (stored["latitude"], stored["longitude"]) == (-6.178, 106.63)


async def admin_browser(client) -> str:
    token = csrf_of((await client.get("/masuk")).text)
    done = await client.post("/masuk", data={"email": "admin@tangerang.test", "password": PASSWORD, "_csrf": token})
    assert done.status_code == 302 and done.headers["location"] == "/dinas"
    return csrf_of((await client.get("/")).text)  # the token of the new session


async def test_agency_creates_a_period_edits_quotas_within_bounds_and_sees_csv_row_errors(client, admin) -> None:
    token = await admin_browser(client)
    created = await client.post(
        "/dinas/periode",
        data={
            "_csrf": token,
            "preset": "permendikdasmen-3-2025|smp",
            "school_year": "2027/2028",
            "opens": "2027-05-01T08:00",
            "closes": "2027-06-01T16:00",
        },
    )
    assert created.status_code == 302, created.text
    page_url = created.headers["location"]
    period_id = int(page_url.rsplit("/", 1)[1])
    page = await client.get(page_url)
    assert "Batas nasional" in page.text and "40.0–100.0 %" in page.text
    refused = await client.post(
        f"/dinas/periode/{period_id}/kuota",
        data={
            "_csrf": token,
            "quota_domisili": "10",
            "quota_afirmasi": "20",
            "quota_mutasi": "5",
            "quota_prestasi": "65",
            "max_choices": "3",
            "mechanism": "deferred_acceptance",
        },
    )
    assert refused.status_code == 400 and 'value="10"' in refused.text
    assert re.search(r'class="error" role="alert">[^<]*domisili', refused.text, re.I)
    bad_csv = "npsn,name,level,latitude,longitude,capacity,kelurahan_code\n123,SMP X,smp,-6.1,106.6,abc,36.71.01.1001\n"
    imported = await client.post(
        f"/dinas/periode/{period_id}/impor/sekolah",
        data={"_csrf": token},
        files={"file": ("sekolah.csv", bad_csv.encode(), "text/csv")},
    )
    assert imported.status_code == 422 and 'id="row-errors"' in imported.text and "Baris" in imported.text
    latin = "npsn,name,level,latitude,longitude,capacity\n20670009,SMP Négeri Lätin,smp,-6.1,106.6,30\n"
    refused = await client.post(  # as the API: refused, never imported with replacement characters (L9)
        f"/dinas/periode/{period_id}/impor/sekolah",
        data={"_csrf": token},
        files={"file": ("sekolah.csv", latin.encode("latin-1"), "text/csv")},
    )
    assert refused.status_code == 422 and "UTF-8" in refused.text


async def test_a_parent_changes_reads_the_status_downloads_the_proof_and_withdraws(client, admin, parent) -> None:
    period = await open_period(admin)
    created = await parent.post(f"/api/periods/{period['id']}/applications", json=registration())
    assert created.status_code == 201, created.text
    number = created.json()["registration_number"]
    token = csrf_of((await client.get("/masuk")).text)
    await client.post("/masuk", data={"email": "orangtua@contoh.test", "password": PASSWORD, "_csrf": token})
    token = csrf_of((await client.get("/")).text)
    assert number in (await client.get("/orangtua")).text
    form = await client.get(f"/pendaftaran/{number}/ubah")
    assert form.status_code == 200 and 'value="Siti Aminah"' in form.text
    fields = dict(re.findall(r'<input id="f-([a-z_]+)" name="\1" type="(?:text|date)" value="([^"]*)"', form.text))
    fields.update(
        {
            "_csrf": token,
            "sex": "P",
            "kelurahan_code": "36.71.01.1001",
            "path": "domisili",
            "choice_1": "20670003",
            "choice_2": "20670001",
            "documents": ["kk", "akta_kelahiran"],
            "nik": registration()["nik"],
            "birth_date": "2014-03-15",
        }
    )
    changed = await client.post(f"/pendaftaran/{number}/ubah", data=fields)
    assert changed.status_code == 302, changed.text
    read = (await parent.get(f"/api/applications/{number}")).json()
    assert [c["npsn"] for c in read["choices"]] == ["20670003", "20670001"]
    status = await client.get(f"/pendaftaran/{number}")
    assert status.status_code == 200 and "Peringkat sementara belum dihitung" in status.text
    proof = await client.get(f"/pendaftaran/{number}/bukti.pdf")
    assert proof.status_code == 200 and proof.content.startswith(b"%PDF")
    asked = await client.post(f"/pendaftaran/{number}/cabut", data={"_csrf": token})
    assert asked.status_code == 200 and "Cabut pendaftaran?" in asked.text and 'name="yakin" value="1"' in asked.text
    assert (await parent.get(f"/api/applications/{number}")).json()["status"] != "withdrawn"  # asked, nothing done
    for _ in range(2):  # a second tap (or a resent form) shows the result again, not an error
        done = await client.post(f"/pendaftaran/{number}/cabut", data={"_csrf": token, "yakin": "1"})
        assert done.status_code == 302 and done.headers["location"] == f"/pendaftaran/{number}?pesan=dicabut"
    assert "Pendaftaran telah dicabut" in (await client.get(done.headers["location"])).text
    assert (await parent.get(f"/api/applications/{number}")).json()["status"] == "withdrawn"


async def test_pages_send_strangers_to_the_login_and_other_roles_away(client, admin, parent) -> None:
    anonymous = await client.get("/dinas")
    assert anonymous.status_code == 302 and anonymous.headers["location"] == "/masuk?next=/dinas"
    token = csrf_of((await client.get("/masuk")).text)
    await client.post("/masuk", data={"email": "orangtua@contoh.test", "password": PASSWORD, "_csrf": token})
    for path in ("/dinas", "/sekolah"):
        refused = await client.get(path)
        assert refused.status_code == 403 and "tidak berwenang" in refused.text


async def test_agency_pages_walk_the_cycle_to_a_vacancy_round(client, admin, parent) -> None:
    period = await open_period(admin)
    assert (await parent.post(f"/api/periods/{period['id']}/applications", json=registration())).status_code == 201
    token = await admin_browser(client)
    url = f"/dinas/periode/{period['id']}"
    for action in ("tutup", "seleksi", "umumkan", "daftar-ulang", "tutup-daftar-ulang", "kursi-kosong", "umumkan"):
        done = await client.post(f"{url}/aksi/{action}", data={"_csrf": token, "days": "3", "yakin": "1"})
        assert done.status_code == 302, (action, done.text)
    page = await client.get(url)
    assert "Diumumkan versi 2" in page.text and 'id="chart-schools"' in page.text
    asked = await client.post(f"{url}/aksi/seleksi-koreksi", data={"_csrf": token})  # the second look, then back
    assert asked.status_code == 200 and "Jalankan seleksi koreksi?" in asked.text and f'href="{url}"' in asked.text
    for days in ("abc", "1e3", "99999999999", "0"):  # refused with a message, never a 500 (security review L2)
        refused = await client.post(f"{url}/aksi/daftar-ulang", data={"_csrf": token, "days": days, "yakin": "1"})
        assert refused.status_code == 422 and "1 sampai 30 hari" in refused.text, days
    refused = await client.post(f"{url}/aksi/tutup", data={"_csrf": token, "yakin": "1"})
    assert refused.status_code == 409 and 'class="alert error"' in refused.text
    missed = await client.get(
        f"/periode/{period['id']}/hasil", params={"nomor": "2027-SMP-NOPE0001", "lahir": "2014-01-01"}
    )
    assert missed.status_code == 200 and "tidak cocok" in missed.text  # the answer to a miss, next to the field


async def test_the_school_page_shows_everyone_for_a_flag_it_does_not_offer(admin, parent, operator) -> None:
    period = await open_period(admin)
    created = await parent.post(f"/api/periods/{period['id']}/applications", json=registration())
    number = created.json()["registration_number"]
    school = await operator()
    for flag in ("", "outside_region", "KK_RECENT"):
        page = await school.get("/sekolah", params={"flag": flag})
        assert page.status_code == 200 and number in page.text, flag
        assert " selected>" not in page.text.split('id="f-flag"')[1].split("</select>")[0]  # "Semua" shown
    known = await school.get("/sekolah", params={"flag": "kk_recent"})
    assert known.status_code == 200 and 'value="kk_recent" selected' in known.text


async def test_the_wizard_offers_a_paths_categories_as_choices(client, admin, parent) -> None:
    """A category is chosen from the path's own, in words, not typed ("miskin" was typed, and refused)."""
    period = await open_period(admin, open_=False)
    sub_quotas = [{"name": "ketm", "share": 90}, {"name": "panti", "share": 10}]
    changed = await admin.patch(
        f"/api/periods/{period['id']}/rules", json={"paths": [{"name": "afirmasi", "sub_quotas": sub_quotas}]}
    )
    assert changed.status_code == 200, changed.text
    assert (await admin.post(f"/api/periods/{period['id']}/open")).status_code == 200
    token = csrf_of((await client.get("/masuk")).text)
    await client.post("/masuk", data={"email": "orangtua@contoh.test", "password": PASSWORD, "_csrf": token})
    page = (await client.get(f"/periode/{period['id']}/daftar")).text
    select = re.search(r'<select id="f-category" name="category">.*?</select>', page, re.S)[0]
    assert '<optgroup label="Afirmasi">' in select
    assert '<option value="ketm" >Keluarga ekonomi tidak mampu (KETM)</option>' in select
    assert '<option value="panti" >Anak panti asuhan</option>' in select


async def test_a_home_far_from_its_kelurahan_is_questioned_before_submitting(client, admin, parent, session) -> None:
    from sqlalchemy import text

    period = await open_period(admin)
    region = (await admin.get("/api/auth/me")).json()["region_id"]
    await session.execute(
        text(
            "INSERT INTO kelurahan (code, region_id, name, kecamatan, latitude, longitude)"
            " VALUES ('36.71.01.1001', :region, 'Sukasari', 'Tangerang', -6.1785, 106.6305)"
        ),
        {"region": region},
    )
    await session.commit()
    token = csrf_of((await client.get("/masuk")).text)
    await client.post("/masuk", data={"email": "orangtua@contoh.test", "password": PASSWORD, "_csrf": token})
    token = csrf_of((await client.get("/")).text)
    form = {k: str(v) for k, v in registration().items() if k not in ("choices", "documents")}
    form |= {"_csrf": token, "choice_1": "20670001"}
    url, htmx = f"/periode/{period['id']}/daftar/jarak", {"X-CSRF-Token": token, "HX-Request": "true"}
    near = await client.post(url, data=form, headers=htmx)
    assert near.status_code == 200 and "Jarak dihitung server" in near.text and "Titik rumah berjarak" not in near.text
    jakarta = await client.post(url, data=form | {"latitude": "-6.2000", "longitude": "106.8450"}, headers=htmx)
    assert re.search(r"Titik rumah berjarak 2\d,\d km dari Kelurahan Sukasari", jakarta.text), jakarta.text
