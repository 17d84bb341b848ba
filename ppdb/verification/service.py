"""Verifying documents and coordinates, fraud flags, the agency's corrections and disqualifications."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

import msgspec
from sqlalchemy import false, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ppdb.accounts.models import Role
from ppdb.applicants import service as applicants
from ppdb.applicants.models import (
    Applicant,
    Application,
    ApplicationStatus,
    Choice,
    Document,
    DocumentStatus,
    ProgramFinding,
)
from ppdb.applicants.schemas import ChoiceOut, DocumentOut
from ppdb.audit.models import AuditEntry
from ppdb.audit.service import record_application
from ppdb.authz import Principal, load_application, school_of
from ppdb.complaints import service as complaints
from ppdb.db.base import among
from ppdb.errors import AppError, ApplicationWithdrawn, Conflict, Forbidden, NotFound
from ppdb.geo import haversine_m
from ppdb.identity import completed_months, nik_matches
from ppdb.notifications import outbox
from ppdb.notifications.messages import scrub
from ppdb.regions.models import Kelurahan, Period, PeriodStatus
from ppdb.regions.rules import CERTIFICATE
from ppdb.regions.service import get_period, rules_of
from ppdb.schools.models import Program, School
from ppdb.scores import service as scores
from ppdb.scores.formula import Certificate, Component
from ppdb.scores.models import CertificateAward
from ppdb.verification import schemas

MANY_CHILDREN_ON_ONE_KK = 3
MANY_APPLICANTS_ON_ONE_POINT = 3
_STATUS_VALUES = frozenset(s.value for s in ApplicationStatus)
FAR_FROM_KELURAHAN_M = 3000.0


def far_from_kelurahan(kelurahan: Kelurahan | None, latitude: float, longitude: float) -> float | None:
    """How far a home lies from its kelurahan's centroid when that is farther than a verifier lets pass
    unflagged (a point in another city, swapped or mistyped digits); None otherwise or without a centroid."""
    if kelurahan is None or kelurahan.latitude is None or kelurahan.longitude is None:
        return None
    away = haversine_m(latitude, longitude, kelurahan.latitude, kelurahan.longitude)
    return away if away > FAR_FROM_KELURAHAN_M else None


def _home_point():
    """A home rounded to about a metre (in 1/100,000 degrees): children registered at one point are flagged
    together. Floats, not numeric: the count rounds every home of the period (docs/benchmarks.md)."""
    return (
        func.round(Applicant.latitude * 100_000).label("point_lat"),
        func.round(Applicant.longitude * 100_000).label("point_lon"),
    )


def _active(period: Period, *columns):
    return (
        select(*columns)
        .select_from(Applicant)
        .join(Application, Application.applicant_id == Applicant.id)
        .where(Applicant.period_id == period.id, Application.status != ApplicationStatus.WITHDRAWN)
    )


async def _counts(session: AsyncSession, period: Period, rows) -> tuple[dict, dict]:
    """Active applications in the whole period per KK and per home point, for the KKs and points of `rows`
    only (the KKs by their index; the points in one pass over the period, in the database)."""
    kk_counts = dict(
        (
            await session.execute(
                _active(period, Applicant.kk_number, func.count())
                .where(among(Applicant.kk_number, {r.kk_number for r in rows}))
                .group_by(Applicant.kk_number)
            )
        ).all()
    )
    lat, lon = (column.element for column in _home_point())
    point_counts = {
        (a, b): n
        for a, b, n in (
            await session.execute(
                _active(period, lat, lon, func.count())
                .where(lat.in_({r.point_lat for r in rows}), lon.in_({r.point_lon for r in rows}))
                .group_by(lat, lon)
            )
        ).all()
    }
    return kk_counts, point_counts


class Listed(NamedTuple):
    """A page of a school's applicants, and how many match in all."""

    rows: list[schemas.ApplicantRow]
    total: int


