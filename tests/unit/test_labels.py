"""The pages label exactly what the API can return."""

from typing import get_args

from ppdb.applicants.models import ApplicationStatus, DocumentStatus
from ppdb.labels import STATUS_NAMES
from ppdb.regions.models import PeriodStatus
from ppdb.verification.schemas import Flag
from ppdb.web.common import FLAG_NAMES


def test_every_flag_has_a_label_and_every_label_a_flag():
    assert set(FLAG_NAMES) == set(get_args(Flag))  # "outside_region" was offered by the page and never raised


def test_every_status_a_page_shows_has_words():
    """Never the API's own name ("declared") on a parent's page."""
    for states in (ApplicationStatus, DocumentStatus, PeriodStatus):
        assert {s.value for s in states} <= set(STATUS_NAMES), states


def test_paths_are_named_in_words_in_messages_and_pages_alike():
    from ppdb.labels import path_title
    from ppdb.regions.rules import PathRule

    assert path_title("perpindahan_tugas") == "Perpindahan tugas orang tua"
    assert path_title("afirmasi/ketm") == "Afirmasi – Keluarga ekonomi tidak mampu (KETM)"
    assert path_title("prestasi_lomba") == "Prestasi lomba"  # a region's own, untitled
    own = PathRule(name="prestasi_lomba", quota=5, title="Prestasi Lomba Tingkat Kota", keys=["lottery"])
    assert own.label == "Prestasi Lomba Tingkat Kota" and PathRule(name="mutasi", quota=5, keys=[]).label == "Mutasi"


def test_a_region_names_its_own_paths_everywhere():
    from datetime import date

    from ppdb.regions.rules import PathRule, RuleSet

    own = PathRule(name="prestasi_lomba", quota=5, title="Prestasi Lomba Tingkat Kota", keys=["lottery"])
    rules = RuleSet(preset="permendikdasmen-3-2025", paths=[own], reference_date=date(2027, 7, 1), lottery_seed="")
    assert rules.path_label("prestasi_lomba") == "Prestasi Lomba Tingkat Kota"
    assert rules.path_label("afirmasi/ketm") == "Afirmasi – Keluarga ekonomi tidak mampu (KETM)"
