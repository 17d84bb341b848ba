"""Whether a child is registered cannot be looked up NIK by NIK (security review M1): an account told a NIK is
registered elsewhere is refused after a few such answers a day; a family retrying its own is not counted."""

from __future__ import annotations

from ppdb.applicants import service
from tests.conftest import sign_up
from tests.helpers import expect_error, open_period, registration


async def test_an_account_asking_about_many_registered_niks_is_refused_for_a_day(admin, parent, transport, monkeypatch):
    monkeypatch.setattr(service, "TAKEN_MAX", 3)
    period = await open_period(admin)
    url = f"/api/periods/{period['id']}/applications"
    for serial in range(1, 6):
        assert (await parent.post(url, json=registration(serial))).status_code == 201
    for _ in range(2):  # the family retrying its own registration: told so, never throttled
        expect_error(await parent.post(url, json=registration(1)), 409, "application_exists")
    prober = await sign_up(transport, "pencari.nik@contoh.test")
    for serial in range(1, 4):
        expect_error(await prober.post(url, json=registration(serial)), 409, "nik_registered_elsewhere")
    throttled = expect_error(await prober.post(url, json=registration(4)), 429, "nik_checks_throttled")
    assert "besok" in throttled["message"]
    assert (await parent.post(url, json=registration(6))).status_code == 201  # others are not affected
