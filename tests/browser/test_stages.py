"""Stages in Chromium: the public home page shows the admission's stages as a dated timeline, and a parent who
was not placed in tahap 1 registers again in tahap 2 and follows that registration, marked with its stage."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from ppdb.demo import DEMO_ADMIN
from tests.browser.conftest import child, set_rule
from tests.browser.test_journeys import MOBILE, login

pytestmark = pytest.mark.usefixtures("site")
PASSWORD = "keluarga-dua-tahap-2027"
STAGES = [
    {"name": "Tahap 1", "paths": ["domisili", "afirmasi", "mutasi"]},
    {"name": "Tahap 2", "paths": ["domisili", "prestasi"]},
]


def _bearer(api: httpx.Client, email: str, password: str) -> dict[str, str]:
    for _ in range(20):  # a login may be shed (503) while the server hashes the sign-up's password
        answer = api.post("/api/auth/login", json={"email": email, "password": password})
        if answer.status_code != 503:
            break
        time.sleep(0.5)
    assert answer.status_code == 200, answer.text
    api.cookies.clear()  # bearer tokens only: a cookie-authenticated write would need the CSRF token
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def test_the_timeline_and_a_parents_registration_in_the_second_stage(site, browser, shot) -> None:
    from playwright.sync_api import expect

    base, pid, school = site["base"], site["period_id"], site["school"]
    set_rule(site["url"], pid, "stages", STAGES)  # as the Dinas set them before registration opened
    birth = date(date.today().year - 12, 4, 5)
    dewi = child(school, 9401, birth, name="Dewi Lestari", north=0.02)  # far: not placed in tahap 1
    with httpx.Client(base_url=base, timeout=30) as api:
        account = {"email": "dua.tahap@contoh.id", "password": PASSWORD, "name": "Ibu Dewi"}
        assert api.post("/api/auth/signup", json=account).status_code == 201
        parent = _bearer(api, "dua.tahap@contoh.id", PASSWORD)
        admin = _bearer(api, *DEMO_ADMIN)
        refused = api.post(f"/api/periods/{pid}/applications", json=dewi | {"path": "prestasi"}, headers=parent)
        assert refused.json()["code"] == "path_not_in_stage"
        first = api.post(f"/api/periods/{pid}/applications", json=dewi, headers=parent)
        assert first.status_code == 201, first.text
        for step, body in (("close", None), ("selection-runs", None), ("publications", {})):
            done = api.post(f"/api/periods/{pid}/{step}", json=body, headers=admin)
            assert done.status_code in (200, 201), done.text
        closes = {"closes_at": (datetime.now(UTC) + timedelta(days=1)).isoformat()}
        assert api.post(f"/api/periods/{pid}/reregistration/open", json=closes, headers=admin).status_code == 204
        number = first.json()["registration_number"]
        api.post(f"/api/applications/{number}/reregistration", json={"decision": "declined"}, headers=parent)
        assert api.post(f"/api/periods/{pid}/reregistration/close", headers=admin).status_code == 200
        now = datetime.now(UTC)
        window = {
            "registration_opens_at": (now - timedelta(hours=1)).isoformat(),
            "registration_closes_at": (now + timedelta(days=2)).isoformat(),
        }
        second = api.post(f"/api/periods/{pid}/next-stage", json=window, headers=admin)
        assert second.status_code == 201, second.text
        sid = second.json()["id"]
        assert api.post(f"/api/periods/{sid}/open", headers=admin).status_code == 200
        again = api.post(f"/api/periods/{sid}/applications", json=dewi, headers=parent)
        assert again.status_code == 201, again.text
        number_2 = again.json()["registration_number"]

    page = browser.new_context(**MOBILE).new_page()
    page.set_default_timeout(10000)
    page.goto(base + "/")
    timeline = page.locator("ol.timeline").first
    expect(timeline).to_contain_text("Tahap 1")
    expect(timeline).to_contain_text("Tahap 2")
    expect(page.locator("li.current", has_text="Tahap 2")).to_be_visible()  # the open stage's card
    shot(page, "40-tahap-beranda")
    login(page, base, "dua.tahap@contoh.id", PASSWORD)
    expect(page).to_have_url(re.compile(r"/orangtua$"))
    expect(page.get_by_text(number_2)).to_be_visible()
    page.get_by_text(number_2).click()
    expect(page.locator("#nomor")).to_have_text(number_2)
    expect(page.get_by_text("Tahap 2").first).to_be_visible()
    shot(page, "41-tahap-status")
    page.context.close()
