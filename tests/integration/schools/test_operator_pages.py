"""The school operator's applicant list: its status and path filters (read by the verification service)."""

from __future__ import annotations

from tests.helpers import open_period, registration


async def test_the_applicant_list_filters_by_status_and_path(admin, parent, operator):
    period = await open_period(admin)
    number = (await parent.post(f"/api/periods/{period['id']}/applications", json=registration())).json()[
        "registration_number"
    ]
    school = await operator()
    for params, listed in (
        ({}, True),
        ({"status": "submitted"}, True),
        ({"status": "verified"}, False),
        ({"status": "no-such-status"}, False),
        ({"jalur": "domisili"}, True),
        ({"jalur": "afirmasi"}, False),
        ({"status": "submitted", "jalur": "domisili", "flag": "kk_recent"}, False),
        ({"status": "submitted", "jalur": "domisili", "flag": "no-such-flag"}, True),  # an unknown flag: everyone
    ):
        page = await school.get("/sekolah", params={"periode": period["id"], **params})
        assert page.status_code == 200, page.text
        assert (number in page.text) is listed, params
    await school.aclose()
