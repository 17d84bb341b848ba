"""Sign-up, login with throttling, sessions, password resets, sign-in with a child's PIN, and creating admins
and operators."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping, MutableMapping
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import bindparam, delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from ppdb.accounts import schemas
from ppdb.accounts.models import AuthSession, LoginAttempt, PasswordReset, Role, User
from ppdb.applicants import pins
from ppdb.applicants.models import Applicant, Application, ApplicationStatus, Pin
from ppdb.audit.service import record, record_application
from ppdb.authz import Principal, governs_school
from ppdb.db.base import to_struct
from ppdb.db.session import Compiled, driver_read
from ppdb.errors import AppError, Conflict, NotFound
from ppdb.notifications import outbox
from ppdb.notifications.models import Channel
from ppdb.regions.models import Period, Region
from ppdb.regions.service import rules_of
from ppdb.runtime import Passwords, Runtime, standalone_passwords
from ppdb.schools.models import School
from ppdb.scores.models import Graduate

WINDOW = timedelta(minutes=15)
MAX_SOURCE_FAILURES = 5
"""Wrong passwords for one account from one address: that client is stopped, not the account's owner."""
MAX_ACCOUNT_FAILURES = 50
"""Wrong passwords for one account from every address (a spread-out guess): then the account signs in only after
a password reset (the link goes to the owner's e-mail or phone, and clears the count)."""
MAX_ADDRESS_FAILURES = 30
RESET_LIFETIME = timedelta(minutes=30)
RESET_WINDOW = timedelta(hours=1)
MAX_ACCOUNT_RESETS = 3
"""Reset messages per account per `RESET_WINDOW`; more requests are answered the same but send nothing."""
MAX_ADDRESS_RESETS = 10


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_password_policy(password: str, email: str) -> None:
    if len(password) < 10:
        raise AppError("password_too_short", "Kata sandi minimal 10 karakter.", "password")
    if password.lower() in email.lower() or len(set(password)) < 5:
        raise AppError(
            "password_too_weak", "Kata sandi terlalu mudah ditebak; gunakan kombinasi yang beragam.", "password"
        )


def normalize_phone(phone: str) -> str:
    """An Indonesian mobile number as stored and dialled by gateways: 628…; refused when it is not one."""
    digits = re.sub(r"[\s()-]", "", phone).removeprefix("+")
    digits = "62" + digits[1:] if digits.startswith("0") else digits
    if not re.fullmatch(r"628[0-9]{7,12}", digits):
        raise AppError("phone_invalid", "Nomor HP tidak valid; tulis seperti 0812 3456 7890.", "phone")
    return digits


