"""Real wilayah: Kota Tangerang's kelurahan from the open dataset, loaded idempotently, and checked on registration."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from ppdb.regions import wilayah
from tests.helpers import expect_error, open_period, registration, scratch_database
from tests.integration.selection.test_cli import ppdb


@pytest.fixture(autouse=True)
def dataset() -> None:
    if not (wilayah.DATA / "villages.csv").exists():
        message = f"the wilayah dataset is not installed ({wilayah.DATA}): run `make install` (npm idn-area-data)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def test_kota_tangerang_has_13_kecamatan_and_104_kelurahan():
    villages = wilayah.villages_of("36.71")
    assert len(villages) == 104 and len({v.kecamatan for v in villages}) == 13
    assert villages[0] == wilayah.Village("36.71.01.1001", "Sukarasa", "Tangerang")


async def test_loading_is_idempotent_and_registration_checks_the_code(admin, parent, session):
    period = await open_period(admin)
    assert await wilayah.load(session, "36.71") == 104
    assert await wilayah.load(session, "36.71") == 104
    rows = await session.scalar(text("SELECT count(*) FROM kelurahan WHERE code LIKE '36.71.%'"))
    assert rows == 104
    url = f"/api/periods/{period['id']}/applications"
    unknown = expect_error(
        await parent.post(url, json=registration(serial=1, kelurahan_code="36.71.01.1999")), 422, "kelurahan_unknown"
    )
    assert unknown["field"] == "kelurahan_code"
    assert (await parent.post(url, json=registration(serial=2))).status_code == 201  # 36.71.01.1001 Sukarasa
    # a child from outside the region is not checked against this region's list
    outside = registration(serial=3, kelurahan_code="36.03.01.1999", choices=["20670003"], path="prestasi")
    outside["documents"] = ["kk", "akta_kelahiran", "rapor"]
    assert (await parent.post(url, json=outside)).status_code == 201


async def test_the_cli_loads_a_region_and_refuses_an_unknown_one(server_url):
    async with scratch_database(server_url) as url:
        assert ppdb("db", "upgrade", url=url).returncode == 0
        made = ppdb(
            "users", "create-admin", "--region-code", "36.71", "--region-name", "Kota Tangerang",
            "--email", "admin@tangerang.test", "--password", "correct horse battery", url=url,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        loaded = ppdb("wilayah", "load", "36.71", url=url)
        assert loaded.returncode == 0 and "104 kelurahan/desa of 36.71 loaded" in loaded.stdout, loaded.stderr
        unknown = ppdb("wilayah", "load", "36.99", url=url)
        assert unknown.returncode == 1 and "region_not_found" in unknown.stderr
