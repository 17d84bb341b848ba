"""Complaints: filing (a family about its own registration, anyone about a suspected fraud), following, the
Dinas' review and decision, evidence files, and the corrections an upheld complaint leads to.

Who sees a case: its complainant (an anonymous one with the code given at filing), the region's agency, and the
schools concerned (the school a report names, the schools the registration concerned chose). Only the agency
moves a case. Out of scope reads as absent (404), like an application."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ppdb import authz
from ppdb.accounts.models import Role
from ppdb.applicants import documents
from ppdb.applicants.models import Application, ApplicationStatus, Choice
from ppdb.audit.service import record
from ppdb.authz import Principal
from ppdb.complaints import schemas
from ppdb.complaints.models import Category, Complaint, Correction, Event, Evidence, Status
from ppdb.errors import AppError, Conflict, Forbidden, NotFound, Unauthenticated
from ppdb.notifications import outbox
from ppdb.notifications.messages import scrub
from ppdb.regions.models import Period, PeriodStatus
from ppdb.regions.rules import RuleSet
from ppdb.regions.service import get_period, rules_of
from ppdb.results.models import Publication
from ppdb.schools.models import PeriodSchool, School

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U to misread
NUMBER = re.compile(r"ADU-[0-9A-Z]{8}")
MAX_FILES = 5
ANONYMOUS_PER_HOUR = 5
"""Anonymous reports from one network address in an hour (a school's or an internet café's shared address
still lets a few through; a flood does not)."""
PER_ACCOUNT_PER_DAY = 10
OPEN_AFTER = (Status.RECEIVED, Status.IN_REVIEW)
WIB = timezone(timedelta(hours=7), "WIB")
STATUS_WORDS = {
    Status.RECEIVED: "diterima",
    Status.IN_REVIEW: "sedang diperiksa",
    Status.UPHELD: "dikabulkan",
    Status.REJECTED: "ditolak",
}
CATEGORY_WORDS = {
    Category.REGISTRATION: "data pendaftaran",
    Category.VERIFICATION: "keputusan verifikasi",
    Category.RESULT: "hasil seleksi",
    Category.FRAUD: "dugaan kecurangan",
}


def _token(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def _digest(code: str) -> str:
    return hashlib.sha256(code.strip().upper().replace("-", "").encode()).hexdigest()


def _not_found() -> NotFound:
    return NotFound("complaint_not_found", "Pengaduan tidak ditemukan.", "number")


async def file(
    session: AsyncSession, period_id: int, data: schemas.ComplaintIn, user: Principal | None, *, address: str
) -> schemas.ComplaintOut:
    """A new complaint. A family's is about its own registration in this period; a fraud report may be anonymous
    (then answered with a code to follow it). Within the limits per account and per address."""
    period = await get_period(session, period_id)
    category = Category(data.category)
    if user is None and category is not Category.FRAUD:
        raise Unauthenticated("login_required", "Masuk terlebih dahulu untuk mengadukan pendaftaran Anda.")
    if user is not None and user.role is not Role.PARENT:
        raise Forbidden("forbidden", "Pengaduan diajukan oleh orang tua atau masyarakat.")
    if period.status is PeriodStatus.DRAFT:
        raise Conflict("complaints_not_open", "Pengaduan dibuka sejak pendaftaran dibuka.", "period_id")
    await _within_limits(session, user, address)
    application_id, school_id = None, None
    if category is Category.FRAUD:
        if data.registration_number is not None:
            raise AppError(
                "registration_not_allowed",
                "Laporan kecurangan tidak menyebut nomor pendaftaran; sebutkan sekolah dan uraikan temuannya.",
                "registration_number",
            )
    else:
        if data.registration_number is None:
            raise AppError("registration_required", "Pilih pendaftaran yang diadukan.", "registration_number")
        assert user is not None
        ref = await authz.find_application(session, data.registration_number, user)
        if ref.period_id != period.id:
            raise NotFound("application_not_found", "Pendaftaran tidak ditemukan.", "registration_number")
        application_id = ref.id
    if category is Category.RESULT:
        await _within_objection_window(session, period)
    if data.npsn is not None:
        school_id = await session.scalar(
            select(School.id)
            .join(PeriodSchool, PeriodSchool.school_id == School.id)
            .where(School.npsn == data.npsn, PeriodSchool.period_id == period.id)
        )
        if school_id is None:
            raise NotFound("school_not_found", "Sekolah tidak ikut dalam periode ini.", "npsn")
    elif category is Category.FRAUD:
        raise AppError("school_required", "Sebutkan sekolah tempat dugaan kecurangan terjadi.", "npsn")
    code = None if user is not None else f"{_token(5)}-{_token(5)}"
    now = datetime.now(UTC)
    complaint = Complaint(
        number=f"ADU-{_token(8)}",
        period_id=period.id,
        category=category,
        status=Status.RECEIVED,
        application_id=application_id,
        school_id=school_id,
        filed_by=None if user is None else user.id,
        code_sha256=None if code is None else _digest(code),
        address=address[:64],
        text=data.text,
        filed_at=now,
        due_at=now + timedelta(days=rules_of(period).complaints.decision_days),
    )
    session.add(complaint)
    await session.flush()
    actor = "anonymous" if user is None else user.actor
    session.add(Event(complaint_id=complaint.id, status=Status.RECEIVED, actor=actor))
    _audit(session, complaint, "complaint.file", actor, {"category": category.value, "school": data.npsn})
    await _tell(session, complaint, "complaint_received")
    await session.flush()
    out = await _out(session, complaint)
    out.code = code
    return out


async def _within_limits(session: AsyncSession, user: Principal | None, address: str) -> None:
    """Counted one at a time per filer (an advisory lock): complaints sent at once count like ones in a row."""
    filer = address[:64] if user is None else user.actor
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext("ppdb.complaints"), func.hashtext(filer))))
    mine: ColumnElement[bool]
    if user is None:
        since, limit = datetime.now(UTC) - timedelta(hours=1), ANONYMOUS_PER_HOUR
        mine = Complaint.filed_by.is_(None) & (Complaint.address == address[:64])
    else:
        since, limit = datetime.now(UTC) - timedelta(days=1), PER_ACCOUNT_PER_DAY
        mine = Complaint.filed_by == user.id
    filed = await session.scalar(select(func.count()).select_from(Complaint).where(mine, Complaint.filed_at > since))
    if (filed or 0) >= limit:
        raise AppError(
            "too_many_complaints",
            "Terlalu banyak pengaduan dalam waktu singkat. Coba lagi nanti, atau hubungi posko pengaduan.",
            status_code=429,
        )


def objection_closes(published_at: datetime, rules: RuleSet) -> datetime:
    """The end of the masa sanggah of an announcement made at `published_at`."""
    return published_at + timedelta(days=rules.complaints.objection_days)


async def _within_objection_window(session: AsyncSession, period: Period) -> None:
    """A result is objected to after it is announced, within the masa sanggah of its latest announcement."""
    published = await session.scalar(
        select(func.max(Publication.published_at)).where(Publication.period_id == period.id)
    )
    if published is None:
        raise Conflict("not_published", "Hasil seleksi belum diumumkan; sanggah hasil diajukan setelahnya.", "category")
    closes = objection_closes(published, rules_of(period))
    if datetime.now(UTC) > closes:
        raise Conflict(
            "objection_closed",
            f"Masa sanggah hasil seleksi sudah berakhir ({closes.astimezone(WIB):%d-%m-%Y %H.%M} WIB).",
            "category",
        )


async def attach(
    session: AsyncSession,
    number: str,
    content: bytes,
    *,
    user: Principal | None,
    code: str | None,
    data_dir: Path,
    max_bytes: int,
) -> schemas.EvidenceOut:
    """An evidence file (PDF, JPEG or PNG by content), by the complainant while the case is open."""
    complaint = await _for_complainant(session, number, user, code, lock=True)
    if complaint.status not in OPEN_AFTER:
        raise Conflict("complaint_closed", "Pengaduan sudah diputus; bukti tidak dapat ditambah.", "number")
    count = await session.scalar(
        select(func.count()).select_from(Evidence).where(Evidence.complaint_id == complaint.id)
    )
    if (count or 0) >= MAX_FILES:
        raise Conflict("too_many_files", f"Paling banyak {MAX_FILES} berkas bukti per pengaduan.", "file")
    if not content:
        raise AppError("document_empty", "Berkas kosong.", "file")
    if len(content) > max_bytes:
        documents.refuse_size(max_bytes)
    content_type, extension = documents.sniff(content)
    folder = data_dir / "complaints" / str(complaint.period_id)
    name = documents.write_private(folder, content, extension)
    documents.files_follow(session, new=folder / name, replaced=None)
    evidence = Evidence(
        complaint_id=complaint.id,
        content_type=content_type,
        size_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        storage_name=f"{complaint.period_id}/{name}",
    )
    session.add(evidence)
    await session.flush()
    actor = "anonymous" if user is None else user.actor
    _audit(session, complaint, "complaint.evidence", actor, {"sha256": evidence.sha256, "size_bytes": len(content)})
    return schemas.EvidenceOut(
        id=evidence.id, content_type=content_type, size_bytes=len(content), uploaded_at=evidence.uploaded_at
    )


async def evidence(
    session: AsyncSession, number: str, file_id: int, user: Principal, *, data_dir: Path
) -> tuple[bytes, str, str]:
    """An evidence file (content, content type, download name), for the complainant and the staff who see the
    case; staff reads are audited."""
    complaint = await _visible(session, number, user)
    found = await session.get(Evidence, file_id)
    folder = (data_dir / "complaints").resolve()
    path = None if found is None or found.complaint_id != complaint.id else (folder / found.storage_name).resolve()
    if found is None or path is None or not path.is_relative_to(folder) or not path.is_file():
        raise NotFound("file_not_found", "Berkas bukti tidak ditemukan.", "file_id")
    if user.role is not Role.PARENT:
        _audit(session, complaint, "complaint.evidence_read", user.actor, {"sha256": found.sha256})
    return path.read_bytes(), found.content_type, f"{complaint.number}-{found.id}{path.suffix}"


async def read(session: AsyncSession, number: str, user: Principal) -> schemas.ComplaintOut:
    staff = user.role is not Role.PARENT
    return await _out(session, await _visible(session, number, user), staff=staff)


async def follow(session: AsyncSession, number: str, code: str) -> schemas.ComplaintOut:
    """An anonymous report, by its number and code."""
    return await _out(session, await _for_complainant(session, number, None, code))


async def mine(session: AsyncSession, user: Principal) -> list[schemas.ComplaintOut]:
    """A parent's complaints, newest first."""
    found = await session.scalars(
        select(Complaint).where(Complaint.filed_by == user.id).order_by(Complaint.id.desc()).limit(100)
    )
    return [await _out(session, c) for c in found]