async def _check_phone_free(session: AsyncSession, phone: str, user_id: int | None = None) -> None:
    taken = await session.scalar(select(User.id).where(User.phone == phone, User.id != (user_id or 0)))
    if taken:
        raise Conflict("phone_taken", "Nomor HP ini sudah dipakai akun lain.", "phone")


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
    phone = normalize_phone(account.phone) if account.phone else None
    passwords = passwords or standalone_passwords()
    password_hash = await passwords.hash(password)  # before the database: waiting for it, a sign-up holds no connection
    if await session.scalar(select(User.id).where(User.email == email)):
        raise Conflict("email_taken", "E-mail ini sudah terdaftar.", "email")
    if phone:
        await _check_phone_free(session, phone)
    user = User(
        email=email,
        phone=phone,
        name=account.name.strip(),
        password_hash=password_hash,
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
    account, source, by_address = await _failures(session, email, address)
    if source >= MAX_SOURCE_FAILURES or by_address >= MAX_ADDRESS_FAILURES:
        raise AppError(
            "login_throttled",
            "Terlalu banyak percobaan masuk yang gagal dari perangkat ini. Coba lagi 15 menit lagi.",
            "email",
            status_code=429,
        )
    if account >= MAX_ACCOUNT_FAILURES:
        raise AppError(
            "login_reset_required",
            "Akun ini menerima terlalu banyak percobaan masuk yang gagal. Untuk masuk sekarang, atur ulang kata "
            "sandi lewat 'Lupa kata sandi'; tautannya dikirim ke e-mail atau nomor HP akun.",
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
    return new_session(session, user, lifetime), user


def new_session(session: AsyncSession, user: User, lifetime: timedelta) -> str:
    """A session token for `user`, stored by its hash."""
    token = secrets.token_urlsafe(32)
    session.add(AuthSession(token_hash=token_hash(token), user_id=user.id, expires_at=datetime.now(UTC) + lifetime))
    return token


async def _failures(session: AsyncSession, email: str, address: str) -> tuple[int, int, int]:
    """Failed password sign-ins lately: of the account, of the account from this address, and from this address
    (wrong PINs have their own budget, `pins.verify`)."""
    failed = LoginAttempt.success.is_(False)
    row = (
        await session.execute(
            select(
                func.count().filter(LoginAttempt.email == email),
                func.count().filter(LoginAttempt.email == email, LoginAttempt.address == address),
                func.count().filter(LoginAttempt.address == address, LoginAttempt.email != pins.GUESS),
            ).where(
                failed,
                LoginAttempt.at > datetime.now(UTC) - WINDOW,
                (LoginAttempt.email == email) | (LoginAttempt.address == address),
            )
        )
    ).one()
    return row[0], row[1], row[2]


async def pin_login(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    data: schemas.PinLogin,
    *,
    address: str,
    lifetime: timedelta,
) -> tuple[str, User]:
    """Sign in with a child's NIK (or NISN) and PIN, where the region requires PINs: into the family's PIN
    account (no e-mail), opened at the first sign-in; a registration a school made for the family moves into
    it. Never into an account that signs in with a password (`pin_login_has_account`). A wrong PIN counts for
    the NIK and for the client address (`pins.verify`)."""
    if data.nik is None and data.nisn is None:
        raise AppError("nik_required", "Isi NIK atau NISN anak.", "nik")
    async with sessionmaker() as reading:
        nik = data.nik or (await _nik_of(reading, data.nisn) if data.nisn else None)
        latest = select(Pin.period_id).where(Pin.nik == nik).order_by(Pin.issued_at.desc()).limit(1)
        period_id = await reading.scalar(latest) if nik else None
    # counted for the NIK and the client address in a transaction of its own: a refused sign-in still counts
    await pins.verify(sessionmaker, period_id, nik or "", data.pin, caller=address)
    if period_id is None or nik is None:
        raise pins.invalid()
    pin = await session.get(Pin, (period_id, nik), with_for_update=True)
    assert pin is not None
    period = await session.get(Period, pin.period_id)
    if period is None or not rules_of(period).pin_required:
        raise Conflict("pin_login_unavailable", "Daerah ini tidak memakai masuk dengan PIN; masuk dengan e-mail.")
    application = await session.scalar(  # the child's registration in the admission's latest stage
        select(Application)
        .join(Applicant, Applicant.id == Application.applicant_id)
        .join(Period, Period.id == Application.period_id)
        .where(or_(Period.id == pin.period_id, Period.first_period_id == pin.period_id), Applicant.nik == nik)
        .where(Application.status != ApplicationStatus.WITHDRAWN)
        .order_by(Period.stage.desc())
        .limit(1)
        .with_for_update(of=Application)
    )
    owner = application.parent_id if application is not None else None
    if owner is not None and owner != pin.user_id:
        # A PIN never opens an account that signs in with a password: whoever holds the PIN (or issues a new
        # one) would take the family's account with it.
        raise Conflict(
            "pin_login_has_account",
            "Pendaftaran anak ini ada di akun orang tua yang masuk dengan e-mail. Masuk dengan e-mail, atau atur "
            "ulang kata sandi bila lupa.",
            "nik",
        )
    user = await session.get(User, pin.user_id) if pin.user_id else None
    if user is None:
        user = User(email=None, name="Keluarga pendaftar", password_hash="!", role=Role.PARENT)
        session.add(user)
        await session.flush()
        record(session, actor="pin", action="user.create", entity="user", entity_id=user.id, new={"role": "parent"})
        pin.user_id = user.id
    if application is not None and application.parent_id is None:
        application.parent_id = user.id
        record_application(session, application, "application.claim", actor="pin", new={"parent_id": user.id})
    return new_session(session, user, lifetime), user


async def _nik_of(session: AsyncSession, nisn: str) -> str | None:
    """The NIK of a NISN: from the child's latest registration, or else the graduate lists."""
    for column, nisn_column, order in (
        (Applicant.nik, Applicant.nisn, Applicant.id),
        (Graduate.nik, Graduate.nisn, Graduate.id),
    ):
        if nik := await session.scalar(select(column).where(nisn_column == nisn).order_by(order.desc()).limit(1)):
            return nik
    return None


async def request_reset(session: AsyncSession, data: schemas.ResetRequest, *, address: str) -> None:
    """A single-use link to set a new password, sent to the account's e-mail or phone (whichever was given).
    The answer is the same whether or not an account has that address; only the requests from one client
    address are refused past `MAX_ADDRESS_RESETS` an hour."""
    login = data.login.strip()
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('ppdb.reset'), hashtext(:a))"), {"a": address})
    since = datetime.now(UTC) - RESET_WINDOW
    recent = select(func.count()).select_from(PasswordReset).where(PasswordReset.at > since)
    if (await session.scalar(recent.where(PasswordReset.address == address)) or 0) >= MAX_ADDRESS_RESETS:
        raise AppError(
            "reset_throttled", "Terlalu banyak permintaan atur ulang kata sandi. Coba lagi nanti.", status_code=429
        )
    if "@" in login:
        channel, user = Channel.EMAIL, await session.scalar(select(User).where(User.email == login.lower()))
    else:
        phone = normalize_phone(login)
        channel, user = Channel.PHONE, await session.scalar(select(User).where(User.phone == phone))
    if user is not None and user.email is None:
        user = None  # an account opened with a child's PIN signs in with the PIN, never with a password
    if user is not None:
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('ppdb.reset.user'), :id)"), {"id": user.id})
        if (await session.scalar(recent.where(PasswordReset.user_id == user.id)) or 0) >= MAX_ACCOUNT_RESETS:
            user = None  # answered the same; the account's owner already has links
    token = secrets.token_urlsafe(32) if user is not None else None
    reset = PasswordReset(
        user_id=user.id if user else None,
        token_hash=token_hash(token) if token else None,
        address=address,
        expires_at=datetime.now(UTC) + RESET_LIFETIME,
    )
    session.add(reset)
    if user is None or token is None:
        return
    await session.flush()
    recipient = user.email if channel is Channel.EMAIL else user.phone
    assert recipient is not None
    outbox.to_address(
        session, channel, recipient, "password_reset", f"password_reset:{reset.id}", path=f"/sandi-baru?token={token}"
    )
    record(session, actor=f"{user.role.value}:{user.id}", action="user.reset_request", entity="user", entity_id=user.id)


