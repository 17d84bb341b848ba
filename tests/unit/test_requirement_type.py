"""A document requirement decodes as one kind or a list of kinds, and converting many leaves the process sound.

msgspec 0.22 releases a `pattern`'s compiled regex once too often when a pattern-constrained string is a branch
of a union with a list: the process crashed (SIGSEGV) when it was collected. The single kind has no pattern."""

from __future__ import annotations

import subprocess
import sys

import msgspec
import pytest

from ppdb.regions.rules import Requirement

CONVERT_MANY = """
import gc, msgspec
from ppdb.regions.rules import Requirement
for _ in range(50):
    msgspec.convert(["kk", ["kip", "pkh"]], list[Requirement])
gc.collect()
"""


def test_a_requirement_is_a_kind_or_a_list_of_two_kinds_or_more():
    assert msgspec.convert(["kk", ["kip", "pkh"]], list[Requirement]) == ["kk", ["kip", "pkh"]]
    for bad in ([["kip"]], [["KIP", "pkh"]], [[["kip", "pkh"]]]):
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert(bad, list[Requirement])


def test_converting_requirements_many_times_does_not_crash_the_process():
    for _ in range(3):  # it crashed in 3 of 3 runs with the pattern in the union
        assert subprocess.run([sys.executable, "-c", CONVERT_MANY], check=False).returncode == 0
