"""Route parameter types shared by every controller: bounded ids, the session dependency, the caller's address."""

from __future__ import annotations

from typing import Annotated

from litestar import Request
from litestar.di import NamedDependency
from litestar.params import PathParameter
from sqlalchemy.ext.asyncio import AsyncSession

MAX_ID = 2**31 - 1  # PostgreSQL integer; a larger id is a 400, never a database error

Session = NamedDependency[AsyncSession]
"""`db_session`: the request's transaction on the primary database, committed when the handler succeeds."""
ReadSession = NamedDependency[AsyncSession]
"""`read_session`: autocommitted reads, from the read-only replica when one is configured."""
PeriodId = Annotated[int, PathParameter(description="Period id", ge=1, le=MAX_ID)]
RunId = Annotated[int, PathParameter(description="Selection run id", ge=1, le=MAX_ID)]
RegistrationNumber = Annotated[
    str, PathParameter(description="Registration number, e.g. 2027-SMP-7K3M9Q2X", pattern=r"^[0-9A-Z-]{1,24}$")
]


def client_address(request: Request) -> str:
    """Who is asking, for counting failed attempts (logins, result lookups): the peer's address."""
    return request.client.host if request.client else "unknown"
