"""Browser tests: Playwright driving Debian's Chromium (headless) against a real server on 127.0.0.1.

The server runs in a thread on its own scratch database with a small demo region; screenshots go to results/.
`PPDB_CHROMIUM` names another Chromium binary. Without Chromium (or the playwright package) the tests are
skipped with a loud message, except in CI (`CI` set), where they must run.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from ppdb.identity import nik_for

CHROMIUM = os.environ.get("PPDB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
RESULTS = Path(__file__).resolve().parents[2] / "results" / "browser"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOW_TO = (
    "BROWSER TESTS SKIPPED: {why}. Enable them with `sudo apt-get install chromium` on Debian "
    "(`make test` does it when run as root), then run `make test` again."
)
_skipped: list[str] = []


def _unavailable() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"Chromium not found at {CHROMIUM}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (make install)"
    return None


def pytest_terminal_summary(terminalreporter) -> None:
    if _skipped:
        terminalreporter.write_sep("!", _skipped[0], red=True, bold=True)


@pytest.fixture(scope="session")
def chromium_available() -> None:
    if why := _unavailable():
        message = HOW_TO.format(why=why)
        if os.environ.get("CI"):
            pytest.fail(f"{message} (CI must run them)")
        _skipped.append(message)
        pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def site(chromium_available, server_url: str, tmp_path_factory) -> Iterator[dict]:
    """A served demo region: base URL, period id, the demo school operator's school, the database URL, and the
    folder the demo's messages are written to (no mail server: `ppdb.notifications.sender.Folder`)."""
    import uvicorn

    from ppdb import demo
    from ppdb.app import create_app
    from ppdb.config import load_settings
    from ppdb.db import migrate
    from tests.conftest import TEST_SECRET

    name = f"browser_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin_sql(server_url, f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        migrate.upgrade(url)
        asyncio.run(demo.load(url, applicants=120, schools=6, seed=11))
        school, period_id = asyncio.run(_operator_school(url))
        settings = load_settings(
            {},
            database_url=url,
            secret_key=TEST_SECRET,
            demo=True,
            provisional_interval=1,
            data_dir=str(data_dir := tmp_path_factory.mktemp("browser-data")),
            db_pool_size=4,
        )
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning", access_log=False)
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        try:
            yield {"base": base, "period_id": period_id, "school": school, "url": url, "outbox": data_dir / "outbox"}
        finally:
            server.should_exit = True
            thread.join(10)
    finally:
        asyncio.run(_admin_sql(server_url, f'DROP DATABASE "{name}" WITH (FORCE)'))


async def _admin_sql(server_url: str, statement: str) -> None:
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


async def _operator_school(url: str) -> tuple[dict, int]:
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import create_async_engine

    from ppdb.accounts.models import User
    from ppdb.demo import DEMO_OPERATOR
    from ppdb.regions.models import Period
    from ppdb.schools.models import School

    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    select(School.npsn, School.name, School.latitude, School.longitude, School.kelurahan_code)
                    .join(User, User.school_id == School.id)
                    .where(User.email == DEMO_OPERATOR[0])
                )
            ).one()
            period_id = await conn.scalar(select(Period.id).order_by(Period.id.desc()).limit(1))
        return dict(row._mapping), period_id
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def browser(site) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    RESULTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        p.selectors.set_test_id_attribute("data-test")
        yield browser
        browser.close()


@pytest.fixture
def shot():
    def save(page, name: str, full_page: bool = True) -> None:
        page.screenshot(path=str(RESULTS / f"{name}.png"), full_page=full_page)

    return save


def child(
    school: dict,
    serial: int,
    birth: date,
    *,
    name: str,
    sex: str = "P",
    north: float = 0.002,
    path: str = "domisili",
    documents: tuple[str, ...] = ("kk", "akta_kelahiran"),
) -> dict:
    """A registration of a child living `north` degrees north of `school`, choosing it; its NIK and KK end in
    `serial` (four digits, unique per test)."""
    return {
        "nik": nik_for("367101", birth, sex, serial),
        "name": name,
        "sex": sex,
        "birth_date": birth.isoformat(),
        "kk_number": f"367101010119{serial:04d}",
        "kk_issued_on": "2019-05-02",
        "address": f"Jl. Uji No. {serial % 100}, RT 001/RW 002",
        "kelurahan_code": school["kelurahan_code"],
        "latitude": school["latitude"] + north,
        "longitude": school["longitude"],
        "path": path,
        "choices": [school["npsn"]],
        "documents": list(documents),
    }


def sign_up_here(page, name: str, email: str, password: str) -> None:
    """On the sign-up page: the account made and signed in, on the parent's home."""
    from playwright.sync_api import expect

    page.get_by_label("Nama orang tua / wali").fill(name)
    page.get_by_label("E-mail").fill(email)
    page.locator("#f-password").fill(password)
    page.get_by_label("Ulangi kata sandi").fill(password)
    page.get_by_role("button", name="Buat akun").click()
    expect(page.get_by_text("Akun berhasil dibuat")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/orangtua\?pesan=akun-dibuat$"))


def fill_wizard(page, body: dict) -> None:
    """The registration wizard filled in as a parent types `body` (a `child`): every field, one choice."""
    page.get_by_label("NIK anak (16 angka)").fill(body["nik"])
    page.get_by_label("Perempuan" if body["sex"] == "P" else "Laki-laki").check()
    page.get_by_label("Tanggal lahir").fill(body["birth_date"])
    page.get_by_label("Nama lengkap anak").fill(body["name"])
    page.get_by_label("Nomor Kartu Keluarga (16 angka)").fill(body["kk_number"])
    page.get_by_label("Tanggal terbit KK").fill(body["kk_issued_on"])
    page.get_by_label("Alamat sesuai KK").fill(body["address"])
    page.get_by_label("Kelurahan / desa").select_option(body["kelurahan_code"])
    page.get_by_label("Lintang (latitude), mis. -6.1780").fill(f"{body['latitude']:.6f}")
    page.get_by_label("Bujur (longitude), mis. 106.6300").fill(f"{body['longitude']:.6f}")
    page.locator(f"input[name=path][value={body['path']}]").check()
    page.get_by_label("Pilihan 1").select_option(body["choices"][0])
    for kind in body["documents"]:
        page.locator(f"input[name=documents][value={kind}]").check()


def set_rule(url: str, period_id: int, name: str, value: object) -> None:
    """One rule of a served period set in its database, as the Dinas' rules page would before registration
    opens (here on the demo's open period). Runs in a thread: Playwright's own event loop runs in this one."""
    import json
    from concurrent.futures import ThreadPoolExecutor

    async def update() -> None:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    text(
                        "UPDATE periods SET rules = jsonb_set(rules, ARRAY[CAST(:name AS text)], CAST(:value AS jsonb)), "
                        "version = version + 1 WHERE id = :id"
                    ),
                    {"id": period_id, "name": name, "value": json.dumps(value)},
                )
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, update()).result()
