"""Request and response bodies for accounts."""

from __future__ import annotations

from typing import Annotated

import msgspec

# No control characters anywhere: a NUL byte is an error for PostgreSQL text.
Email = Annotated[
    str, msgspec.Meta(pattern=r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$", max_length=254)
]
Password = Annotated[str, msgspec.Meta(max_length=200)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=120, pattern=r"^(?=.*\S)[^\x00-\x1f\x7f]+$")]


class SignUp(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Email
    password: Password
    name: Name


class Login(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(max_length=254, pattern=r"^[^\x00-\x1f\x7f]*$")]
    password: Password


class OperatorCreate(SignUp, kw_only=True, forbid_unknown_fields=True):
    npsn: Annotated[str, msgspec.Meta(pattern=r"^\d{8}$")]


class Me(msgspec.Struct, kw_only=True):
    id: int
    email: str
    role: str
    region_id: int | None
    school_id: int | None


class LoginOut(msgspec.Struct, kw_only=True):
    token: str
    """Send as `Authorization: Bearer <token>`; browsers also get an HTTP-only cookie."""
    expires_in: int
    user: Me
