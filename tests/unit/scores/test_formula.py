"""Score formulas of the juknis, with numbers worked by hand."""

from __future__ import annotations

import json
from decimal import Decimal

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ppdb.regions.juknis import templates
from ppdb.scores.formula import (
    RAPOR_ONLY,
    Certificate,
    Component,
    ScoreRule,
    Sources,
    compute,
    grade,
    tie_breaks,
)
from tests.helpers import SUBJECTS

SEMESTERS = ("1", "2", "3", "4", "5")


def rapor(grades: dict[str, list[str]]) -> dict[str, dict[str, float]]:
    return {subject: dict(zip(SEMESTERS, map(float, values), strict=True)) for subject, values in grades.items()}


def template_rule(template: str, path: str) -> ScoreRule:
    rule = next(p for p in templates()[template].rules.paths if p.name == path).score  # type: ignore[union-attr]
    assert isinstance(rule, ScoreRule)
    return rule


def test_jabar_half_rapor_half_standardized_test():
    # Jabar 2025 prestasi akademik: 50 % rapor average (semesters 1-5) + 50 % tes terstandar.
    rule = template_rule("jabar-2025-sma", "prestasi")
    grades = rapor({"matematika": ["80", "82", "84", "86", "88"], "ipa": ["90", "90", "90", "90", "90"]})
    # rapor: (80+82+84+86+88 + 5×90) / 10 = (420 + 450) / 10 = 87.0; test 75.5
    # total: 0.5 × 87.0 + 0.5 × 75.5 = 43.5 + 37.75 = 81.25
    score = compute(rule, Sources(rapor=grades, tests={"tes_terstandar": Decimal("75.5")}))
    assert [p.value for p in score.parts] == [Decimal("87"), Decimal("75.5")]
    assert score.total == Decimal("81.25")


def test_jatim_sixty_percent_seven_subjects_and_forty_percent_school_index():
    rule = template_rule("jatim-2025-sma", "domisili")
    subjects = list(SUBJECTS)  # the template's seven, in its order
    assert rule.components[0].subjects == subjects and [c.weight for c in rule.components] == [60, 40]
    # Six subjects at 85 in every semester, matematika 80, 82, 84, 86, 88 (its average 84):
    # rapor = (6 × 5 × 85 + 420) / 35 = (2550 + 420) / 35 = 2970 / 35 = 84.857142…
    grades = rapor(
        {s: ["85"] * 5 for s in subjects if s != "matematika"} | {"matematika": ["80", "82", "84", "86", "88"]}
    )
    grades["seni_budaya"] = {"1": 10.0}  # a subject outside the seven does not count
    # total: 0.6 × 84.857142… + 0.4 × 78.50 = 50.914285… + 31.40 = 82.314285… → 82.31
    score = compute(rule, Sources(rapor=grades, school_index=Decimal("78.50")))
    assert score.total == Decimal("82.31")
    assert round(score.parts[0].value, 4) == Decimal("84.8571")  # type: ignore[arg-type]
    assert score.parts[1].points == Decimal("31.4")
    # the prestasi path uses the same nilai akhir
    assert template_rule("jatim-2025-sma", "prestasi") == rule


def test_jateng_rapor_of_every_subject_entered_over_semesters_one_to_five():
    rule = template_rule("jateng-2025-sma", "domisili")
    nine = [f"mapel_{i}" for i in range(1, 10)]
    # eight subjects at 80, one at 89: (8 × 5 × 80 + 5 × 89) / 45 = (3200 + 445) / 45 = 81.0
    grades = rapor({s: ["80"] * 5 for s in nine[:8]} | {nine[8]: ["89"] * 5})
    grades["mapel_1"]["6"] = 10.0  # semester 6 is not counted
    assert compute(rule, Sources(rapor=grades)).total == Decimal("81.00")


def test_the_national_default_is_the_rapor_average_of_five_semesters():
    grades = rapor({"matematika": ["70", "71", "72", "73", "74"]})  # 360 / 5 = 72
    assert compute(RAPOR_ONLY, Sources(rapor=grades)).total == Decimal("72.00")


def test_rounding_is_half_up_to_the_rules_decimals():
    rule = ScoreRule(
        components=[
            Component(name="rapor", source="rapor", weight=50),
            Component(name="tes", source="test", weight=50),
        ],
        decimals=1,
    )
    # 0.5 × 80.25 + 0.5 × 80.00 = 80.125 → 80.1 (one decimal, half up from .125 is .1)
    assert compute(rule, Sources(rapor={"m": {"1": 80.25}}, tests={"tes": Decimal("80")})).total == Decimal("80.1")
    rule2 = msgspec.structs.replace(rule, decimals=2)
    assert compute(rule2, Sources(rapor={"m": {"1": 80.25}}, tests={"tes": Decimal("80")})).total == Decimal("80.13")


def test_a_missing_value_leaves_no_score_and_says_what_is_missing():
    rule = template_rule("jatim-2025-sma", "domisili")
    score = compute(rule, Sources(rapor={"matematika": {"1": 90.0}}))
    assert score.total is None
    assert "rapor pendidikan agama semester 1" in score.missing
    assert "indeks sekolah asal" in score.missing
    assert compute(RAPOR_ONLY, Sources()).missing == ("rapor",)


