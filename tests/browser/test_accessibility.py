"""axe-core (the npm package, pinned in ppdb/web/package.json) on every kind of page, at 360 x 740 as a parent's
phone shows it: no critical and no serious violation of WCAG 2 A/AA (issue 24's acceptance), and no page wider
than the phone."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import httpx
import pytest

from ppdb.demo import DEMO_ADMIN, DEMO_OPERATOR
from tests.browser.conftest import child

AXE = Path(__file__).resolve().parents[2] / "ppdb" / "web" / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True, "bypass_csp": True}
PASSWORD = "Kata-sandi-aksesibel-2027"


def violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))  # injected by the test (bypass_csp): the site serves no such script
    found = page.evaluate(
        "async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']})).violations"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in found
        if v["impact"] in ("critical", "serious")
    ]


WITHDRAW = "(cabut pendaftaran: konfirmasi)"


def registered(base: str, pid: int, school: dict, email: str) -> str:
    """A registration of the parent's, through the API: its number."""
    birth = date(date.today().year - 12, 4, 2)
    with httpx.Client(base_url=base, timeout=30) as api:
        token = api.post("/api/auth/login", json={"email": email, "password": PASSWORD}).json()["token"]
        body = child(school, 9601, birth, name="Bagus Aksesibel", sex="L")
        created = api.post(f"/api/periods/{pid}/applications", json=body, headers={"Authorization": f"Bearer {token}"})
        assert created.status_code == 201, created.text
    return created.json()["registration_number"]


def sign_in(context, base: str, email: str, password: str) -> None:
    login = context.request.post(f"{base}/api/auth/login", data={"email": email, "password": password})
    assert login.ok, login.text()


@pytest.mark.skipif(not AXE.exists(), reason="axe-core is not installed (make install)")
def test_every_page_type_has_no_serious_accessibility_violation(site, browser) -> None:
    base, pid = site["base"], site["period_id"]
    email = f"aksesibel-{site['school']['npsn']}@contoh.test"
    signup = httpx.post(f"{base}/api/auth/signup", json={"email": email, "password": PASSWORD, "name": "Ibu Uji"})
    assert signup.status_code in (201, 409), signup.text
    number = registered(base, pid, site["school"], email)
    public = ["/", "/bantuan", "/masuk", "/masuk/pin", "/daftar-akun", "/lupa-sandi", "/pengaduan", "/pengaduan/lacak"]
    pages = {
        None: [*public, f"/periode/{pid}/sekolah", f"/periode/{pid}/peringkat", f"/periode/{pid}/hasil"],
        (email, PASSWORD): [
            "/orangtua",
            f"/periode/{pid}/daftar",
            f"/pendaftaran/{number}/ubah",
            f"/pendaftaran/{number}",
            WITHDRAW,  # the second look before withdrawing
        ],
        DEMO_OPERATOR: ["/sekolah", "/sekolah/daftar", "/sekolah/lulusan"],
        DEMO_ADMIN: ["/dinas", f"/dinas/periode/{pid}", f"/dinas/periode/{pid}/pengaduan"],
    }
    problems = {}
    for who, paths in pages.items():
        context = browser.new_context(**PHONE)
        if who is not None:
            sign_in(context, base, *who)
        page = context.new_page()
        for path in paths:
            if path == WITHDRAW:
                page.get_by_role("button", name="Cabut pendaftaran").click()
                page.get_by_role("button", name="Ya, cabut pendaftaran").wait_for()
            else:
                page.goto(base + path)
            if who == DEMO_OPERATOR and path == "/sekolah":  # and one applicant's verification screen
                found = violations(page)
                if found:
                    problems[path] = found
                number = re.search(r'href="/sekolah/pendaftar/([^"]+)"', page.content())
                if number:
                    path = f"/sekolah/pendaftar/{number.group(1)}"
                    page.goto(base + path)
            found = violations(page)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["viewport"]["width"]:  # wide tables scroll inside their box, never the page
                found.append({"id": "page-wider-than-phone", "impact": "serious", "nodes": [f"{width} px"]})
            if found:
                problems[path] = found
        context.close()
    assert not problems, json.dumps(problems, indent=1)
