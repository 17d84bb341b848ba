"""Request and response bodies for accounts."""
from __future__ import annotations

from typing import Annotated

import msgspec

Email = Annotated[str, msgspec.Meta(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
Password = Annotated[str, msgspec.Meta(max_length=200)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]


class SignUp(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Email
    password: Password
    name: Name


class Login(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(max_length=254)]
    password: Password


class OperatorCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Email
    password: Password
    name: Name
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
