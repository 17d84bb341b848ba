"""The school's applicant list for an operator: a page at a time, searchable, in the period it chose last, and
the period's schools in the order people count them (issue 24, "Lists that scale")."""

from __future__ import annotations

import re

import httpx

from ppdb.schools.service import name_order
from tests.conftest import PASSWORD
from tests.helpers import new_period, open_period, registration


async def test_the_list_pages_searches_and_remembers_the_period(transport, admin, operator, parent) -> None:
    period = await open_period(admin)
    await operator()  # operator1@sekolah.test of SMP Negeri 1 Uji, every registration's first choice
    for serial in range(1, 56):
        created = await parent.post(
            f"/api/periods/{period['id']}/applications", json=registration(serial, name=f"Anak Uji {serial:02d}")
        )
        assert created.status_code == 201, created.text
    await new_period(admin, level="sma")  # a newer period the school does not take part in
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as school:
        token = re.search(r'name="_csrf" value="([^"]+)"', (await school.get("/masuk")).text).group(1)
        done = await school.post(
            "/masuk", data={"email": "operator1@sekolah.test", "password": PASSWORD, "_csrf": token}
        )
        assert done.status_code == 302
        first = (await school.get("/sekolah")).text  # the period the school takes part in, not the newest
        assert "Menampilkan 1–50 dari 55 pendaftar." in first and first.count('href="/sekolah/pendaftar/') == 50
        following = re.search(r'<a href="([^"]+)">Berikutnya', first).group(1).replace("&amp;", "&")
        second = (await school.get(following)).text
        assert "Menampilkan 51–55 dari 55 pendaftar." in second and "Sebelumnya" in second
        past_the_end = (await school.get("/sekolah", params={"hal": 9})).text  # an old link: the last page
        assert "Menampilkan 51–55 dari 55 pendaftar." in past_the_end
        submitted = (await school.get("/sekolah", params={"status": "submitted", "jalur": "domisili", "hal": 2})).text
        assert "Menampilkan 51–55 dari 55 pendaftar." in submitted
        for other in ({"status": "verified"}, {"jalur": "afirmasi"}, {"status": "bukan-status"}):
            assert "Tidak ada pendaftar." in (await school.get("/sekolah", params=other)).text
        found = (await school.get("/sekolah", params={"cari": "uji 07"})).text
        assert "Menampilkan 1–1 dari 1 pendaftar." in found and "Anak Uji 07" in found
        number = re.search(r'href="/sekolah/pendaftar/([^"]+)"', found).group(1)
        by_number = (await school.get("/sekolah", params={"cari": number.lower()})).text
        assert "dari 1 pendaftar" in by_number and number in by_number
        assert "Tidak ada pendaftar yang cocok" in (await school.get("/sekolah", params={"cari": "%"})).text
        chosen = await school.get("/sekolah", params={"periode": period["id"]})
        assert "ppdb_sekolah_periode" in chosen.headers["set-cookie"]
        again = (await school.get("/sekolah")).text
        assert f'<option value="{period["id"]}" selected>' in again


def test_schools_are_in_the_order_people_count_them() -> None:
    names = ["SMP Negeri 10 Kota", "SMP Negeri 2 Kota", "SMP Negeri 1 Kota", "SMP IT Al-Azhar 3"]
    assert sorted(names, key=name_order) == [
        "SMP IT Al-Azhar 3",
        "SMP Negeri 1 Kota",
        "SMP Negeri 2 Kota",
        "SMP Negeri 10 Kota",
    ]