async def of_period(
    session: AsyncSession, period_id: int, user: Principal, status: str | None = None
) -> list[schemas.ComplaintRow]:
    """The cases of a period the staff member sees: the agency all of its region's, a school those about it or
    its applicants; open ones first, the most urgent first."""
    period = await get_period(session, period_id)
    if user.role is Role.AGENCY_ADMIN:
        authz.assert_region(user, period.region_id)
        scope = Complaint.period_id == period.id
    else:  # a school: complaints about its applicants (not withdrawn); fraud reports are the Dinas' alone
        chose = (
            select(Choice.application_id)
            .join(Application, Application.id == Choice.application_id)
            .where(Choice.school_id == user.school_id, Application.status != ApplicationStatus.WITHDRAWN)
        )
        scope = (
            (Complaint.period_id == period.id)
            & (Complaint.category != Category.FRAUD)
            & ((Complaint.school_id == user.school_id) | Complaint.application_id.in_(chose))
        )
    stmt = (
        select(Complaint, Application.registration_number, School.npsn)
        .outerjoin(Application, Application.id == Complaint.application_id)
        .outerjoin(School, School.id == Complaint.school_id)
        .where(scope)
        .order_by(Complaint.status.in_(OPEN_AFTER).desc(), Complaint.due_at, Complaint.id)
        .limit(1000)
    )
    if status is not None:
        stmt = stmt.where(Complaint.status == Status(status))
    now = datetime.now(UTC)
    return [
        schemas.ComplaintRow(
            number=c.number,
            category=c.category.value,
            status=c.status.value,
            registration_number=reg,
            npsn=npsn,
            filed_at=c.filed_at,
            due_at=c.due_at,
            overdue=c.status in OPEN_AFTER and c.due_at < now,
        )
        for c, reg, npsn in (await session.execute(stmt)).all()
    ]