@pytest.mark.parametrize("raw", ["100.01", "-1", "85.555", "NaN", "Infinity", "abc", ""])
def test_a_grade_outside_the_scale_is_refused(raw):
    with pytest.raises(ValueError):
        grade(raw)


def test_a_grade_may_use_a_decimal_comma():
    assert grade("85,5") == Decimal("85.5")


def test_every_template_score_rule_is_json_that_round_trips():
    for template in templates().values():
        for path in template.rules.paths or []:
            if path.score:
                assert msgspec.json.decode(msgspec.json.encode(path.score), type=ScoreRule) == path.score
                json.dumps(msgspec.to_builtins(path.score))


cents = st.integers(min_value=0, max_value=10_000).map(lambda c: Decimal(c) / 100)


@given(
    grades=st.lists(cents, min_size=1, max_size=10),
    test=cents,
    weight=st.integers(min_value=1, max_value=99),
    bump=st.integers(min_value=0, max_value=9),
)
def test_a_weighted_score_lies_between_its_parts_and_a_better_grade_never_lowers_it(grades, test, weight, bump):
    rule = ScoreRule(
        components=[
            Component(name="rapor", source="rapor", weight=weight),
            Component(name="tes", source="test", weight=100 - weight),
        ],
        decimals=4,
    )
    entered = {"m": {str(i + 1): float(g) for i, g in enumerate(grades)}}
    score = compute(rule, Sources(rapor=entered, tests={"tes": test}))
    average = sum(grades) / len(grades)
    assert score.total is not None
    assert min(average, test) - Decimal("0.0001") <= score.total <= max(average, test) + Decimal("0.0001")
    i = bump % len(grades)
    better = {"m": dict(entered["m"]) | {str(i + 1): min(100.0, float(grades[i]) + 1)}}
    assert compute(rule, Sources(rapor=better, tests={"tes": test})).total >= score.total  # type: ignore[operator]


def test_tie_breaks_are_each_component_and_each_subjects_average():
    rule = template_rule("jatim-2025-sma", "prestasi")
    grades = rapor({"matematika": ["80", "82", "84", "86", "88"], "ipa": ["90"] * 5})
    parts = tie_breaks(rule, Sources(rapor=grades, school_index=Decimal("78.5")))
    assert parts["rapor:matematika"] == Decimal("84") and parts["rapor:ipa"] == Decimal("90")
    assert parts["score:indeks_sekolah"] == Decimal("78.5")
    assert "score:rapor" not in parts  # five of the seven subjects are missing: no rapor component yet


@pytest.mark.parametrize("raw", ["0e999999", "0e-20000", "1E1"])
def test_a_grade_in_exponent_notation_is_refused(raw):
    with pytest.raises(ValueError):
        grade(raw)


def test_jatim_certificate_points_by_level_and_rank():
    # Jatim 2023, juara 1 perorangan: 16 kabupaten/kota, 32 provinsi, 64 nasional, 128 internasional.
    rule = template_rule("jatim-2025-sma", "prestasi_lomba")
    table = rule.components[0].points
    assert table is not None
    assert [table.award(level, 1, False) for level in ("kabupaten", "provinsi", "nasional", "internasional")] == [
        Decimal(16),
        Decimal(32),
        Decimal(64),
        Decimal(128),
    ]
    assert table.award("provinsi", 2, False) is None  # juara 2 is not in the template's table: refused, not zero
    assert table.award("kecamatan", 1, False) is None
    assert table.award("nasional", 1, True) == Decimal(64)  # no team table: a team counts as an individual
    score = compute(rule, Sources(certificate=Certificate("nasional", 1, False, Decimal(64)), listed=False))
    assert score.total == Decimal("64.00")
    assert score.parts[0].detail == "juara 1 perorangan tingkat nasional"
    waiting = compute(rule, Sources())
    assert waiting.total is None and waiting.missing == ("sertifikat prestasi yang diperiksa sekolah tujuan",)


def test_certificate_points_weighted_with_a_test():
    # Jabar kejuaraan: 50 % championship score + 50 % tes terstandar. 0.5 × 80 + 0.5 × 71.5 = 40 + 35.75 = 75.75
    table = {"individual": {"provinsi": [80, 70]}}
    rule = msgspec.convert(
        {
            "components": [
                {"name": "kejuaraan", "source": "certificate", "weight": 50, "points": table},
                {"name": "tes", "source": "test", "weight": 50},
            ]
        },
        ScoreRule,
    )
    sources = Sources(tests={"tes": Decimal("71.5")}, certificate=Certificate("provinsi", 1, False, Decimal(80)))
    assert compute(rule, sources).total == Decimal("75.75")


def test_certificate_points_come_from_the_paths_table_not_the_stored_award():
    # awarded 999 under another table (or another path): the path ranks by its own table, juara 1 provinsi = 32
    rule = template_rule("jatim-2025-sma", "prestasi_lomba")
    stale = Certificate("provinsi", 1, False, Decimal(999))
    assert compute(rule, Sources(certificate=stale, listed=False)).total == Decimal("32.00")
    unscored = Certificate("provinsi", 3, False, Decimal(16))  # no juara 3 in this table: waiting, not zero
    assert compute(rule, Sources(certificate=unscored, listed=False)).total is None
