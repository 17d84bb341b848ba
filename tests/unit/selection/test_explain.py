"""Explanation wording: cut-off comparisons in Indonesian number format, first-choice priority."""

from __future__ import annotations

from ppdb.selection.explain import compare, describe, not_placed_reason
from ppdb.selection.models import ProgramOutcome


def test_numbers_and_comparisons_read_like_an_announcement():
    assert describe("distance", 1432.1) == "1.432,10 m"
    assert describe("score", -86.5) == "nilai 86,50"
    assert (
        compare(["distance", "age", "lottery"], [1432.1, -4500, 7], [1560.0, -4600, 3])
        == "batas 1.432,10 m, jarak Anda 1.560,00 m"
    )
    assert (
        compare(["distance", "age", "lottery"], [1432.1, -4500, 7], [1432.1, -4400, 3])
        == "batas 12 tahun 3 bulan, usia Anda 12 tahun 0 bulan"
    )
    # another child's lottery number is never shown
    assert (
        compare(["distance", "age", "lottery"], [1432.1, -4500, 7], [1432.1, -4500, 9])
        == "sama dengan batas pada kriteria lain; kalah pada undian"
    )


def test_first_choice_priority_rejects_a_better_key_for_its_round():
    outcome = ProgramOutcome(
        program="1:domisili",
        school_npsn="1",
        path="domisili",
        capacity=1,
        final_capacity=1,
        filled=1,
        cutoff=[2000.0, -4500, 9],
        key_names=["distance", "age", "lottery"],
    )
    assert "prioritas pilihan pertama" in not_placed_reason(outcome, [100.0, -4500, 1], "first_choice_priority")
    assert not_placed_reason(outcome, [2500.0, -4500, 1], "first_choice_priority").startswith("batas 2.000,00 m")
    assert not_placed_reason(outcome, [2500.0, -4500, 1], "deferred_acceptance").startswith("batas 2.000,00 m")