async def move(session: AsyncSession, number: str, user: Principal, data: schemas.Move) -> schemas.ComplaintOut:
    """The agency reviews a case, or decides it with a reason; the complainant is told of a decision."""
    complaint = await _visible(session, number, user, lock=True)
    if user.role is not Role.AGENCY_ADMIN:
        raise Forbidden("forbidden", "Pengaduan diputus oleh dinas.")
    to = Status(data.status)
    if complaint.status not in OPEN_AFTER or (to is Status.IN_REVIEW and complaint.status is Status.IN_REVIEW):
        word = STATUS_WORDS[complaint.status]
        raise Conflict("complaint_already_" + complaint.status.value, f"Pengaduan sudah {word}.", "status")
    if to is not Status.IN_REVIEW and not data.reason:
        raise AppError("reason_required", "Tuliskan alasan keputusan; alasan ini dikirim ke pengadu.", "reason")
    old = {"status": complaint.status.value}
    if data.registration_number is not None:
        if complaint.category is not Category.FRAUD:
            raise AppError(
                "registration_fixed", "Pengaduan ini sudah tentang pendaftaran pengadu.", "registration_number"
            )
        ref = await authz.find_application(session, data.registration_number, user, registrar=False)
        if ref.period_id != complaint.period_id:
            raise NotFound("application_not_found", "Pendaftaran tidak ditemukan.", "registration_number")
        complaint.application_id = ref.id
    complaint.status = to
    if to is not Status.IN_REVIEW:
        complaint.decided_at = datetime.now(UTC)
    session.add(Event(complaint_id=complaint.id, status=to, actor=user.actor, reason=data.reason))
    new = {"status": to.value, "reason": data.reason, "registration_number": data.registration_number}
    _audit(
        session, complaint, "complaint.review" if to is Status.IN_REVIEW else "complaint.decide", user.actor, new, old
    )
    if to is not Status.IN_REVIEW:
        await _tell(session, complaint, "complaint_decided", status=STATUS_WORDS[to], reason=scrub(data.reason or ""))
    await session.flush()
    return await _out(session, complaint, staff=True)


