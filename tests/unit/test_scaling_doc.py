"""docs/scaling.md's national plan names every table of the schema, once, with its Citus class; every table
scoped to a region (it has a `region_id` or a `period_id`, or hangs off one that does) is distributed."""

from __future__ import annotations

import re
from pathlib import Path

from ppdb.models import Base

DOC = Path(__file__).resolve().parents[2] / "docs" / "scaling.md"


def _classes() -> dict[str, list[str]]:
    rows = re.findall(
        r"^\s*\| (distributed by `region_id`|reference[^|]*|coordinator only) \| ([^|]+) \|$", DOC.read_text(), re.M
    )
    return {name: [t.strip() for t in tables.split(",")] for name, tables in rows}


def test_every_table_has_one_citus_class() -> None:
    classes = _classes()
    named = [table for tables in classes.values() for table in tables]
    assert len(named) == len(set(named)), "a table named twice"
    assert set(named) == set(Base.metadata.tables), set(named) ^ set(Base.metadata.tables)


def test_every_region_scoped_table_is_distributed() -> None:
    distributed = set(_classes()["distributed by `region_id`"])
    tables = Base.metadata.tables
    scoped = {name for name, table in tables.items() if {"region_id", "period_id"} & set(table.c.keys())} - {
        "users"  # staff carry their region; parents none: a reference table
    }
    changed = True
    while changed:  # rows that hang off a scoped row (choices off applications, placements off runs, ...)
        grown = {
            name
            for name, table in tables.items()
            if name not in scoped and any(fk.column.table.name in scoped - {"regions"} for fk in table.foreign_keys)
        } - {"users", "auth_sessions", "password_resets"}
        scoped |= grown
        changed = bool(grown)
    assert scoped <= distributed, scoped - distributed
