"""Sign-up, login with throttling, sessions, and creating admins and operators."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, MutableMapping
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ppdb.accounts import schemas
from ppdb.accounts.models import AuthSession, LoginAttempt, Role, User
from ppdb.audit.service import record
from ppdb.authz import Principal, governs_school
from ppdb.errors import AppError, Conflict, NotFound
from ppdb.regions.models import Region
from ppdb.runtime import Passwords, standalone_passwords
from ppdb.schools.models import School

WINDOW = timedelta(minutes=15)
MAX_ACCOUNT_FAILURES = 5
MAX_ADDRESS_FAILURES = 30


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_password_policy(password: str, email: str) -> None:
    if len(password) < 10:
        raise AppError("password_too_short", "Kata sandi minimal 10 karakter.", "password")
    if password.lower() in email.lower() or len(set(password)) < 5:
        raise AppError(
            "password_too_weak", "Kata sandi terlalu mudah ditebak; gunakan kombinasi yang beragam.", "password"
        )


async def create_user(
    session: AsyncSession,
    account: schemas.SignUp,
    *,
    role: Role,
    region_id: int | None = None,
    school_id: int | None = None,
    actor: str,
    passwords: Passwords | None = None,
) -> User:
    email, password = account.email.strip().lower(), account.password
    check_password_policy(password, email)
    passwords = passwords or standalone_passwords()
    passwords.admit()
    if await session.scalar(select(User.id).where(User.email == email)):
        raise Conflict("email_taken", "E-mail ini sudah terdaftar.", "email")
    user = User(
        email=email,
        name=account.name.strip(),
        password_hash=await passwords.hash(password),
        role=role,
        region_id=region_id,
        school_id=school_id,
    )
    session.add(user)
    await session.flush()
    record(
        session,
        actor=actor,
        action="user.create",
        entity="user",
        entity_id=user.id,
        new={"role": role.value, "region_id": region_id, "school_id": school_id},
    )
    return user


async def signup_parent(session: AsyncSession, data: schemas.SignUp, passwords: Passwords | None = None) -> User:
    return await create_user(session, data, role=Role.PARENT, actor="signup", passwords=passwords)


async def bootstrap_admin(
    session: AsyncSession,
    *,
    region_code: str,
    region_name: str,
    email: str,
    password: str,
    name: str = "Admin Dinas",
    passwords: Passwords | None = None,
) -> User:
    """The first admin of a region (creating the region if needed): `ppdb users create-admin`."""
    region = await session.scalar(select(Region).where(Region.code == region_code))
    if region is None:
        region = Region(code=region_code, name=region_name)
        session.add(region)
        await session.flush()
        record(
            session,
            actor="cli",
            action="region.create",
            entity="region",
            entity_id=region.id,
            new={"code": region_code, "name": region_name},
        )
    return await create_user(
        session,
        schemas.SignUp(email=email, password=password, name=name),
        role=Role.AGENCY_ADMIN,
        region_id=region.id,
        actor="cli",
        passwords=passwords,
    )


async def create_operator(
    session: AsyncSession, admin: Principal, data: schemas.OperatorCreate, passwords: Passwords | None = None
) -> User:
    school = await session.scalar(select(School).where(School.npsn == data.npsn))
    if school is None or not governs_school(admin, school):
        raise NotFound("school_not_found", "Sekolah tidak ditemukan di wilayah Anda.", "npsn")
    return await create_user(
        session,
        data,
        role=Role.SCHOOL_OPERATOR,
        region_id=school.region_id,
        school_id=school.id,
        actor=admin.actor,
        passwords=passwords,
    )


async def login(
    session: AsyncSession,
    data: schemas.Login,
    *,
    address: str,
    lifetime: timedelta,
    passwords: Passwords | None = None,
) -> tuple[str, User] | None:
    """A new session token, or None for a wrong e-mail or password (the failure is recorded either way)."""
    email = data.email.strip().lower()
    passwords = passwords or standalone_passwords()
    passwords.admit()  # shed before taking a connection and a lock
    # Attempts on one account are counted one at a time, so a burst cannot slip past the limit.
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext('ppdb.login'), hashtext(:email))"), {"email": email}
    )
    since = datetime.now(UTC) - WINDOW
    failures = await session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.email == email, LoginAttempt.at > since, LoginAttempt.success.is_(False))
    )
    by_address = await session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.address == address, LoginAttempt.at > since, LoginAttempt.success.is_(False))
    )
    if (failures or 0) >= MAX_ACCOUNT_FAILURES or (by_address or 0) >= MAX_ADDRESS_FAILURES:
        raise AppError(
            "login_throttled",
            "Terlalu banyak percobaan masuk yang gagal. Coba lagi 15 menit lagi.",
            "email",
            status_code=429,
        )
    user = await session.scalar(select(User).where(User.email == email))
    try:  # argon2 is deliberately slow: off the event loop
        await passwords.verify(user.password_hash if user else None, data.password)
        ok = user is not None
    except (VerifyMismatchError, InvalidHashError):
        ok = False
    session.add(LoginAttempt(email=email, address=address, success=ok))
    if user is None or not ok:
        return None
    token = secrets.token_urlsafe(32)
    session.add(AuthSession(token_hash=token_hash(token), user_id=user.id, expires_at=datetime.now(UTC) + lifetime))
    return token, user


async def logout(session: AsyncSession, token: str, principals: MutableMapping[str, Any] | None = None) -> None:
    """End the session; `principals`: the app's cache of them (the runtime's), which forgets it at once."""
    if principals is not None:
        principals.pop(token_hash(token), None)
    await session.execute(delete(AuthSession).where(AuthSession.token_hash == token_hash(token)))


def cached_principal(principals: Mapping[str, Any], token: str) -> Principal | None:
    """The token's principal from the app's cache (`Runtime.principals`), while its session lasts."""
    hit = principals.get(token_hash(token))
    return hit[0] if hit is not None and hit[1] > datetime.now(UTC) else None


async def principal_for(
    session: AsyncSession, token: str, principals: MutableMapping[str, Any] | None = None
) -> Principal | None:
    digest = token_hash(token)
    row = (
        await session.execute(
            select(User.id, User.role, User.region_id, User.school_id, User.email, AuthSession.expires_at)
            .join(AuthSession, AuthSession.user_id == User.id)
            .where(AuthSession.token_hash == digest, AuthSession.expires_at > func.now())
        )
    ).first()
    if row is None:
        return None
    principal = Principal(*row[:5])
    if principals is not None:
        principals[digest] = (principal, row.expires_at)
    return principal


def me(user: User | Principal) -> schemas.Me:
    return schemas.Me(
        id=user.id, email=user.email, role=user.role.value, region_id=user.region_id, school_id=user.school_id
    )
