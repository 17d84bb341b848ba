"""Request and response bodies for accounts."""

from __future__ import annotations

from typing import Annotated

import msgspec

from ppdb.identity import EMAIL_PATTERN, VISIBLE

Email = Annotated[str, msgspec.Meta(pattern=EMAIL_PATTERN, max_length=254)]
Password = Annotated[str, msgspec.Meta(max_length=200)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=120, pattern=rf"^{VISIBLE}[^\x00-\x1f\x7f]+$")]
Phone = Annotated[str, msgspec.Meta(max_length=24, pattern=r"^\+?[0-9 ()-]*$")]
"""As typed (0812-3456-7890, +62 812 ...); `service.normalize_phone` checks and stores it as 628…."""
Pin = Annotated[str, msgspec.Meta(min_length=1, max_length=20, pattern=r"^[^\x00-\x1f\x7f]*$")]


class SignUp(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Email
    password: Password
    name: Name
    phone: Phone | None = None
    """A mobile number for SMS/WhatsApp notifications and password resets (optional)."""


class Login(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(max_length=254, pattern=r"^[^\x00-\x1f\x7f]*$")]
    password: Password


class PinLogin(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Sign in with the child's NIK (or NISN) and PIN, where the region issues PINs."""

    nik: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{16}$")] | None = None
    nisn: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{10}$")] | None = None
    pin: Pin


class ResetRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    login: Annotated[str, msgspec.Meta(min_length=1, max_length=254, pattern=r"^[^\x00-\x1f\x7f]*$")]
    """The account's e-mail address (the link goes there) or phone number (the link goes by SMS/WhatsApp)."""


class ResetRequested(msgspec.Struct, kw_only=True):
    message: str = (
        "Jika ada akun dengan alamat itu, tautan untuk membuat kata sandi baru sudah dikirim; berlaku 30 menit."
    )
    """The same whether or not an account has the address."""


class ResetConfirm(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]*$")]
    password: Password


class MeUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    phone: Phone | None
    """A new number, or null to remove it."""


class OperatorCreate(SignUp, kw_only=True, forbid_unknown_fields=True):
    npsn: Annotated[str, msgspec.Meta(pattern=r"^\d{8}$")]


class Me(msgspec.Struct, kw_only=True):
    id: int
    email: str | None
    """None for a family's account opened with a child's NIK and PIN."""
    phone: str | None = None
    role: str
    region_id: int | None
    school_id: int | None


class SignedUp(Me, kw_only=True):
    """The new account, already signed in: its password was checked a moment ago, when it was hashed (a second
    argon2 run to sign in would cost a sign-up wave twice the CPU)."""

    token: str
    """Send as `Authorization: Bearer <token>`, as `logIn`'s."""
    expires_in: int


class LoginOut(msgspec.Struct, kw_only=True):
    token: str
    """Send as `Authorization: Bearer <token>`; browsers also get an HTTP-only cookie."""
    expires_in: int
    user: Me
