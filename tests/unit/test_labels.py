"""The pages label exactly what the API can return."""

from typing import get_args

from ppdb.verification.schemas import Flag
from ppdb.web.common import FLAG_NAMES


def test_every_flag_has_a_label_and_every_label_a_flag():
    assert set(FLAG_NAMES) == set(get_args(Flag))  # "outside_region" was offered by the page and never raised
