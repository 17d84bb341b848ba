"""The rule compiler: keys in the right order and direction, sub-quota programs, transfers, dropped choices."""

from __future__ import annotations

from datetime import UTC, date, datetime

import msgspec

from ppdb.regions.rules import PRESETS, Level, SubQuota, rules_from_preset
from ppdb.selection import engine
from ppdb.selection.compiler import (
    ApplicationFacts,
    ChoiceFacts,
    SchoolSeats,
    compile_period,
    lottery_number,
)

RULES = rules_from_preset(PRESETS["permendikdasmen-3-2025", Level.SMP], "2027/2028")
WHEN = datetime(2027, 6, 1, tzinfo=UTC)


def app(
    aid: str,
    path: str = "domisili",
    *,
    birth: date = date(2014, 7, 1),
    score: float | None = 80.0,
    choices: list[tuple[str, float, bool]] = (("20670001", 500.0, True),),
    category: str | None = None,
):
    return ApplicationFacts(
        aid,
        f"2027-SMP-{aid}",
        f"nik-{aid}",
        path,
        category,
        birth,
        score,
        WHEN,
        [ChoiceFacts(i + 1, npsn, d, z, 1 if z else None) for i, (npsn, d, z) in enumerate(choices)],
    )


def test_keys_follow_the_path_chain_smaller_is_better():
    compiled = compile_period(RULES, [SchoolSeats("20670001", 100)], [app("A1"), app("A2", "prestasi", score=91.5)])
    by_id = {a.id: a.choices[0] for a in compiled.instance.applicants}
    lottery = lottery_number(RULES.lottery_seed, "nik-A1")
    assert by_id["A1"].program == "20670001:domisili"
    assert by_id["A1"].key == [500.0, -(date(2027, 7, 1) - date(2014, 7, 1)).days, lottery]
    assert by_id["A2"].key[0] == -91.5  # higher score first
    assert compiled.keys["20670001:prestasi"] == ["score", "age", "lottery"]


def test_programs_carry_apportioned_seats_and_every_school_gets_the_transfers():
    compiled = compile_period(RULES, [SchoolSeats("20670001", 33), SchoolSeats("20670002", 0)], [])
    seats = {p.id: p.capacity for p in compiled.instance.programs}
    assert (
        seats["20670001:domisili"] + seats["20670001:afirmasi"] + seats["20670001:mutasi"] + seats["20670001:prestasi"]
        == 33
    )
    assert {(t.school, t.from_, t.to) for t in compiled.instance.transfers} >= {
        ("20670001", "afirmasi", "domisili"),
        ("20670002", "mutasi", "prestasi"),
    }
    engine.validate(compiled.instance)


def test_choices_outside_the_zone_or_the_period_are_dropped_with_a_reason():
    pool = [app("A1", choices=[("20670001", 100.0, False), ("99999999", 50.0, True), ("20670002", 900.0, True)])]
    compiled = compile_period(RULES, [SchoolSeats("20670001", 10), SchoolSeats("20670002", 10)], pool)
    assert compiled.dropped == {("A1", 1): "outside_zone", ("A1", 2): "school_not_in_period"}
    assert [c.program for c in compiled.instance.applicants[0].choices] == ["20670002:domisili"]
    afirmasi = compile_period(
        RULES, [SchoolSeats("20670001", 10)], [app("A2", "afirmasi", choices=[("20670001", 100.0, False)])]
    )
    assert afirmasi.dropped == {}  # afirmasi does not require the zone


def test_sub_quotas_become_programs_with_their_own_seats_and_transfers():
    afirmasi = RULES.path("afirmasi")
    split = msgspec.structs.replace(
        afirmasi, sub_quotas=[SubQuota(name="ketm", share=75), SubQuota(name="disabilitas", share=25)]
    )
    rules = msgspec.structs.replace(RULES, paths=[split if p.name == "afirmasi" else p for p in RULES.paths])
    compiled = compile_period(rules, [SchoolSeats("20670001", 100)], [app("A1", "afirmasi", category="disabilitas")])
    seats = {p.id: p.capacity for p in compiled.instance.programs}
    assert seats["20670001:afirmasi/ketm"] == 15 and seats["20670001:afirmasi/disabilitas"] == 5
    assert compiled.instance.applicants[0].choices[0].program == "20670001:afirmasi/disabilitas"
    sources = {t.from_ for t in compiled.instance.transfers if t.to == "domisili"}
    assert sources == {"afirmasi/ketm", "afirmasi/disabilitas", "prestasi"}
    result = engine.solve(compiled.instance)
    assert result.assignments["A1"] == "20670001:afirmasi/disabilitas"


def test_compilation_is_deterministic_whatever_the_input_order():
    pool = [app(f"A{i}", choices=[("20670001", 100.0 + i, True), ("20670002", 50.0 * i, True)]) for i in range(30)]
    schools = [SchoolSeats("20670001", 8), SchoolSeats("20670002", 8)]
    first = engine.solve(compile_period(RULES, schools, pool).instance).digest
    assert engine.solve(compile_period(RULES, schools[::-1], pool[::-1]).instance).digest == first