async def reset_password(
    session: AsyncSession,
    data: schemas.ResetConfirm,
    passwords: Passwords | None = None,
    runtime: Runtime | None = None,
) -> None:
    """Set a new password with a reset link's token: once, before it expires; every session of the account
    ends (a password reset is often a takeover being undone)."""
    reset = await session.scalar(
        select(PasswordReset)
        .where(
            PasswordReset.token_hash == token_hash(data.token),
            PasswordReset.used_at.is_(None),
            PasswordReset.expires_at > func.now(),
        )
        .with_for_update()
    )
    user = await session.get(User, reset.user_id) if reset is not None and reset.user_id else None
    if reset is None or user is None:
        raise AppError(
            "reset_token_invalid",
            "Tautan atur ulang kata sandi tidak berlaku, kedaluwarsa, atau sudah dipakai. Minta tautan baru.",
            "token",
        )
    check_password_policy(data.password, user.email or "")
    passwords = passwords or standalone_passwords()
    user.password_hash = await passwords.hash(data.password)
    await session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=func.now())
    )
    await session.execute(delete(AuthSession).where(AuthSession.user_id == user.id))
    if user.email:  # the owner proved themselves: others' wrong guesses no longer keep them out
        await session.execute(
            delete(LoginAttempt).where(LoginAttempt.email == user.email, LoginAttempt.success.is_(False))
        )
    if runtime is not None:
        runtime.sign_out([user.id])
    record(
        session, actor=f"{user.role.value}:{user.id}", action="user.password_reset", entity="user", entity_id=user.id
    )


async def update_me(session: AsyncSession, user: Principal, data: schemas.MeUpdate) -> User:
    """A parent's phone number (for messages and resets); set, changed or removed."""
    account = await session.get(User, user.id, with_for_update=True)
    assert account is not None
    phone = normalize_phone(data.phone) if data.phone else None
    if phone:
        await _check_phone_free(session, phone, user.id)
    if phone != account.phone:
        record(
            session, actor=user.actor, action="user.phone", entity="user", entity_id=user.id, new={"set": bool(phone)}
        )
        account.phone = phone
    return account


async def logout(session: AsyncSession, token: str, principals: MutableMapping[str, Any] | None = None) -> None:
    """End the session; `principals`: the app's cache of them (the runtime's), which forgets it at once."""
    if principals is not None:
        principals.pop(token_hash(token), None)
    await session.execute(delete(AuthSession).where(AuthSession.token_hash == token_hash(token)))


def cached_principal(principals: Mapping[str, Any], token: str) -> Principal | None:
    """The token's principal from the app's cache (`Runtime.principals`), while its session lasts."""
    hit = principals.get(token_hash(token))
    return hit[0] if hit is not None and hit[1] > datetime.now(UTC) else None


# The caller behind a token, read by the auth middleware for every request whose token is not cached (a
# parent polling every half minute, long after `PRINCIPAL_TTL`): one statement on the driver, no session.
_PRINCIPAL = Compiled(
    select(User.id, User.role, User.region_id, User.school_id, User.email, AuthSession.expires_at)
    .join(AuthSession, AuthSession.user_id == User.id)
    .where(AuthSession.token_hash == bindparam("digest"), AuthSession.expires_at > func.now())
)


async def principal_for(
    bind: AsyncEngine | AsyncConnection, token: str, principals: MutableMapping[str, Any] | None = None
) -> Principal | None:
    digest = token_hash(token)
    row = await driver_read(
        bind, lambda connection: connection.fetchrow(_PRINCIPAL.sql, *_PRINCIPAL.args(digest=digest))
    )
    if row is None:
        return None
    principal = Principal(row["id"], Role(row["role"]), row["region_id"], row["school_id"], row["email"])
    if principals is not None:
        principals[digest] = (principal, row["expires_at"])
    return principal


async def get_user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("user_not_found", "Akun tidak ditemukan.")
    return user


def me(user: User) -> schemas.Me:
    return to_struct(schemas.Me, user, role=user.role.value)


def signed_up(user: User, token: str, lifetime: timedelta) -> schemas.SignedUp:
    return to_struct(
        schemas.SignedUp, user, role=user.role.value, token=token, expires_in=int(lifetime.total_seconds())
    )
