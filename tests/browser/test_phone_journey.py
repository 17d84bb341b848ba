"""A parent on a 360 x 740 phone: three mistakes in the registration form, all shown at once and fixed in one
resubmit without attaching the scan again; then the status, and withdrawing with a second look (issue 24's
acceptance)."""

from __future__ import annotations

import re
from datetime import date

import httpx

from ppdb.identity import nik_for
from tests.browser.conftest import child, fill_wizard, sign_up_here

PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 1, "is_mobile": True, "has_touch": True}
PASSWORD = "Kata-sandi-ponsel-2027"
BIRTH = date(date.today().year - 12, 5, 20)


def test_a_parent_fixes_three_mistakes_in_one_resubmit_and_withdraws_with_a_second_look(site, browser, shot) -> None:
    from playwright.sync_api import expect

    base, period_id, school = site["base"], site["period_id"], site["school"]
    email = "ponsel.journey@contoh.id"
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.set_default_timeout(10000)
    page.goto(base)
    page.get_by_role("link", name="Buat akun").first.click()  # sign up on the phone
    sign_up_here(page, "Ibu Rina", email, PASSWORD)

    page.goto(f"{base}/periode/{period_id}/daftar")
    nik = nik_for("367101", BIRTH, "P", 9301)
    page.get_by_label("NIK anak (16 angka)").fill(f"{nik[:4]} {nik[4:8]} {nik[8:12]} {nik[12:]}")  # as on the card
    page.get_by_label("Perempuan").check()
    page.get_by_label("Tanggal lahir").fill(BIRTH.isoformat())
    # mistake 1: no name
    page.get_by_label("Nomor Kartu Keluarga (16 angka)").fill("3671010101199301")
    page.get_by_label("Tanggal terbit KK").fill("2019-05-02")
    page.get_by_label("Alamat sesuai KK").fill("Jl. Melati No. 3, RT 002/RW 004")
    page.get_by_label("Kelurahan / desa").select_option(school["kelurahan_code"])
    page.get_by_label("Lintang (latitude), mis. -6.1780").fill("enam koma satu")  # mistake 2
    page.get_by_label("Bujur (longitude), mis. 106.6300").fill(f"{school['longitude']:.6f}")
    # mistake 3: no path chosen
    page.get_by_label("Pilihan 1").select_option(school["npsn"])
    page.locator("input[name=documents][value=kk]").check()
    page.locator("input[name=documents][value=akta_kelahiran]").check()
    scan = {"name": "kk-rina.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%kk\n"}
    page.set_input_files("#f-file_kk", files=[scan])
    page.get_by_role("button", name="Kirim pendaftaran").click()

    for field in ("name", "latitude", "path"):  # all three at once
        expect(
            page.locator(f"#e-{field}, [id^=f-{field}] ~ .error, .has-error:has([name={field}]) .error").first
        ).to_be_visible()
    expect(page.locator("[aria-invalid=true]").first).to_be_focused()
    shot(page, "phone-01-three-mistakes")
    expect(page.locator("#held-kk")).to_contain_text("kk-rina.pdf")  # the scan is not sent again

    page.get_by_label("Nama lengkap anak").fill("Rina Lestari")
    page.get_by_label("Lintang (latitude), mis. -6.1780").fill(f"{school['latitude'] + 0.001:.6f}".replace(".", ","))
    page.locator("input[name=path][value=domisili]").check()
    page.get_by_role("button", name="Kirim pendaftaran").click()  # one resubmit
    expect(page.get_by_text("Pendaftaran terkirim")).to_be_visible()
    number = page.locator("#nomor").inner_text()
    expect(page.get_by_text("Terunggah").first).to_be_visible()  # the held scan, stored with the registration
    shot(page, "phone-02-status")

    page.get_by_role("button", name="Cabut pendaftaran").click()
    expect(page.get_by_role("heading", name="Cabut pendaftaran?")).to_be_visible()  # the second look
    page.get_by_role("button", name="Ya, cabut pendaftaran").click()
    expect(page).to_have_url(re.compile(rf"/pendaftaran/{number}\?pesan=dicabut$"))
    expect(page.get_by_role("status").first).to_contain_text("Pendaftaran telah dicabut")
    shot(page, "phone-03-withdrawn")
    context.close()


def test_use_my_location_fills_the_coordinates(site, browser) -> None:
    from playwright.sync_api import expect

    base, period_id, school = site["base"], site["period_id"], site["school"]
    email = "ponsel.lokasi@contoh.id"
    assert (
        httpx.post(f"{base}/api/auth/signup", json={"email": email, "password": PASSWORD, "name": "Ibu"}).status_code
        == 201
    )
    here = {"latitude": school["latitude"] + 0.002, "longitude": school["longitude"] - 0.001}
    context = browser.new_context(**PHONE, geolocation=here, permissions=["geolocation"])
    login = context.request.post(f"{base}/api/auth/login", data={"email": email, "password": PASSWORD})
    assert login.ok
    page = context.new_page()
    page.goto(f"{base}/periode/{period_id}/daftar")
    page.get_by_role("button", name="Gunakan lokasi saya").click()
    expect(page.get_by_label("Lintang (latitude), mis. -6.1780")).to_have_value(f"{here['latitude']:.6f}")
    expect(page.get_by_label("Bujur (longitude), mis. 106.6300")).to_have_value(f"{here['longitude']:.6f}")
    expect(page.locator("#map-note")).to_contain_text("Lokasi ponsel dipakai")
    context.close()


