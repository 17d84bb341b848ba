"""The rule compiler: keys in the right order and direction, sub-quota programs, transfers, dropped choices."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import msgspec
import pytest

from ppdb.regions.rules import (
    PRESETS,
    Level,
    ProgramRequirement,
    ProgramRules,
    RuleViolation,
    SubQuota,
    check_rules,
    rules_from_preset,
)
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


def with_path(rules, name: str, **changes):
    return msgspec.structs.replace(
        rules, paths=[msgspec.structs.replace(p, **changes) if p.name == name else p for p in rules.paths]
    )


def zoned(subs: list[SubQuota]):
    return with_path(RULES, "domisili", sub_quotas=subs)


def tiered(aid: str, *choices: tuple[str, int | None], kelurahan: str | None = None) -> ApplicationFacts:
    """An applicant on domisili whose choices lie in the given zone tier of each school (None: outside)."""
    picked = [ChoiceFacts(i + 1, npsn, 500.0, tier is not None, tier) for i, (npsn, tier) in enumerate(choices)]
    return dataclasses.replace(app(aid), choices=picked, kelurahan_code=kelurahan)


def test_a_zoned_sub_quota_follows_each_choice_not_the_application():
    rules = zoned(
        [SubQuota(name="utama", share=80, zone_tiers=[1]), SubQuota(name="sebaran", share=20, zone_tiers=[2])]
    )
    child = tiered("A1", ("20670001", 1), ("20670002", 2), ("20670003", None))
    compiled = compile_period(rules, [SchoolSeats(n, 100) for n in ("20670001", "20670002", "20670003")], [child])
    assert [c.program for c in compiled.instance.applicants[0].choices] == [
        "20670001:domisili/utama",
        "20670002:domisili/sebaran",
    ]
    assert compiled.dropped == {("A1", 3): "outside_zone"}
    seats = {p.id: p.capacity for p in compiled.instance.programs}
    assert seats["20670001:domisili/utama"] == 32 and seats["20670001:domisili/sebaran"] == 8  # 40 % of 100


def test_a_choice_in_no_sub_quota_tier_is_dropped_with_its_own_reason():
    rules = zoned([SubQuota(name="utama", share=100, zone_tiers=[1])])
    compiled = compile_period(rules, [SchoolSeats("20670001", 100)], [tiered("A1", ("20670001", 3))])
    assert compiled.dropped == {("A1", 1): "no_sub_quota"}


def test_a_per_kelurahan_sub_quota_splits_its_seats_equally_and_places_each_child_in_their_own():
    kelurahan = ("35.78.09.1001", "35.78.09.1002", "35.78.09.1003", "35.78.09.1004")
    rules = zoned(
        [
            SubQuota(name="domisili1", share=50, zone_tiers=[1]),
            SubQuota(name="domisili2", share=50, zone_tiers=[2], per_kelurahan=True),
        ]
    )
    school = SchoolSeats("20670001", 100, {1: ("35.78.09.1000",), 2: kelurahan})
    children = [tiered(f"A{i}", ("20670001", 2), kelurahan=kelurahan[i % 4]) for i in range(12)]
    compiled = compile_period(rules, [school], children)
    seats = {p.id: p.capacity for p in compiled.instance.programs if "domisili2" in p.id}
    assert seats == {f"20670001:domisili/domisili2-{code}": 5 for code in kelurahan}  # 20 seats, 4 × 5
    assert {c.choices[0].program for c in compiled.instance.applicants} == set(seats)
    result = engine.solve(compiled.instance)
    assert sum(p is not None for p in result.assignments.values()) == 12  # 3 per kelurahan, 5 seats each


def test_a_capped_sub_quota_gives_its_empty_seats_to_the_one_it_names():
    subs = [
        SubQuota(name="ketm", share=80),
        SubQuota(name="panti", share=10, unused_to="ketm"),
        SubQuota(name="ats", share=10, unused_to="ketm"),
    ]
    rules = with_path(RULES, "afirmasi", sub_quotas=subs)
    ketm = [app(f"K{i}", "afirmasi", category="ketm", choices=[("20670001", 100.0 + i, False)]) for i in range(20)]
    compiled = compile_period(rules, [SchoolSeats("20670001", 100)], ketm)
    assert {(t.from_, t.to) for t in compiled.instance.transfers} >= {
        ("afirmasi/panti", "afirmasi/ketm"),
        ("afirmasi/ats", "afirmasi/ketm"),
    }
    result = engine.solve(compiled.instance)
    # 20 afirmasi seats: 16 KETM, 2 panti, 2 ATS; nobody in panti or ATS, so all 20 KETM children get in
    assert sum(p == "20670001:afirmasi/ketm" for p in result.assignments.values()) == 20


def test_seats_passed_along_a_chain_reach_the_waiting_applicants_before_moving_on():
    """mutasi → prestasi → domisili: mutasi's empty seats are for prestasi's waiting children first (the
    engine moves seats in list order within a round, so the compiler lists the transfers out of a
    program before those into it)."""
    prestasi = [app(f"P{i}", "prestasi", score=50.0 + i) for i in range(40)]
    compiled = compile_period(RULES, [SchoolSeats("20670001", 100)], prestasi)
    result = engine.solve(compiled.instance)
    outcome = result.programs["20670001:prestasi"]
    assert (outcome.capacity, outcome.final_capacity, outcome.filled) == (35, 40, 40)  # + mutasi's 5


def test_those_not_placed_in_reguler_are_ranked_again_in_sebaran_of_their_own_kelurahan():
    """Jatim / Jateng: domisili reguler for the whole zone; who misses it competes again, at the same school,
    for the sebaran seats of their own kelurahan, before their next choice."""
    kelurahan = ("35.78.09.1001", "35.78.09.1002")
    rules = zoned(
        [
            SubQuota(name="reguler", share=50, zone_tiers=[1], fallback="sebaran"),
            SubQuota(name="sebaran", share=50, per_kelurahan=True),
        ]
    )
    rules = msgspec.structs.replace(rules, transfers=[])  # no seats from the other paths: they stay as apportioned
    school = SchoolSeats("20670001", 20, {1: kelurahan})  # domisili 8: reguler 4, sebaran 2 per kelurahan
    near = [tiered(f"N{i}", ("20670001", 1), ("20670002", 1), kelurahan=kelurahan[0]) for i in range(6)]
    far = [tiered(f"F{i}", ("20670001", 1), ("20670002", 1), kelurahan=kelurahan[1]) for i in range(2)]
    for i, child in enumerate([*near, *far]):  # the nearer, the earlier in the list
        child.choices[0] = dataclasses.replace(child.choices[0], distance_m=100.0 * (i + 1))
    compiled = compile_period(rules, [school, SchoolSeats("20670002", 100)], [*near, *far])
    seats = {p.id: p.capacity for p in compiled.instance.programs if p.school == "20670001"}
    assert seats["20670001:domisili/reguler"] == 4
    assert seats["20670001:domisili/sebaran-35.78.09.1001"] == seats["20670001:domisili/sebaran-35.78.09.1002"] == 2
    first = compiled.instance.applicants[4]  # N4: fifth nearest, misses reguler
    assert [c.program for c in first.choices] == [
        "20670001:domisili/reguler",
        "20670001:domisili/sebaran-35.78.09.1001",
        "20670002:domisili/reguler",
        "20670002:domisili/sebaran",  # B lists no kelurahan: one sebaran for all
    ]
    assert compiled.steps == {(child.id, rank): 2 for child in [*near, *far] for rank in (1, 2)}
    placed = engine.solve(compiled.instance).assignments
    assert [placed[f"N{i}"] for i in range(6)] == ["20670001:domisili/reguler"] * 4 + [
        "20670001:domisili/sebaran-35.78.09.1001"
    ] * 2
    # the far kelurahan's two children are further than every near child, but have their own sebaran seats
    assert [placed[f"F{i}"] for i in range(2)] == ["20670001:domisili/sebaran-35.78.09.1002"] * 2


def test_a_fallback_needs_a_sub_quota_of_the_path_and_no_cycle():
    def refused(subs):
        with pytest.raises(RuleViolation) as caught:
            check_rules(zoned(subs), PRESETS["permendikdasmen-3-2025", Level.SMP])
        return caught.value.code, caught.value.field

    lost = [SubQuota(name="reguler", share=100, zone_tiers=[1], fallback="sebaran")]
    assert refused(lost) == ("transfer_invalid", "paths.domisili.sub_quotas.fallback")
    loop = [
        SubQuota(name="reguler", share=50, zone_tiers=[1], fallback="sebaran"),
        SubQuota(name="sebaran", share=50, zone_tiers=[2], fallback="reguler"),
    ]
    assert refused(loop) == ("transfer_cycle", "paths.domisili.sub_quotas.fallback")
    orphan = [SubQuota(name="reguler", share=50, zone_tiers=[1]), SubQuota(name="sebaran", share=50)]
    assert refused(orphan)[0] == "sub_quota_basis_mixed"


SMK = msgspec.structs.replace(
    rules_from_preset(PRESETS["permendikdasmen-3-2025", Level.SMK], "2027/2028"),
    programs=ProgramRules(
        requirements=[ProgramRequirement(name="tidak_buta_warna", title="Tidak buta warna", document="kk_exception")]
    ),
)


def test_each_smk_program_splits_its_own_seats_and_passes_them_only_within_itself():
    school = SchoolSeats("20690001", 30, programs=(("AKL", 10), ("TKJ", 20)))
    pick = dataclasses.replace(app("A1", "domisili").choices[0], npsn="20690001", program="TKJ")
    compiled = compile_period(SMK, [school], [dataclasses.replace(app("A1", "domisili"), choices=[pick])])
    seats = {p.id: p.capacity for p in compiled.instance.programs}
    assert seats["20690001:domisili@TKJ"] == 2 and seats["20690001:prestasi@TKJ"] == 14
    assert sum(v for k, v in seats.items() if k.endswith("@AKL")) == 10
    assert "20690001:domisili" not in seats  # the school's seats are its programs'
    assert all(t.from_.endswith("@TKJ") == t.to.endswith("@TKJ") for t in compiled.instance.transfers)
    assert engine.solve(compiled.instance).assignments["A1"] == "20690001:domisili@TKJ"


def test_a_program_choice_is_dropped_on_a_finding_or_a_rejected_document_of_its_requirement():
    school = SchoolSeats("20690001", 30, programs=(("AKL", 10), ("TKJ", 20)))
    base = app("A1", "domisili").choices[0]
    tkj = dataclasses.replace(base, npsn="20690001", program="TKJ", requirements=("tidak_buta_warna",))
    akl = dataclasses.replace(base, rank=2, npsn="20690001", program="AKL")
    found = dataclasses.replace(app("A1"), choices=[dataclasses.replace(tkj, unmet=True), akl])
    rejected = dataclasses.replace(
        app("A2"), choices=[tkj, akl], rejected_documents=("kk_exception",), declared_documents=("kk_exception",)
    )
    checked = dataclasses.replace(app("A3"), choices=[tkj, akl], declared_documents=("kk_exception",))
    compiled = compile_period(SMK, [school], [found, rejected, checked])
    assert compiled.dropped == {("A1", 1): "program_requirement", ("A2", 1): "program_requirement"}
    assert [c.program for c in compiled.instance.applicants[2].choices] == [
        "20690001:domisili@TKJ",
        "20690001:domisili@AKL",
    ]