async def applicants_of(
    session: AsyncSession,
    npsn: str,
    period_id: int,
    user: Principal,
    flag: str | None = None,
    *,
    limit: int | None = None,
    offset: int = 0,
    status: str | None = None,
    path: str | None = None,
    search: str | None = None,
) -> Listed:
    """The school's applicants by choice rank and distance; a page of them with `limit`/`offset` (with `flag`,
    the page is of the flagged ones); only those of one `status` or `path` when given, and those whose name
    contains `search` or whose registration number or NISN it is. With how many match in all."""
    school = await school_of(session, npsn, user)
    period = await get_period(session, period_id)
    if period.region_id != school.region_id:
        raise NotFound("period_not_found", "Periode tidak ditemukan.", "period_id")
    rules = rules_of(period)
    # Planned for this school and this page each time: the plan PostgreSQL keeps for a statement run often
    # with any values (generic) counts the page's homes point by point, several times slower.
    await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    kk_recent = Applicant.kk_issued_on > period.registration_opens_at.date() - timedelta(days=rules.kk_min_age_days)
    query = (
        select(
            Application.id,
            Application.registration_number,
            Application.path,
            Application.status,
            Choice.rank,
            Choice.distance_m,
            Choice.in_zone,
            Program.code.label("program"),
            ProgramFinding.nik.is_not(None).label("program_unmet"),
            Applicant.nik,
            Applicant.nisn,
            Applicant.name,
            Applicant.sex,
            Applicant.birth_date,
            Applicant.kk_number,
            Applicant.kelurahan_code,
            Applicant.latitude,
            Applicant.longitude,
            Applicant.coordinate_verified_at,
            kk_recent.label("kk_recent"),
            *_home_point(),
        )
        .join(Choice, Choice.application_id == Application.id)
        .outerjoin(Program, Program.id == Choice.program_id)
        .join(Applicant, Applicant.id == Application.applicant_id)
        .outerjoin(
            ProgramFinding,
            (ProgramFinding.admission_id == (period.first_period_id or period.id))
            & (ProgramFinding.nik == Applicant.nik)
            & (ProgramFinding.school_id == Choice.school_id)
            & (ProgramFinding.code == Program.code),
        )
        .where(
            Application.period_id == period.id,
            Choice.school_id == school.id,
            Application.status != ApplicationStatus.WITHDRAWN,
        )
        .order_by(Choice.rank, Choice.distance_m, Application.id)
    )
    if search:
        query = query.where(
            Applicant.name.icontains(search, autoescape=True)
            | (Application.registration_number == search.upper())
            | (Applicant.nisn == search)
        )
    if status is not None:
        query = query.where(Application.status == ApplicationStatus(status) if status in _STATUS_VALUES else false())
    if path is not None:
        query = query.where(Application.path == path)
    if flag == "kk_recent":  # the one flag the database decides alone: it leaves out the rest
        query = query.where(kk_recent)
    paged_in_sql = limit is not None and flag in (None, "kk_recent")  # else the page is of the flagged ones
    if paged_in_sql:
        query = query.add_columns(func.count().over().label("total")).limit(limit).offset(offset)
    rows = (await session.execute(query)).all()
    if not paged_in_sql:
        total = None
    elif rows or not offset:
        total = rows[0].total if rows else 0
    else:  # a page past the end: counted on its own
        counted = query.limit(None).offset(None).order_by(None).subquery()
        total = await session.scalar(select(func.count()).select_from(counted)) or 0
    kk_counts, point_counts = await _counts(session, period, rows)
    kelurahan = {
        k.code: k
        for k in await session.scalars(select(Kelurahan).where(Kelurahan.code.in_({r.kelurahan_code for r in rows})))
    }
    moved = set(
        await session.scalars(
            select(AuditEntry.entity_id).where(
                AuditEntry.period_id == period.id,
                AuditEntry.action.in_(["application.change", "coordinate.correct"]),
                AuditEntry.new.has_key("latitude") | AuditEntry.new.has_key("longitude"),
            )
        )
    )
    score_flags = await scores.flags(session, period, [(r.nik, r.nisn, r.birth_date) for r in rows])
    reused = await scores.reused_certificates(session, period.id, [r.id for r in rows])
    found = []
    for r in rows:
        flags: list[schemas.Flag] = []
        if r.kk_recent:
            flags.append("kk_recent")
        if kk_counts.get(r.kk_number, 0) >= MANY_CHILDREN_ON_ONE_KK:
            flags.append("kk_many_children")
        if point_counts.get((r.point_lat, r.point_lon), 0) >= MANY_APPLICANTS_ON_ONE_POINT:
            flags.append("shared_coordinate")
        if far_from_kelurahan(kelurahan.get(r.kelurahan_code), r.latitude, r.longitude):
            flags.append("far_from_kelurahan")
        if r.registration_number in moved:
            flags.append("coordinate_moved")
        if not nik_matches(r.nik, r.birth_date, r.sex):
            flags.append("nik_birthdate_mismatch")
        flags += score_flags.get(r.nik, [])
        if r.id in reused:
            flags.append("certificate_reused")
        if flag is None or flag in flags:
            found.append((r, flags))
    if total is None:
        total = len(found)
        if limit is not None:
            found = found[offset : offset + limit]
    documents = await _documents(session, [r.id for r, _ in found])
    page = [
        schemas.ApplicantRow(
            registration_number=r.registration_number,
            name=r.name,
            birth_date=r.birth_date,
            path=r.path,
            status=r.status.value,
            choice_rank=r.rank,
            program=r.program,
            program_unmet=r.program_unmet,
            distance_m=float(r.distance_m),
            in_zone=r.in_zone,
            coordinate_locked=r.coordinate_verified_at is not None,
            documents=documents.get(r.id, []),
            flags=flags,
        )
        for r, flags in found
    ]
    return Listed(page, total)