def test_the_map_goes_where_the_chosen_kelurahan_is(site, browser) -> None:
    """The map opens at the chosen kelurahan and follows a new choice (tiles served locally: CI is offline)."""
    import base64
    import math

    from playwright.sync_api import expect

    base, period_id = site["base"], site["period_id"]
    email = "ponsel.peta@contoh.id"
    assert httpx.post(
        f"{base}/api/auth/signup", json={"email": email, "password": PASSWORD, "name": "Pak Budi"}
    ).is_success
    context = browser.new_context(**PHONE)
    tiles: list[tuple[int, int, int]] = []
    blank = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
    )

    def tile(route) -> None:
        z, x, y = route.request.url.rsplit("/", 3)[1:]
        tiles.append((int(z), int(x), int(y.split(".")[0])))
        route.fulfill(body=blank, content_type="image/png")

    context.route("https://tile.openstreetmap.org/**", tile)
    page = context.new_page()
    page.set_default_timeout(10000)
    page.goto(f"{base}/masuk")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.goto(f"{base}/periode/{period_id}/daftar")

    def tile_of(code: str, zoom: int) -> tuple[int, int, int]:
        option = page.locator(f'#f-kelurahan_code option[value="{code}"]')
        lat, lon = float(option.get_attribute("data-lat")), float(option.get_attribute("data-lon"))
        n = 2**zoom
        y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
        return zoom, int((lon + 180) / 360 * n), int(y)

    codes = page.locator("#f-kelurahan_code option[data-lat]").evaluate_all("os => os.map(o => o.value)")
    first, other = codes[0], codes[-1]
    page.get_by_label("Kelurahan / desa").select_option(first)
    page.get_by_role("button", name="Tampilkan peta (±45 KB)").click()
    expect(page.locator("#map")).to_be_visible()
    page.wait_for_function("() => document.querySelectorAll('#map img.leaflet-tile-loaded').length > 0")
    assert tile_of(first, 14) in tiles  # opened where the kelurahan is
    page.get_by_label("Kelurahan / desa").select_option(other)
    for _ in range(50):  # tiles arrive as the map moves
        if tile_of(other, 15) in tiles:
            break
        page.wait_for_timeout(100)
    assert tile_of(other, 15) in tiles  # and moved with the new choice
    context.close()


def test_what_was_typed_survives_an_ended_session(site, browser) -> None:
    """The session ends while the form is open (the browser drops its cookie): the submit asks to sign in
    again, and the form comes back filled in but for the child's NIK and KK numbers; once registered, the draft
    is gone."""
    from playwright.sync_api import expect

    base, period_id, school = site["base"], site["period_id"], site["school"]
    email = "ponsel.sesi@contoh.id"
    assert httpx.post(
        f"{base}/api/auth/signup", json={"email": email, "password": PASSWORD, "name": "Ibu Sari"}
    ).is_success
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.set_default_timeout(10000)

    def sign_in() -> None:
        page.get_by_label("E-mail").fill(email)
        page.get_by_label("Kata sandi").fill(PASSWORD)
        page.get_by_role("button", name="Masuk").click()

    page.goto(f"{base}/masuk")
    sign_in()
    page.goto(f"{base}/periode/{period_id}/daftar")
    expect(page.locator("#draft-note")).to_be_hidden()
    body = child(school, 9302, BIRTH, name="Sari Wulandari", north=0.001, documents=("kk",))
    fill_wizard(page, body)

    context.clear_cookies(name="ppdb_session")  # the session's cookie expired with it
    page.get_by_role("button", name="Kirim pendaftaran").click()
    expect(page).to_have_url(re.compile(r"/masuk\?next=.*sesi=berakhir"))
    expect(page.get_by_role("status")).to_contain_text("Sesi Anda sudah berakhir")
    sign_in()
    expect(page).to_have_url(re.compile(rf"/periode/{period_id}/daftar$"))
    expect(page.locator("#draft-note")).to_be_visible()
    expect(page.get_by_label("NIK anak (16 angka)")).to_have_value("")  # the child's numbers are never kept
    expect(page.get_by_label("Nomor Kartu Keluarga (16 angka)")).to_have_value("")
    expect(page.get_by_label("Nama lengkap anak")).to_have_value("Sari Wulandari")
    expect(page.get_by_label("Kelurahan / desa")).to_have_value(school["kelurahan_code"])
    expect(page.locator("input[name=path][value=domisili]")).to_be_checked()
    expect(page.locator("input[name=documents][value=kk]")).to_be_checked()
    expect(page.locator("input[name=documents][value=akta_kelahiran]")).not_to_be_checked()
    page.locator("input[name=documents][value=akta_kelahiran]").check()
    page.get_by_label("NIK anak (16 angka)").fill(body["nik"])
    page.get_by_label("Nomor Kartu Keluarga (16 angka)").fill(body["kk_number"])
    assert "3671" not in page.evaluate("JSON.stringify(sessionStorage)")  # nor typed again
    page.get_by_role("button", name="Kirim pendaftaran").click()
    expect(page.get_by_text("Pendaftaran terkirim")).to_be_visible()
    assert page.evaluate("Object.keys(sessionStorage).filter(k => k.startsWith('draft:')).length") == 0
    page.goto(f"{base}/periode/{period_id}/daftar")
    expect(page.get_by_label("NIK anak (16 angka)")).to_have_value("")
    context.close()
