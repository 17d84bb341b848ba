"""Selection values: the program key is the only place its string exists; cut-offs are read by name;
placement entries keep the stored shape."""

from __future__ import annotations

import json

import pytest

from ppdb.selection.keys import describe, label, metres, number
from ppdb.selection.programs import (
    Considered,
    Cutoff,
    Dropped,
    ProgramKey,
    decode_entries,
    encode_entries,
    public_key,
)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("20670001:domisili", ProgramKey("20670001", "domisili")),
        ("20670001:afirmasi/disabilitas", ProgramKey("20670001", "afirmasi", "disabilitas")),
        ("20670001:domisili@tkj", ProgramKey("20670001", "domisili", None, "tkj")),
        ("20670001:afirmasi/ketm@tkj", ProgramKey("20670001", "afirmasi", "ketm", "tkj")),
    ],
)
def test_a_program_key_reads_back_what_it_writes(text, key):
    assert ProgramKey.parse(text) == key and str(key) == key.id == text
    assert ProgramKey.of(key.npsn, key.engine_path) == key


def test_the_engine_path_is_the_quota_path_within_the_smk_program():
    assert ProgramKey("1", "afirmasi", "ketm").quota_path == "afirmasi/ketm"
    assert ProgramKey("1", "domisili").quota_path == ProgramKey("1", "domisili").engine_path == "domisili"
    assert ProgramKey("1", "afirmasi", "ketm", "TKJ").quota_path == "afirmasi/ketm"
    assert ProgramKey("1", "afirmasi", "ketm", "TKJ").engine_path == "afirmasi/ketm@TKJ"


def test_a_cutoff_is_read_by_name_whatever_the_order_of_the_keys():
    sma = Cutoff(["score", "distance", "age", "lottery"], [-80.0, 1234.5, -5900, 77])
    smp = Cutoff(["distance", "age", "lottery"], [1234.5, -4500, 77])
    assert sma.distance_m == smp.distance_m == 1234.5
    assert sma.score == 80.0 and smp.score is None
    assert sma.words() == "nilai 80,00; 1.234,50 m; 16 tahun 1 bulan"
    assert sma.public() == Cutoff(["score", "distance", "age_months"], [-80.0, 1234.5, -193])


def test_public_keys_drop_private_parts_and_show_age_in_months():
    assert public_key(["distance", "age", "submitted_at", "lottery"], [10.0, -4500, 1e9, 3]) == (
        ["distance", "age_months"],
        [10.0, -147],
    )


def test_placement_entries_keep_the_stored_shape():
    stored = {
        "1": {"program": "20670001:domisili", "key": [12.5, -4500, 3], "position": 2},
        "2": {"dropped": "outside_zone", "npsn": "20670002"},
        "3": {
            "program": "20670004:domisili/reguler",
            "key": [80.5, 3],
            "position": 9,
            "then": {"program": "20670004:domisili/sebaran-36.71.01.1001", "key": [80.5, 3], "position": 1},
        },
        "10": {"program": "20670003:domisili", "key": [100, -4500, 3]},
    }
    entries = decode_entries(stored)
    assert list(entries) == [1, 2, 3, 10]
    assert entries[1] == Considered("20670001:domisili", [12.5, -4500, 3], 2)
    assert entries[2] == Dropped("outside_zone", "20670002")
    fallback = entries[3]
    assert isinstance(fallback, Considered) and [s.position for s in fallback.steps()] == [9, 1]
    assert fallback.at("20670004:domisili/sebaran-36.71.01.1001") is fallback.then
    assert isinstance(entries[10].key[0], int)  # numbers come back as written: the instance bytes stay the same
    assert json.loads(encode_entries(entries)) == stored
    assert decode_entries(None) == {}
    # rows written before fallbacks existed spelled out an unknown position
    assert decode_entries({"1": {"program": "20670001:domisili", "key": [1], "position": None}})[1].position is None


def test_numbers_and_labels_are_written_once():
    assert number(1432.1) == "1.432,10" and number(-91.25) == "-91,25"
    assert metres(1432.1) == "1.432,10 m" and metres(None) == "–"
    assert describe("distance", 1432.1) == metres(1432.1)
    assert label("distance") == "jarak" and label("unknown") == "unknown"