async def _documents(session: AsyncSession, application_ids: list[int]) -> dict[int, list[DocumentOut]]:
    found: dict[int, list[DocumentOut]] = {}
    for d in await session.execute(
        select(Document.application_id, Document.kind, Document.status, Document.content_type, Document.size_bytes)
        .where(Document.application_id.in_(application_ids))
        .order_by(Document.kind)
    ):
        found.setdefault(d.application_id, []).append(
            DocumentOut(kind=d.kind, status=d.status.value, content_type=d.content_type, size_bytes=d.size_bytes)
        )
    return found


async def _for_staff(session: AsyncSession, registration_number: str, user: Principal) -> Application:
    application = await load_application(session, registration_number, user, lock=True, registrar=False)
    if application.status is ApplicationStatus.WITHDRAWN:
        raise ApplicationWithdrawn()
    return application


DECIDED = frozenset((PeriodStatus.SELECTED, PeriodStatus.PUBLISHED, PeriodStatus.REREGISTRATION, PeriodStatus.VACANCY))
"""After the official selection a document decision changes a result: only as a correction for an upheld case."""


async def decide_document(
    session: AsyncSession, registration_number: str, kind: str, user: Principal, decision: schemas.DocumentDecision
) -> DocumentOut:
    application = await _for_staff(session, registration_number, user)
    document = next((d for d in application.documents if d.kind == kind), None)
    if document is None:
        raise NotFound("document_not_found", "Dokumen ini tidak ada pada pendaftaran.", "kind")
    if document.storage_name is None:
        raise Conflict("document_not_uploaded", "Dokumen ini belum diunggah; tidak ada yang bisa diperiksa.", "kind")
    if decision.decision == "rejected" and not decision.reason:
        raise AppError("reason_required", "Tuliskan alasan penolakan dokumen.", "reason")
    period = await get_period(session, application.period_id)
    if decision.complaint is None and period.status in DECIDED:
        raise Conflict(
            "documents_decided",
            "Keputusan dokumen tidak dapat diubah lagi setelah seleksi resmi; koreksi melalui pengaduan yang "
            "dikabulkan Dinas.",
            "kind",
        )
    scored = kind == CERTIFICATE and certificate_component(application, period)
    if decision.decision == "verified" and scored:
        raise Conflict(
            "certificate_points_required",
            "Sertifikat pada jalur ini diverifikasi dengan mengisi tingkat, peringkat, dan tanggalnya.",
            "kind",
        )
    old = {"status": document.status.value, "reason": document.reason}
    document.status = DocumentStatus(decision.decision)
    document.reason, document.decided_by = decision.reason, user.id
    await _for_complaint(session, decision.complaint, application, "document.decide", user)
    record_application(
        session,
        application,
        "document.decide",
        actor=user.actor,
        old=old,
        new={"kind": kind, "status": decision.decision, "reason": decision.reason, "complaint": decision.complaint},
    )
    _refresh_status(application)
    if document.status is DocumentStatus.REJECTED:
        period = await get_period(session, application.period_id)
        number = application.registration_number
        await outbox.to_parent(
            session,
            application.parent_id,
            "document_rejected",
            f"document:{number}:{kind}:{uuid.uuid4().hex[:12]}",
            registration_number=number,
            document=rules_of(period).document_title(kind),
            reason=scrub(decision.reason or ""),
            path=f"/pendaftaran/{number}",
        )
    await session.flush()
    return DocumentOut(
        kind=kind, status=document.status.value, content_type=document.content_type, size_bytes=document.size_bytes
    )


