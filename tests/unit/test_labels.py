"""The pages label exactly what the API can return."""

from typing import get_args

from ppdb.applicants.models import ApplicationStatus, DocumentStatus
from ppdb.regions.models import PeriodStatus
from ppdb.verification.schemas import Flag
from ppdb.web.common import FLAG_NAMES, STATUS_NAMES


def test_every_flag_has_a_label_and_every_label_a_flag():
    assert set(FLAG_NAMES) == set(get_args(Flag))  # "outside_region" was offered by the page and never raised


def test_every_status_a_page_shows_has_words():
    """Never the API's own name ("declared") on a parent's page."""
    for states in (ApplicationStatus, DocumentStatus, PeriodStatus):
        assert {s.value for s in states} <= set(STATUS_NAMES), states
