"""Field-name parity: a column added to a table but forgotten in the registration write path fails, by name."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, MetaData, String, Table

from ppdb.applicants import write


def with_extra_column(table: Table, name: str) -> Table:
    copy = table.to_metadata(MetaData())
    copy.append_column(Column(name, String(10)))
    return copy


@pytest.mark.parametrize("table", ["applicants", "applications", "choices", "documents"])
def test_a_column_the_write_path_forgets_is_named(table: str) -> None:
    tables = {
        "applicants": write.APPLICANTS,
        "applications": write.APPLICATIONS,
        "choices": write.CHOICES,
        "documents": write.DOCUMENTS,
    }
    tables[table] = with_extra_column(tables[table], "hair_colour")
    with pytest.raises(LookupError, match=rf"table {table}: column\(s\) neither written .*: hair_colour"):
        write.build(**tables)


def test_a_column_left_to_the_database_that_does_not_exist_is_named() -> None:
    tables = {"documents": write.DOCUMENTS.to_metadata(MetaData())}
    tables["documents"]._columns.remove(tables["documents"].c.reason)
    with pytest.raises(LookupError, match=r"table documents: no such column\(s\): reason"):
        write.build(**tables)


def test_the_write_path_covers_every_column_of_the_real_tables() -> None:
    write.build()  # also done at import, for REGISTER
