"""Names in the agency's and schools' CSV exports cannot run as spreadsheet formulas."""

from __future__ import annotations

import pytest

from ppdb.results.service import spreadsheet_text


@pytest.mark.parametrize(
    "typed",
    ['=HYPERLINK("http://jahat.example","klik")', "+62 812", "-1+1", "@SUM(A1)", "\t=1", "\r=1", "＝1+1"],
)
def test_a_value_that_would_start_a_formula_is_plain_text(typed: str) -> None:
    assert spreadsheet_text(typed) == "'" + typed


@pytest.mark.parametrize("typed", ["Siti Aminah", "O'Brien", "SMP Negeri 1 Uji", "", "Ahmad =1"])
def test_an_ordinary_value_is_left_as_it_is(typed: str) -> None:
    assert spreadsheet_text(typed) == typed


def test_a_one_word_name_is_masked_too() -> None:
    from ppdb.results.service import mask_name

    assert mask_name("Siti") == "SI****"  # published whole before: the child's whole name
    assert mask_name("Ahmad Fauzi Rahman") == "AHMAD F**** R****"
