"""PINs: proof that a family holds a child's NIK, where the region's rules require one (`pin_required`).

The Dinas or a school of the region issues a PIN per child and period after checking the KK; the family registers
with it. Only a digest is kept. A wrong PIN and a NIK without one get the same answer (no one learns which NIKs
have a PIN), and wrong PINs count: at `PIN_MAX_FAILURES` within `LOCK` the NIK is locked for `LOCK`. A
registration by a school operator for a family checked in person (walk-in) needs none.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ppdb.accounts.models import AuthSession, LoginAttempt, Role
from ppdb.applicants import schemas
from ppdb.applicants.models import PIN_MAX_FAILURES, Pin
from ppdb.audit.service import record_period
from ppdb.authz import Principal, assert_region, own_school
from ppdb.errors import AppError, Conflict, Forbidden
from ppdb.regions.models import Period, PeriodStatus
from ppdb.regions.service import get_period, rules_of
from ppdb.runtime import Runtime

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U to misread
LENGTH = 10  # 50 bits: guessing online is throttled; offline it would take the database
LOCK = timedelta(minutes=15)
CALLER_MAX_FAILURES = 30
"""Wrong PINs one client address or account may give within `LOCK`, across NIKs (an address may be a school's
or a carrier's NAT shared by many families: as many as password sign-ins, a budget of its own)."""
GUESS = "pin"
"""The `LoginAttempt.email` of a wrong PIN (no NIK is kept there; `address` is the caller)."""
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_pin() -> str:
    token = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{token[:5]}-{token[5:]}"


def digest(period_id: int, nik: str, pin: str) -> str:
    """The kept form of a PIN; a PIN typed with spaces, dashes, lower case or O/I/L for 0/1 is the same PIN."""
    clean = re.sub(r"[\s-]", "", pin.upper()).translate(_READ_AS)
    return hashlib.sha256(f"ppdb-pin:{period_id}:{nik}:{clean}".encode()).hexdigest()


async def _may_issue(session: AsyncSession, period: Period, user: Principal) -> None:
    """The Dinas of the period's region, or a school of that region, which checks the family's KK in person.
    (Not an origin school elsewhere: it writes its own graduate list, so that list cannot vouch for a NIK.)"""
    if user.role is Role.AGENCY_ADMIN:
        assert_region(user, period.region_id)
        return
    if (await own_school(session, user)).region_id != period.region_id:
        raise Forbidden("forbidden_region", "Hanya Dinas dan sekolah di daerah periode ini yang memberi PIN.")


async def issue(
    session: AsyncSession, period_id: int, data: schemas.PinIssue, user: Principal, runtime: Runtime | None = None
) -> list[schemas.PinOut]:
    """A new PIN for each NIK (replacing any issued before, failures forgotten), shown this once; audited."""
    period = await get_period(session, period_id)
    await _may_issue(session, period, user)
    if period.status not in (PeriodStatus.DRAFT, PeriodStatus.REGISTRATION_OPEN):
        raise Conflict("period_not_open", "PIN hanya diberikan sebelum dan selama pendaftaran.", "period_id")
    now = datetime.now(UTC)
    issued = [schemas.PinOut(nik=nik, pin=new_pin()) for nik in dict.fromkeys(data.niks)]
    admission = period.admission_id  # one PIN for every stage of the admission (Jatim)
    rows = [
        dict(period_id=admission, nik=p.nik, digest=digest(admission, p.nik, p.pin), issued_by=user.id, issued_at=now)
        for p in issued
    ]
    statement = insert(Pin).values(rows)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[Pin.period_id, Pin.nik],
            set_={"digest": statement.excluded.digest, "issued_by": user.id, "issued_at": now, "failures": 0},
        )
    )
    # Whoever signed in with an earlier PIN is signed out: the new PIN is the account's only key now.
    accounts = select(Pin.user_id).where(
        Pin.period_id == admission, Pin.nik.in_([p.nik for p in issued]), Pin.user_id.is_not(None)
    )
    ended = await session.scalars(
        delete(AuthSession).where(AuthSession.user_id.in_(accounts)).returning(AuthSession.user_id)
    )
    if runtime is not None:
        runtime.sign_out(ended)
    record_period(session, period.id, "pins.issue", actor=user.actor, new={"niks": [p.nik for p in issued]})
    return issued


async def check(
    sessionmaker: async_sessionmaker[AsyncSession], period: Period, data: schemas.ApplicationCreate, user: Principal
) -> None:
    """Where the rules require a PIN, a parent's registration carries the child's: refused otherwise (a wrong
    PIN is counted in a transaction of its own, so it counts even though the registration is refused)."""
    if not rules_of(period).pin_required or user.role is not Role.PARENT:
        return
    if data.pin is None:
        raise AppError(
            "pin_required",
            "Pendaftaran di daerah ini memerlukan PIN anak. Minta PIN ke sekolah di daerah ini atau ke Dinas dengan "
            "membawa KK.",
            "pin",
        )
    await verify(sessionmaker, period.admission_id, data.nik, data.pin, caller=user.actor)


async def verify(
    sessionmaker: async_sessionmaker[AsyncSession], period_id: int | None, nik: str, given: str, *, caller: str
) -> None:
    """The child's PIN (of the period; None: no period has one for this NIK), or the reason it is refused. A
    wrong one counts for the NIK and for `caller`, the one guessing (a client address at sign-in, an account at
    registration), committed before refusing: past `CALLER_MAX_FAILURES` within `LOCK` the caller is refused
    whatever NIK it tries."""
    now = datetime.now(UTC)
    async with sessionmaker.begin() as session:
        guesses = select(func.count()).where(
            LoginAttempt.email == GUESS, LoginAttempt.address == caller, LoginAttempt.at > now - LOCK
        )
        if (await session.scalar(guesses.where(LoginAttempt.success.is_(False))) or 0) >= CALLER_MAX_FAILURES:
            outcome = "throttled"
        else:
            pin = None if period_id is None else await session.get(Pin, (period_id, nik), with_for_update=True)
            if pin is not None and pin.failed_at is not None and pin.failed_at < now - LOCK:
                pin.failures = 0  # a lock, or a few old mistakes, expire
            if pin is not None and pin.failures >= PIN_MAX_FAILURES:
                outcome = "locked"
            elif pin is not None and hmac.compare_digest(pin.digest, digest(pin.period_id, nik, given)):
                return
            else:
                outcome = "wrong"
                if pin is not None:
                    pin.failures, pin.failed_at = pin.failures + 1, now
            session.add(LoginAttempt(email=GUESS, address=caller[:64], success=False))
    if outcome == "wrong":
        raise invalid()
    raise AppError(
        "pin_locked",
        f"Terlalu banyak PIN salah{' untuk NIK ini' if outcome == 'locked' else ''}. Coba lagi {LOCK.seconds // 60} "
        "menit lagi, atau minta PIN baru ke sekolah atau Dinas.",
        "pin",
        status_code=429,
    )


def invalid() -> AppError:
    """A wrong PIN, or a NIK without one: the same answer."""
    return AppError(
        "pin_invalid",
        "PIN tidak cocok dengan NIK ini, atau NIK ini belum mendapat PIN. Minta PIN ke sekolah atau Dinas dengan "
        "membawa KK.",
        "pin",
    )
