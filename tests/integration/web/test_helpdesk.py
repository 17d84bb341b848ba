"""Help for families: the region's helpdesk, entered by the Dinas, linked from every page and the proof."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.helpers import expect_error, open_period, registration
from tests.integration.web.test_agency_rules import form_of, shown_error
from tests.integration.web.test_pages import admin_browser


@pytest.fixture
async def browser(transport):
    """HTTPS, so the Secure session cookie is sent back."""
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        yield client


async def test_the_dinas_enters_its_helpdesk_and_families_find_it(admin, parent, client) -> None:
    region = (await admin.get("/api/auth/me")).json()["region_id"]
    url = f"/api/regions/{region}/helpdesk"
    empty = (await client.get(url)).json()
    assert empty["helpdesk"]["faq"] == [] and empty["general"]
    bad = await admin.put(url, json={"whatsapp": "0812-3456", "faq": []})
    assert expect_error(bad, 400, "invalid_request")["field"] == "whatsapp"
    expect_error(await admin.put(url, json={"fax": "123"}), 400, "unknown_field")
    desk = {
        "whatsapp": "6281234567890",
        "phone": "(021) 5554321",
        "hours": "Senin-Jumat 08.00-15.00",
        "faq": [{"question": "Kapan pengumuman?", "answer": "Tanggal 1 Juli pukul 10.00 WIB."}],
    }
    assert (await admin.put(url, json=desk)).status_code == 200
    assert (await parent.put(url, json=desk)).status_code == 403

    page = await client.get("/bantuan")
    assert "https://wa.me/6281234567890" in page.text and "Kapan pengumuman?" in page.text
    assert "NIK anak saya sudah didaftarkan orang lain" in page.text  # the general questions
    assert 'href="/bantuan"' in (await client.get("/")).text  # every page links to it
    period = await open_period(admin)
    number = (await parent.post(f"/api/periods/{period['id']}/applications", json=registration())).json()[
        "registration_number"
    ]
    proof = await parent.get(f"/pendaftaran/{number}/bukti.pdf")
    assert proof.status_code == 200 and proof.headers["content-type"] == "application/pdf"


async def test_the_agency_page_edits_the_helpdesk_with_errors_next_to_the_field(browser, admin) -> None:
    await admin_browser(browser)
    form = form_of((await browser.get("/dinas")).text, "/dinas/bantuan")
    wrong = await browser.post("/dinas/bantuan", data=form | {"whatsapp": "08123"})
    assert wrong.status_code == 400 and shown_error(wrong.text, "whatsapp")
    assert 'value="08123"' in wrong.text
    saved = await browser.post(
        "/dinas/bantuan",
        data=form
        | {
            "whatsapp": "6281234567890",
            "faq_0_question": "Di mana posko?",
            "faq_0_answer": "Di setiap SMP.\r\nBuka pukul 08.00.",
        },
        follow_redirects=True,
    )
    assert saved.status_code == 200 and "Helpdesk disimpan." in saved.text
    assert re.search(r'value="Di mana posko\?"', saved.text)
    assert "Di mana posko?" in (await browser.get("/bantuan")).text
