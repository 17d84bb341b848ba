"""Who may see and do what: the caller (`Principal`) and the object-scope checks every service makes.

Guards on routes check roles only (`accounts/guards.py`); whether this user may touch this region, school
or application is decided here, by the services. Out of scope reads as absent (404) for objects a caller
could otherwise probe for (applications, schools), as forbidden (403) for another region's data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from ppdb.accounts.models import Role
from ppdb.applicants.models import Application, ApplicationStatus, Choice
from ppdb.errors import Forbidden, NotFound
from ppdb.regions.models import Period
from ppdb.schools.models import School


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: what guards and services check."""

    id: int
    role: Role
    region_id: int | None
    school_id: int | None
    email: str | None

    @property
    def actor(self) -> str:
        return f"{self.role.value}:{self.id}"


# Regions ------------------------------------------------------------------------------------------------


def assert_region(user: Principal, region_id: int) -> None:
    """Agency staff act only in their own region; elsewhere the object does not exist for them."""
    if user.region_id != region_id:
        raise Forbidden("forbidden_region", "Data ini milik wilayah lain.")


# Schools ------------------------------------------------------------------------------------------------


def governs_school(user: Principal, school: School) -> bool:
    """A school is its own operator's, and its region's agency's."""
    if user.role is Role.SCHOOL_OPERATOR:
        return user.school_id == school.id
    return user.role is Role.AGENCY_ADMIN and user.region_id == school.region_id


def assert_school(user: Principal, school: School | None) -> School:
    """The school, if the caller works for it (see `governs_school`); the same 404 as a missing one otherwise."""
    if school is None or not governs_school(user, school):
        raise NotFound("school_not_found", "Sekolah tidak ditemukan.", "npsn")
    return school


async def school_of(session: AsyncSession, npsn: str, user: Principal) -> School:
    """The school with this NPSN, if the caller works for it."""
    return assert_school(user, await session.scalar(select(School).where(School.npsn == npsn)))


async def own_school(session: AsyncSession, user: Principal) -> School:
    """A school operator's own school."""
    school = None if user.school_id is None else await session.get(School, user.school_id)
    if school is None:
        raise Forbidden("no_school", "Akun ini tidak terhubung ke sekolah.")
    return school


async def assert_placing_school(session: AsyncSession, user: Principal, npsn: str) -> None:
    """A school records daftar ulang only for the children it placed (at the school with this NPSN)."""
    if user.role is Role.SCHOOL_OPERATOR and user.school_id != await session.scalar(
        select(School.id).where(School.npsn == npsn)
    ):
        raise Forbidden("forbidden", "Hanya sekolah tempat diterima yang mencatat daftar ulang.")


def assert_reregistration_actor(user: Principal) -> None:
    """The family decides daftar ulang, or the school records it; the agency does not."""
    if user.role is Role.AGENCY_ADMIN:
        raise Forbidden("forbidden", "Daftar ulang dilakukan oleh orang tua atau sekolah.")


# Applications -------------------------------------------------------------------------------------------
#
# Parents see and change their own; agency admins see their region's; school operators see the applications
# that chose their school, and those their school registered in person (walk-in). Changes by staff go through their own audited actions, not the parent's `write`.


@dataclass(frozen=True, slots=True)
class ApplicationRef:
    """What reading an application's status needs, without loading the application."""

    id: int
    registration_number: str
    period_id: int
    status: ApplicationStatus
    updated_at: datetime


class ScopeRow(Protocol):
    """A row of `APPLICATION_SCOPE_COLUMNS` (a caller may select more columns beside them)."""

    @property
    def id(self) -> int: ...
    @property
    def registration_number(self) -> str: ...
    @property
    def period_id(self) -> int: ...
    @property
    def status(self) -> ApplicationStatus: ...
    @property
    def updated_at(self) -> datetime: ...
    @property
    def parent_id(self) -> int | None: ...
    @property
    def registrar_school_id(self) -> int | None: ...
    @property
    def region_id(self) -> int: ...


# What deciding scope needs of an application (joined with its period, for the region).
APPLICATION_SCOPE_COLUMNS = select(
    Application.id,
    Application.registration_number,
    Application.period_id,
    Application.status,
    Application.updated_at,
    Application.parent_id,
    Application.registrar_school_id,
    Period.region_id,
).join(Period, Period.id == Application.period_id)
_BY_NUMBER = APPLICATION_SCOPE_COLUMNS.where(Application.registration_number == bindparam("number"))
_CHOSE_SCHOOL = select(Choice.rank).where(
    Choice.application_id == bindparam("application"), Choice.school_id == bindparam("school")
)


def row_grants(row: ScopeRow, user: Principal, *, write: bool = False) -> bool:
    """Whether the application's own columns let the caller see it (or change it, with `write`): a parent's
    own, the agency's region. A school operator's scope is in the choices, not the row: False for them here,
    `check_application` asks the database."""
    if user.role is Role.PARENT:
        return row.parent_id == user.id
    return not write and user.role is Role.AGENCY_ADMIN and row.region_id == user.region_id


async def chose_users_school(session: AsyncSession, row: ScopeRow, user: Principal, *, registrar: bool) -> bool:
    """A school operator's: the child chose the school, or (with `registrar`) the school registered the family in
    person."""
    if user.role is not Role.SCHOOL_OPERATOR or user.school_id is None or row.status is ApplicationStatus.WITHDRAWN:
        return False  # a withdrawn registration is no longer a school's to see (its family's and the Dinas' only)
    if registrar and row.registrar_school_id == user.school_id:
        return True
    return await session.scalar(_CHOSE_SCHOOL, {"application": row.id, "school": user.school_id}) is not None


async def check_application(
    session: AsyncSession, row: ScopeRow | None, user: Principal, *, write: bool = False, registrar: bool = True
) -> ApplicationRef:
    """The application in `row` if the caller may see it (or change it, with `write`); the same 404 as a
    missing one otherwise. `registrar=False`: a school's verifier powers, which belong to the chosen schools
    only (the school that registered a walk-in sees it, uploads for it and prints its proof, but does not
    verify or score it)."""
    if row is None or not (
        row_grants(row, user, write=write)
        or (not write and await chose_users_school(session, row, user, registrar=registrar))
    ):
        raise NotFound("application_not_found", "Pendaftaran tidak ditemukan.", "registration_number")
    return ApplicationRef(row.id, row.registration_number, row.period_id, row.status, row.updated_at)


async def find_application(
    session: AsyncSession, registration_number: str, user: Principal, *, write: bool = False, registrar: bool = True
) -> ApplicationRef:
    """`check_application` for a registration number."""
    row = (await session.execute(_BY_NUMBER, {"number": registration_number})).first()
    return await check_application(session, row, user, write=write, registrar=registrar)


async def load_application(
    session: AsyncSession,
    registration_number: str,
    user: Principal,
    *,
    write: bool = False,
    lock: bool | None = None,
    registrar: bool = True,
) -> Application:
    """`find_application`, then the application itself with its applicant, choices and documents (locked
    for a change: with `write`, or `lock`)."""
    await find_application(session, registration_number, user, write=write, registrar=registrar)
    stmt = (
        select(Application)
        .where(Application.registration_number == registration_number)
        .options(
            selectinload(Application.applicant),
            selectinload(Application.choices).selectinload(Choice.program),
            selectinload(Application.documents),
        )
    )
    if write if lock is None else lock:
        stmt = stmt.with_for_update(of=Application)
    application = await session.scalar(stmt)
    if application is None:  # its period was deleted in between
        raise NotFound("application_not_found", "Pendaftaran tidak ditemukan.", "registration_number")
    return application
