"""Who may see and do what: the caller (`Principal`) and the object-scope checks every service makes.

Guards on routes check roles only (`accounts/guards.py`); whether this user may touch this region, school
or application is decided here, by the services.
"""

from __future__ import annotations

from dataclasses import dataclass

from ppdb.accounts.models import Role
from ppdb.errors import Forbidden


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: what guards and services check."""

    id: int
    role: Role
    region_id: int | None
    school_id: int | None
    email: str

    @property
    def actor(self) -> str:
        return f"{self.role.value}:{self.id}"


def assert_region(user: Principal, region_id: int) -> None:
    """Agency staff act only in their own region; elsewhere the object does not exist for them."""
    if user.region_id != region_id:
        raise Forbidden("forbidden_region", "Data ini milik wilayah lain.")