async def note_correction(
    session: AsyncSession, number: str, application: Application, action: str, user: Principal
) -> None:
    """Link a correction to the upheld case it is made for (the case's own registration, in its period); the
    next correction run takes it in (`take_in`)."""
    if user.role is not Role.AGENCY_ADMIN:
        raise Forbidden("forbidden", "Koreksi atas pengaduan dibuat oleh dinas.")
    complaint = await session.scalar(select(Complaint).where(Complaint.number == number))
    if complaint is None or complaint.period_id != application.period_id:
        raise NotFound("complaint_not_found", "Pengaduan tidak ditemukan pada periode ini.", "complaint")
    if complaint.status is not Status.UPHELD:
        raise Conflict("complaint_not_upheld", "Koreksi dibuat untuk pengaduan yang sudah dikabulkan.", "complaint")
    if complaint.application_id != application.id:
        raise Conflict(
            "complaint_other_application", "Pengaduan ini tentang pendaftaran lain; koreksi tidak dicatat.", "complaint"
        )
    session.add(Correction(complaint_id=complaint.id, application_id=application.id, action=action, actor=user.actor))


async def pending(session: AsyncSession, period_id: int, *, lock: bool = False) -> list[tuple[Correction, str]]:
    """The period's corrections no announced run has taken in yet (none, or a correction run not announced), each
    with its case's number (`lock`: held for the run that takes them in, read before it reads the data)."""
    announced = select(Publication.run_id).where(Publication.period_id == period_id)
    stmt = (
        select(Correction, Complaint.number)
        .join(Complaint, Complaint.id == Correction.complaint_id)
        .where(
            Complaint.period_id == period_id,
            or_(Correction.run_id.is_(None), Correction.run_id.not_in(announced)),
        )
        .order_by(Correction.id)
    )
    rows = await session.execute(stmt.with_for_update(of=Correction) if lock else stmt)
    return [(correction, number) for correction, number in rows]


def take_in(corrections: list[Correction], run_id: int) -> None:
    """Mark these corrections as taken in by the correction run `run_id` (only those it read: one made while it
    ran waits for the next)."""
    for correction in corrections:
        correction.run_id = run_id


async def _visible(session: AsyncSession, number: str, user: Principal, *, lock: bool = False) -> Complaint:
    stmt = select(Complaint).where(Complaint.number == number)
    complaint = await session.scalar(stmt.with_for_update() if lock else stmt)
    if complaint is None:
        raise _not_found()
    if user.role is Role.PARENT:
        allowed = complaint.filed_by == user.id
    elif user.role is Role.AGENCY_ADMIN:
        allowed = (await get_period(session, complaint.period_id)).region_id == user.region_id
    else:  # a school, as in `of_period`: not a fraud report (it may name the school and the reporter)
        row = None
        if complaint.application_id is not None:
            scope = authz.APPLICATION_SCOPE_COLUMNS.where(Application.id == complaint.application_id)
            row = (await session.execute(scope)).first()
        allowed = complaint.category is not Category.FRAUD and (
            complaint.school_id == user.school_id
            or (row is not None and await authz.chose_users_school(session, row, user, registrar=False))
        )
    if not allowed:
        raise _not_found()
    return complaint


