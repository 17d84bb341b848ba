"""Object scope, beside the route matrix: every service that acts for a user, called with a principal outside
its scope, refuses (403 for another region's data, 404 where even existence is not told) and changes nothing.

The route matrix (test_authorization.py) shows the routes are guarded; this shows the services are, so a new
caller (a page, the CLI, a background flow) cannot forget the check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from ppdb import authz, flows
from ppdb.accounts import service as accounts
from ppdb.accounts.models import Role
from ppdb.accounts.schemas import OperatorCreate
from ppdb.applicants.models import Application
from ppdb.audit.service import LogFilter, read_log
from ppdb.authz import Principal
from ppdb.errors import AppError
from ppdb.regions import schemas as region_schemas
from ppdb.regions import service as regions
from ppdb.reregistration import service as reregistration
from ppdb.reregistration.models import Decision
from ppdb.runtime import Runtime
from ppdb.schools import service as schools
from ppdb.schools.models import School
from ppdb.selection import service as selection
from ppdb.verification import schemas as verification_schemas
from ppdb.verification import service as verification
from tests.conftest import PASSWORD
from tests.helpers import HOME, open_period, registration

ELSEWHERE = 2**31 - 7  # a region, school and user id that exist nowhere


def _principal(role: Role, *, id: int = ELSEWHERE, region: int | None = None, school: int | None = None) -> Principal:
    return Principal(id=id, role=role, region_id=region, school_id=school, email=f"{role.value}@luar.test")


async def _refused(call) -> AppError:
    with pytest.raises(AppError) as raised:
        await call
    assert raised.value.status_code in (403, 404), (raised.value.code, raised.value.message)
    return raised.value


async def test_scoped_services_refuse_principals_outside_their_scope(admin, parent, session, sessionmaker):
    period = await open_period(admin)
    pid, region = period["id"], period["region_id"]
    number = (await parent.post(f"/api/periods/{pid}/applications", json=registration(choices=["20670001"]))).json()[
        "registration_number"
    ]
    owner = (await parent.get("/api/auth/me")).json()["id"]
    chosen, unchosen = [
        await session.scalar(select(School.id).where(School.npsn == npsn)) for npsn in ("20670001", "20670002")
    ]
    stranger = _principal(Role.PARENT)
    other_admin = _principal(Role.AGENCY_ADMIN, region=ELSEWHERE)
    other_operator = _principal(Role.SCHOOL_OPERATOR, region=region, school=unchosen)
    own_operator = _principal(Role.SCHOOL_OPERATOR, region=region, school=chosen)
    own_admin = _principal(Role.AGENCY_ADMIN, region=region)
    outsiders = (stranger, other_admin, other_operator)
    audit_before = await session.scalar(text("SELECT count(*) FROM audit_log"))

    # Who is in scope gets through (so the refusals below are about scope, not a broken set-up).
    for insider in (_principal(Role.PARENT, id=owner), own_operator, own_admin):
        assert (await authz.find_application(session, number, insider)).registration_number == number
    assert (await authz.load_application(session, number, _principal(Role.PARENT, id=owner), write=True)).id

    # Applications: reading, and changing (the parent's own only: staff change through their audited actions).
    for user in outsiders:
        await _refused(authz.find_application(session, number, user))
        await _refused(authz.load_application(session, number, user))
        await _refused(selection.status(Runtime(), sessionmaker, number, user))
        await _refused(
            verification.decide_document(
                session, number, "kk", user, verification_schemas.DocumentDecision(decision="verified")
            )
        )
        await _refused(verification.verify_coordinate(session, number, user))
        await _refused(
            verification.correct_coordinate(
                session,
                number,
                user,
                verification_schemas.CoordinateCorrection(
                    latitude=HOME[0], longitude=HOME[1], reason="Titik rumah salah"
                ),
            )
        )
        await _refused(
            verification.disqualify(
                session, number, user, verification_schemas.Disqualification(reason="Dokumen palsu")
            )
        )
        await _refused(reregistration.decide(session, number, user, Decision.CONFIRMED))
    for staff in (own_operator, own_admin):
        await _refused(authz.load_application(session, number, staff, write=True))
    await _refused(reregistration.decide(session, number, own_admin, Decision.CONFIRMED))  # the family decides
    row = (
        await session.execute(authz.APPLICATION_SCOPE_COLUMNS.where(Application.registration_number == number))
    ).one()
    await _refused(authz.check_application(session, row, other_operator))
    assert not authz.row_grants(row, own_operator)  # an operator's scope is in the choices: asked of the database
    assert (await authz.check_application(session, row, own_operator)).id == row.id

    # Schools: their own operator and their region's agency only.
    for user in (stranger, other_admin, other_operator):
        await _refused(authz.school_of(session, "20670001", user))
        await _refused(verification.applicants_of(session, "20670001", pid, user))
    await _refused(authz.own_school(session, own_admin))
    await _refused(
        accounts.create_operator(
            session, other_admin, OperatorCreate(email="op@luar.test", password=PASSWORD, name="Op", npsn="20670001")
        )
    )

    # Periods: another region's agency.
    now = datetime.now(UTC)
    create = region_schemas.PeriodCreate(
        region_id=region,
        school_year="2028/2029",
        level="smp",
        preset="permendikdasmen-3-2025",
        registration_opens_at=now + timedelta(days=1),
        registration_closes_at=now + timedelta(days=9),
    )
    await _refused(regions.create_period(session, create, other_admin))
    await _refused(regions.get_period(session, pid, user=other_admin))
    await _refused(regions.update_rules(session, pid, region_schemas.RulesUpdate(max_choices=2), other_admin))
    await _refused(flows.open_registration(session, pid, other_admin))
    await _refused(flows.close_registration(session, pid, other_admin))
    await _refused(flows.run_official(session, pid, other_admin, secret="rahasia"))
    await _refused(schools.import_schools(session, pid, "npsn,name\n", other_admin))
    await _refused(schools.import_zones(session, pid, "npsn,kelurahan_code\n", other_admin))
    await _refused(read_log(session, pid, other_admin, LogFilter()))
    await _refused(flows.open_reregistration(session, pid, other_admin, now + timedelta(days=3)))
    await _refused(flows.release_unclaimed(session, pid, other_admin))
    await _refused(flows.vacancy_round(session, pid, other_admin))

    assert await session.scalar(text("SELECT count(*) FROM audit_log")) == audit_before  # nothing was done
