"""The synthetic demo region: deterministic, realistic, and loadable through the real services."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from ppdb import demo
from ppdb.applicants.models import Application, Choice
from ppdb.db import migrate
from ppdb.identity import nik_matches
from tests.helpers import scratch_database


def test_same_seed_same_region_different_seed_different_region():
    a, b = demo.generate(applicants=300, seed=7), demo.generate(applicants=300, seed=7)
    assert a.schools_csv() == b.schools_csv() and a.zones_csv() == b.zones_csv()
    assert a.applicants == b.applicants
    assert demo.generate(applicants=300, seed=8).applicants != a.applicants


def test_shape_of_the_city():
    region = demo.generate(applicants=2000)
    # Kota Tangerang's real 13 kecamatan and 104 kelurahan, with their Kemendagri codes and names
    assert len({k.kecamatan for k in region.kelurahan}) == 13 and len(region.kelurahan) == 104
    named = {k.code: (k.name, k.kecamatan) for k in region.kelurahan}
    assert named["36.71.01.1001"] == ("Sukarasa", "Tangerang")
    assert named["36.71.13.1008"][1] == "Larangan"
    assert len(region.schools) == 40
    for s in region.schools:
        assert demo.SOUTH - 0.05 < s.latitude < demo.NORTH + 0.05 and demo.WEST - 0.05 < s.longitude < demo.EAST + 0.05
    zoned = {code for _, code, _, _ in region.zones if code}
    assert zoned == {k.code for k in region.kelurahan}  # every kelurahan lies in some zone
    paths = Counter(a.path for a in region.applicants)
    assert paths["domisili"] > paths["afirmasi"] > paths["prestasi"] > paths["mutasi"] > 0
    assert len({a.nik for a in region.applicants}) == len(region.applicants)
    assert all(nik_matches(a.nik, a.birth_date, a.sex) for a in region.applicants)


async def test_demo_loads_through_the_services(session):
    region = demo.generate(applicants=150, schools=12, seed=3)
    period_id = await demo.populate(session, region)
    assert (
        await session.scalar(select(func.count()).select_from(Application).where(Application.period_id == period_id))
        == 150
    )
    choices = await session.scalar(select(func.count()).select_from(Choice))
    assert choices == sum(len(a.choices) for a in region.applicants)
    assert await session.scalar(select(func.min(Choice.distance_m))) > 0


async def test_load_is_idempotent(server_url):
    async with scratch_database(server_url) as url:
        migrate.upgrade(url)
        first = await demo.load(url, applicants=40, schools=6, seed=1)
        assert "40 applicants" in first
        assert "already loaded" in await demo.load(url, applicants=40, schools=6, seed=1)


async def test_bench_run_measures_a_database_run(server_url):
    """A smoke test of `ppdb bench run` at a tiny size: it runs, and repeated runs agree (no timing asserted)."""
    from ppdb.selection import bench_run

    async with scratch_database(server_url) as url:
        migrate.upgrade(url)
        figures = await bench_run.measure(url, applicants=120, schools=6, seed=2, repeat=2)
    first, second = figures["runs"]
    assert first["digest"] == second["digest"] and first["placed"] == second["placed"] > 0
    assert {"load", "compile", "solve", "write", "total"} <= set(first)