async def _for_complainant(
    session: AsyncSession, number: str, user: Principal | None, code: str | None, *, lock: bool = False
) -> Complaint:
    """The case, for its complainant: a parent's own, or an anonymous one with its code."""
    if user is None and code is None:
        raise Unauthenticated("login_required", "Masuk terlebih dahulu, atau sertakan kode pengaduan.")
    if user is not None and code is None:
        complaint = await _visible(session, number, user, lock=lock)
        if complaint.filed_by != user.id:
            raise Forbidden("forbidden", "Hanya pengadu yang menambah bukti.")
        return complaint
    stmt = select(Complaint).where(Complaint.number == number)
    found = await session.scalar(stmt.with_for_update() if lock else stmt)
    given = _digest(code or "")
    if found is None or found.code_sha256 is None or not hmac.compare_digest(found.code_sha256, given):
        raise _not_found()
    return found


def _audit(
    session: AsyncSession,
    complaint: Complaint,
    action: str,
    actor: str,
    new: dict[str, Any],
    old: dict[str, Any] | None = None,
) -> None:
    """Audited by number; never the complaint's text (it may name other people)."""
    record(
        session,
        actor=actor,
        action=action,
        entity="complaint",
        entity_id=complaint.number,
        period_id=complaint.period_id,
        old=old,
        new=new,
    )


async def _tell(session: AsyncSession, complaint: Complaint, kind: str, **params: object) -> None:
    await outbox.to_parent(
        session,
        complaint.filed_by,
        kind,
        f"complaint:{complaint.number}:{kind}",
        number=complaint.number,
        path=f"/pengaduan/{complaint.number}",
        **params,
    )


ROLE_WORDS = {"parent": "pengadu", "anonymous": "pengadu", "agency_admin": "dinas", "school_operator": "sekolah"}


async def _out(session: AsyncSession, complaint: Complaint, *, staff: bool = False) -> schemas.ComplaintOut:
    """A case; the complainant sees who acted by role (dinas, sekolah), the staff by account."""
    registration = complaint.application_id and await session.scalar(
        select(Application.registration_number).where(Application.id == complaint.application_id)
    )
    school = None
    if complaint.school_id is not None:
        school = (await session.execute(select(School.npsn, School.name).where(School.id == complaint.school_id))).one()
    events = await session.scalars(select(Event).where(Event.complaint_id == complaint.id).order_by(Event.id))
    files = await session.scalars(select(Evidence).where(Evidence.complaint_id == complaint.id).order_by(Evidence.id))
    corrections = await session.execute(
        select(Correction, Application.registration_number)
        .join(Application, Application.id == Correction.application_id)
        .where(Correction.complaint_id == complaint.id)
        .order_by(Correction.id)
    )
    accused = complaint.category is Category.FRAUD and not staff  # the reporter learns nothing of the child
    if accused and registration:
        registration = "****" + registration[-4:]
    return schemas.ComplaintOut(
        number=complaint.number,
        period_id=complaint.period_id,
        category=complaint.category.value,
        status=complaint.status.value,
        registration_number=registration or None,
        npsn=school[0] if school else None,
        school_name=school[1] if school else None,
        text=complaint.text,
        anonymous=complaint.filed_by is None,
        filed_at=complaint.filed_at,
        due_at=complaint.due_at,
        decided_at=complaint.decided_at,
        events=[
            schemas.EventOut(
                status=e.status.value,
                actor=e.actor if staff else ROLE_WORDS.get(e.actor.split(":")[0], "dinas"),
                reason=e.reason,
                at=e.at,
            )
            for e in events
        ],
        files=[
            schemas.EvidenceOut(
                id=f.id, content_type=f.content_type, size_bytes=f.size_bytes, uploaded_at=f.uploaded_at
            )
            for f in files
        ],
        corrections=[]
        if accused
        else [
            schemas.CorrectionOut(registration_number=reg, action=c.action, at=c.at, run_id=c.run_id)
            for c, reg in corrections.all()
        ],
    )