async def check_program(
    session: AsyncSession, registration_number: str, user: Principal, check: schemas.ProgramCheck
) -> ChoiceOut:
    """The school's finding on the requirements of an SMK program the child chose. It stays with the child and
    the program for the whole admission (`ProgramFinding`): a choice of that program takes no part in a
    selection, the child's other choices do. The school of the program decides, or the Dinas; after the
    official selection only as a correction for an upheld case."""
    application = await _for_staff(session, registration_number, user)
    npsn, _, code = check.program.partition("/")
    choice = next((c for c in application.choices if c.program is not None and c.program.code == code.upper()), None)
    if choice is None or await session.scalar(select(School.npsn).where(School.id == choice.school_id)) != npsn:
        raise NotFound(
            "program_choice_not_found", f"Program {check.program} tidak dipilih pada pendaftaran ini.", "program"
        )
    assert choice.program is not None
    if user.role is Role.SCHOOL_OPERATOR and user.school_id != choice.school_id:
        raise Forbidden("forbidden_school", "Syarat program diperiksa oleh sekolah program itu.")
    period = await get_period(session, application.period_id)
    rules = rules_of(period)
    foreign = [name for name in check.unmet if name not in choice.program.requirements]
    if foreign:
        raise AppError(
            "program_requirement_unknown",
            f"'{foreign[0]}' bukan syarat program {choice.program.name}. Syaratnya: "
            f"{', '.join(choice.program.requirements) or 'tidak ada'}.",
            "unmet",
        )
    if check.unmet and not check.reason:
        raise AppError("reason_required", "Tuliskan alasan syarat program tidak terpenuhi.", "reason")
    if check.complaint is None and period.status in DECIDED:
        raise Conflict(
            "documents_decided",
            "Pemeriksaan syarat program tidak dapat diubah lagi setelah seleksi resmi; koreksi melalui pengaduan "
            "yang dikabulkan Dinas.",
            "unmet",
        )
    admission_id, nik = period.first_period_id or period.id, application.applicant.nik
    finding = await session.get(ProgramFinding, (admission_id, nik, choice.school_id, choice.program.code))
    old = {"unmet": finding.unmet, "reason": finding.reason} if finding else None
    unmet = sorted(set(check.unmet))
    if not unmet:
        if finding is not None:
            await session.delete(finding)
    elif finding is None:
        session.add(
            ProgramFinding(
                admission_id=admission_id,
                nik=nik,
                school_id=choice.school_id,
                code=choice.program.code,
                unmet=unmet,
                reason=check.reason,
                decided_by=user.id,
            )
        )
    else:
        finding.unmet, finding.reason, finding.decided_by = unmet, check.reason or "", user.id
        finding.decided_at = func.now()
    await _for_complaint(session, check.complaint, application, "program.check", user)
    record_application(
        session,
        application,
        "program.check",
        actor=user.actor,
        old=old,
        new={"program": check.program.upper(), "unmet": unmet, "reason": check.reason},
    )
    application.updated_at = func.clock_timestamp()  # its provisional result is stale until the next run
    if unmet:
        number = application.registration_number
        advice = (
            "Ganti pilihan selama pendaftaran masih dibuka:"
            if period.status is PeriodStatus.REGISTRATION_OPEN
            else "Rinciannya:"
        )
        await outbox.to_parent(
            session,
            application.parent_id,
            "program_unmet",
            f"program:{number}:{check.program.upper()}:{uuid.uuid4().hex[:12]}",
            registration_number=number,
            program=choice.program.name,
            requirements=", ".join(rules.programs.title(n) for n in unmet),
            reason=scrub(check.reason or ""),
            advice=advice,
            path=f"/pendaftaran/{number}",
        )
    await session.flush()
    read = await applicants.read(session, registration_number)
    return next(c for c in read.choices if c.rank == choice.rank)


