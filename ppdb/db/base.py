"""Declarative base shared by every domain's models, and the statement helpers they share."""

from __future__ import annotations

import enum
from collections.abc import Collection
from datetime import datetime
from typing import Any, TypeVar

import msgspec
from sqlalchemy import (
    ColumnElement,
    DateTime,
    Enum,
    Insert,
    MetaData,
    String,
    Table,
    any_,
    bindparam,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


S = TypeVar("S", bound=msgspec.Struct)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: DateTime(timezone=True)}


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # clock_timestamp, not now(): the moment of the change, not of the transaction's start.
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.clock_timestamp())


def pg_enum(cls: type[enum.Enum], name: str) -> Enum:
    """A PostgreSQL enum type that stores the members' values (not their names)."""
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e])


def to_struct(cls: type[S], row: object, **values: Any) -> S:
    """`cls` (an API shape) from `row`'s attributes of the same names; `values` add fields or override them."""
    names = [name for name in cls.__struct_fields__ if name not in values and hasattr(row, name)]
    return cls(**{name: getattr(row, name) for name in names}, **values)


def copy_period_rows(table: Table, from_period: int, to_period: int) -> Insert:
    """INSERT a copy of `table`'s rows of one period into another (its own `id`, if any, made anew)."""
    columns = [c for c in table.c if c.name not in ("id", "period_id")]
    source = select(literal(to_period), *columns).where(table.c.period_id == from_period)
    return insert(table).from_select(["period_id", *(c.name for c in columns)], source)


def among(
    column: InstrumentedAttribute[Any] | ColumnElement[Any],
    values: Collection[Any] | None = None,
    *,
    key: str | None = None,
) -> ColumnElement[bool]:
    """`column = ANY(array)`: one parameter however many values (an IN list stops at 32,767). Without `values`,
    for a statement built once: the array is bound under `key` each time it runs."""
    element = column.type
    if isinstance(element, String) and not isinstance(element, Enum):
        element = String()  # no length: a cast to varchar(n) would cut a longer value short, and it could match
    array = ARRAY(element)
    parameter = bindparam(key, type_=array) if values is None else bindparam(key, list(values), type_=array)
    return column == any_(parameter)