def certificate_component(application: Application, period: Period) -> Component | None:
    """The score component the application's path awards certificate points by, if any."""
    path = rules_of(period).path(application.path)
    score = None if path is None else path.score
    return None if score is None else next((c for c in score.components if c.points is not None), None)


async def award_certificate(
    session: AsyncSession, registration_number: str, user: Principal, check: schemas.CertificateCheck
) -> schemas.CertificateOut:
    """The destination school checks the uploaded certificate (level, rank, date) and the region's table gives its
    points; the document is verified with it. Until the selection runs: its result rests on them."""
    application = await _for_staff(session, registration_number, user)
    period = await get_period(session, application.period_id)
    component = certificate_component(application, period)
    if component is None or component.points is None:
        raise Conflict("certificate_not_scored", "Jalur pendaftaran ini tidak menilai sertifikat prestasi.", "path")
    if check.complaint is None and period.status not in (
        PeriodStatus.REGISTRATION_OPEN,
        PeriodStatus.REGISTRATION_CLOSED,
    ):
        raise Conflict(
            "scores_locked",
            "Poin sertifikat tidak bisa diubah lagi: seleksi sudah berjalan (kecuali koreksi atas pengaduan).",
            "period_id",
        )
    document = next((d for d in application.documents if d.kind == CERTIFICATE), None)
    if document is None or document.sha256 is None:
        raise Conflict("document_not_uploaded", "Sertifikat prestasi belum diunggah.", "kind")
    table, reference = component.points, rules_of(period).reference_date
    age = completed_months(check.issued_on, reference)
    if check.issued_on > reference or not table.newest_months <= age < table.oldest_months:
        raise AppError(
            "certificate_out_of_window",
            f"Sertifikat harus terbit paling lama {table.oldest_months} bulan dan paling cepat "
            f"{table.newest_months} bulan sebelum {reference:%d-%m-%Y}.",
            "issued_on",
        )
    points = table.award(check.level, check.rank, check.team)
    certificate = Certificate(check.level, check.rank, check.team, points or Decimal(0))
    if points is None:
        raise AppError("certificate_not_in_table", f"Juknis tidak memberi poin untuk {certificate.words}.", "rank")
    number = None if check.number is None else re.sub(r"\s+", "", check.number).upper()
    award = await session.get(CertificateAward, application.id)
    old = None if award is None else _award_audit(award)
    if award is None:
        award = CertificateAward(application_id=application.id)
        session.add(award)
    award.level, award.rank, award.team, award.issued_on = check.level, check.rank, check.team, check.issued_on
    award.number, award.sha256, award.value, award.entered_by = number, document.sha256, points, user.id
    award.entered_at = datetime.now(UTC)
    document.status, document.reason, document.decided_by = DocumentStatus.VERIFIED, None, user.id
    await _for_complaint(session, check.complaint, application, "certificate.award", user)
    new = _award_audit(award) | {"complaint": check.complaint}
    record_application(session, application, "certificate.award", actor=user.actor, old=old, new=new)
    _refresh_status(application)
    await session.flush()
    return schemas.CertificateOut(
        level=check.level,
        rank=check.rank,
        team=check.team,
        issued_on=check.issued_on,
        number=number,
        points=float(points),
        words=certificate.words,
    )


def _award_audit(award: CertificateAward) -> dict[str, object]:
    return {
        "level": award.level,
        "rank": award.rank,
        "team": award.team,
        "issued_on": award.issued_on.isoformat(),
        "number": award.number,
        "points": str(award.value),
        "sha256": award.sha256,
    }


async def verify_coordinate(session: AsyncSession, registration_number: str, user: Principal) -> None:
    application = await _for_staff(session, registration_number, user)
    person = application.applicant
    if person.coordinate_verified_at is not None:
        raise Conflict("coordinate_already_verified", "Koordinat sudah diverifikasi.", "latitude")
    person.coordinate_verified_at, person.coordinate_verified_by = datetime.now(UTC), user.id
    record_application(
        session,
        application,
        "coordinate.verify",
        actor=user.actor,
        new={"latitude": person.latitude, "longitude": person.longitude, "locked": True},
    )
    _refresh_status(application)
    await session.flush()


async def correct_coordinate(
    session: AsyncSession, registration_number: str, user: Principal, correction: schemas.CoordinateCorrection
) -> None:
    """The agency moves a (possibly locked) home coordinate, with a reason; distances are recomputed."""
    application = await _for_staff(session, registration_number, user)
    ctx = await applicants.load_context(session, application.period_id)
    current = applicants.current_data(application, ctx)
    merged = msgspec.structs.replace(current, latitude=correction.latitude, longitude=correction.longitude)
    # The true location wins even outside the zone: the next run then drops the zoned choices, with a reason.
    plan = applicants.validate(ctx, merged, enforce_zone=False)
    old = {"latitude": current.latitude, "longitude": current.longitude}
    await _for_complaint(session, correction.complaint, application, "coordinate.correct", user)
    await applicants.apply_plan(session, application, merged, plan)
    record_application(
        session,
        application,
        "coordinate.correct",
        actor=user.actor,
        old=old,
        new={
            "latitude": correction.latitude,
            "longitude": correction.longitude,
            "reason": correction.reason,
            "complaint": correction.complaint,
        },
    )
    await session.flush()


async def disqualify(
    session: AsyncSession, registration_number: str, user: Principal, data: schemas.Disqualification
) -> None:
    application = await _for_staff(session, registration_number, user)
    if application.status is ApplicationStatus.DISQUALIFIED:
        raise Conflict("already_disqualified", "Pendaftaran ini sudah didiskualifikasi.", "status")
    await _for_complaint(session, data.complaint, application, "application.disqualify", user)
    old = application.status.value
    application.status, application.status_reason = ApplicationStatus.DISQUALIFIED, data.reason
    record_application(
        session,
        application,
        "application.disqualify",
        actor=user.actor,
        old={"status": old},
        new={"status": "disqualified", "reason": data.reason, "complaint": data.complaint},
    )
    await session.flush()


async def _for_complaint(
    session: AsyncSession, number: str | None, application: Application, action: str, user: Principal
) -> None:
    """A correction made for an upheld complaint is linked to it (the agency's; a correction run takes it in)."""
    if number is not None:
        await complaints.note_correction(session, number, application, action, user)


def _refresh_status(application: Application) -> None:
    """Verified once the coordinate is locked and every document is verified; submitted otherwise."""
    if application.status not in (ApplicationStatus.SUBMITTED, ApplicationStatus.VERIFIED):
        return
    done = application.applicant.coordinate_verified_at is not None and all(
        d.status is DocumentStatus.VERIFIED for d in application.documents
    )
    application.status = ApplicationStatus.VERIFIED if done else ApplicationStatus.SUBMITTED
