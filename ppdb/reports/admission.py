"""The laporan pelaksanaan (Permendikdasmen 3/2025 Pasal 33): for every stage of an admission and every path, the
applicants and the published placements by sex, disability, afirmasi group, origin school and kelurahan; the
complaints by category and outcome with their time to decision; and the accepted students in the shape the
destination schools enter into Dapodik. A read model: it writes nothing but the audit entry of an export."""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import msgspec
from fpdf import FPDF
from sqlalchemy import exists, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ppdb.applicants.models import SELECTED_STATUSES, Applicant, Application, ApplicationStatus, Document
from ppdb.audit.service import record_period
from ppdb.authz import Principal
from ppdb.complaints.models import Complaint
from ppdb.regions.models import Kelurahan, Period
from ppdb.reregistration.models import Reregistration
from ppdb.results.models import Publication, PublicationEntry
from ppdb.results.service import spreadsheet_text
from ppdb.schools.models import School
from ppdb.scores.models import Graduate
from ppdb.selection.programs import ProgramKey

DIMENSIONS = {
    "total": "Jumlah",
    "sex": "Jenis kelamin",
    "disability": "Disabilitas",
    "afirmasi_group": "Kelompok afirmasi",
    "origin_school": "Sekolah asal",
    "kelurahan": "Kelurahan domisili",
}
UNKNOWN = "tidak terdata"


class Row(msgspec.Struct, kw_only=True):
    stage: int
    path: str
    dimension: str
    """`total`, `sex`, `disability`, `afirmasi_group`, `origin_school`, `kelurahan`."""
    value: str
    applicants: int
    """Registrations of the stage on the path, except those withdrawn."""
    placed: int
    """Of them, placed in the stage's latest published version."""


class ComplaintRow(msgspec.Struct, kw_only=True):
    stage: int
    category: str
    status: str
    count: int
    median_hours_to_decision: float | None


class StageOut(msgspec.Struct, kw_only=True):
    stage: int
    period_id: int
    name: str
    publication_version: int | None
    publication_digest: str | None
    applicants: int
    placed: int


class AdmissionReport(msgspec.Struct, kw_only=True):
    admission: str
    school_year: str
    level: str
    generated_at: datetime
    stages: list[StageOut]
    rows: list[Row]
    complaints: list[ComplaintRow]


async def report(session: AsyncSession, period: Period) -> AdmissionReport:
    """The report of the admission `period` is a stage of: every stage, from its latest publication."""
    first = period.admission_id
    periods = list(
        await session.scalars(
            select(Period).where(or_(Period.id == first, Period.first_period_id == first)).order_by(Period.stage)
        )
    )
    stages, rows, complaints = [], [], []
    for stage in periods:
        publication = await session.scalar(
            select(Publication).where(Publication.period_id == stage.id).order_by(Publication.version.desc()).limit(1)
        )
        counts = await _counts(session, stage, publication)
        rows += [
            Row(stage=stage.stage, path=path, dimension=dim, value=value, applicants=n, placed=p)
            for (path, dim, value), (n, p) in sorted(counts.items())
        ]
        totals = [n_p for (_, dim, _), n_p in counts.items() if dim == "total"]
        stages.append(
            StageOut(
                stage=stage.stage,
                period_id=stage.id,
                name=stage.name,
                publication_version=publication.version if publication else None,
                publication_digest=publication.digest if publication else None,
                applicants=sum(n for n, _ in totals),
                placed=sum(p for _, p in totals),
            )
        )
        complaints += await _complaints(session, stage)
    return AdmissionReport(
        admission=periods[0].name,
        school_year=period.school_year,
        level=period.level.value,
        generated_at=datetime.now(UTC),
        stages=stages,
        rows=rows,
        complaints=complaints,
    )


async def _counts(
    session: AsyncSession, period: Period, publication: Publication | None
) -> dict[tuple[str, str, str], tuple[int, int]]:
    """(path, dimension, value) -> (applicants, placed) of one stage."""
    # A disabled child: registered in a disability sub-quota, or with a disability proof among its documents.
    disabled = func.lower(func.coalesce(Application.category, "")).like("%disab%") | exists().where(
        Document.application_id == Application.id, Document.kind == "disability_proof"
    )
    placed = (
        exists().where(
            PublicationEntry.publication_id == publication.id,
            PublicationEntry.application_id == Application.id,
            PublicationEntry.npsn.is_not(None),
        )
        if publication is not None
        else literal(False)
    )
    found = await session.execute(
        select(
            Application.path,
            Applicant.sex,
            disabled,
            Application.category,
            Graduate.origin_npsn,
            Applicant.kelurahan_code,
            Kelurahan.name,
            placed,
        )
        .join(Applicant, Applicant.id == Application.applicant_id)
        .outerjoin(Graduate, (Graduate.period_id == Application.period_id) & (Graduate.nik == Applicant.nik))
        .outerjoin(Kelurahan, Kelurahan.code == Applicant.kelurahan_code)
        .where(Application.period_id == period.id, Application.status != ApplicationStatus.WITHDRAWN)
    )
    applicants: Counter[tuple[str, str, str]] = Counter()
    placements: Counter[tuple[str, str, str]] = Counter()
    for path, sex, is_disabled, category, origin, code, kelurahan, is_placed in found.all():
        values = {
            "total": "semua",
            "sex": {"L": "laki-laki", "P": "perempuan"}.get(sex, sex),
            "disability": "ya" if is_disabled else "tidak",
            "afirmasi_group": (category or UNKNOWN) if path == "afirmasi" else None,
            "origin_school": origin or UNKNOWN,
            "kelurahan": f"{code} {kelurahan}" if kelurahan else code,
        }
        for dimension, value in values.items():
            if value is None:
                continue
            applicants[path, dimension, value] += 1
            placements[path, dimension, value] += bool(is_placed)
    return {key: (n, placements[key]) for key, n in applicants.items()}


async def _complaints(session: AsyncSession, period: Period) -> list[ComplaintRow]:
    found = await session.execute(
        select(Complaint.category, Complaint.status, Complaint.filed_at, Complaint.decided_at).where(
            Complaint.period_id == period.id
        )
    )
    groups: dict[tuple[str, str], list[Any]] = {}
    for category, status, filed, decided in found.all():
        hours = None if decided is None else (decided - filed).total_seconds() / 3600
        groups.setdefault((category.value, status.value), []).append(hours)
    return [
        ComplaintRow(
            stage=period.stage,
            category=category,
            status=status,
            count=len(hours),
            median_hours_to_decision=round(statistics.median(h), 1)
            if (h := [x for x in hours if x is not None])
            else None,
        )
        for (category, status), hours in sorted(groups.items())
    ]


def rows_csv(data: AdmissionReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["tahap", "jalur", "dimensi", "nilai", "pendaftar", "diterima"])
    for r in data.rows:
        writer.writerow([r.stage, r.path, r.dimension, spreadsheet_text(r.value), r.applicants, r.placed])
    return out.getvalue()


def complaints_csv(data: AdmissionReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["tahap", "kategori", "status", "jumlah", "median_jam_sampai_putusan"])
    for c in data.complaints:
        median = "" if c.median_hours_to_decision is None else c.median_hours_to_decision
        writer.writerow([c.stage, c.category, c.status, c.count, median])
    return out.getvalue()


def _latin(text: str) -> str:
    return text.replace("–", "-").replace("…", "...").encode("latin-1", "replace").decode("latin-1")


def _line(doc: FPDF, height: int, text: str) -> None:
    doc.multi_cell(0, height, text, new_x="LMARGIN", new_y="NEXT")


def pdf(data: AdmissionReport, region: str) -> bytes:
    """The report for the agency head: each stage's totals per path and by sex and disability, the complaints,
    and each stage's published digest (the full breakdowns are in the CSV)."""
    doc = FPDF(format="A4")
    doc.set_title(_latin(f"Laporan pelaksanaan {data.admission}"))
    doc.add_page()
    doc.set_font("Helvetica", "B", 14)
    _line(doc, 8, _latin(f"Laporan Pelaksanaan Penerimaan Murid Baru\n{data.admission}"))
    doc.set_font("Helvetica", "", 10)
    _line(doc, 6, _latin(f"{region} · tahun ajaran {data.school_year} · dibuat {data.generated_at:%d-%m-%Y %H:%M} UTC"))
    for stage in data.stages:
        doc.ln(3)
        doc.set_font("Helvetica", "B", 11)
        _line(doc, 7, _latin(f"Tahap {stage.stage}: {stage.name}"))
        doc.set_font("Helvetica", "", 9)
        published = (
            f"Pengumuman versi {stage.publication_version}, SHA-256 {stage.publication_digest}"
            if stage.publication_version
            else "Belum diumumkan."
        )
        _line(doc, 5, _latin(f"{stage.applicants} pendaftar, {stage.placed} diterima. {published}"))
        shown = [r for r in data.rows if r.stage == stage.stage and r.dimension in ("total", "sex", "disability")]
        if shown:
            with doc.table(col_widths=(30, 30, 40, 25, 25), text_align=("LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT")) as t:
                t.row(["Jalur", "Dimensi", "Nilai", "Pendaftar", "Diterima"])
                for r in shown:
                    t.row([_latin(r.path), DIMENSIONS[r.dimension], _latin(r.value), str(r.applicants), str(r.placed)])
    doc.ln(3)
    doc.set_font("Helvetica", "B", 11)
    _line(doc, 7, "Pengaduan")
    doc.set_font("Helvetica", "", 9)
    if data.complaints:
        with doc.table(col_widths=(15, 35, 35, 20, 45), text_align=("LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT")) as t:
            t.row(["Tahap", "Kategori", "Status", "Jumlah", "Median jam sampai putusan"])
            for c in data.complaints:
                median = "-" if c.median_hours_to_decision is None else f"{c.median_hours_to_decision:.1f}"
                t.row([str(c.stage), c.category, c.status, str(c.count), median])
    else:
        _line(doc, 5, "Tidak ada pengaduan.")
    return bytes(doc.output())


async def dapodik_csv(session: AsyncSession, period: Period, user: Principal, npsn: str | None = None) -> str:
    """The accepted students of the stage (placed in its latest publication, not declined or released at daftar
    ulang, not disqualified since), one row each, in the columns a destination school enters into Dapodik; audited."""
    publication = await session.scalar(
        select(Publication).where(Publication.period_id == period.id).order_by(Publication.version.desc()).limit(1)
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "npsn_tujuan",
            "sekolah_tujuan",
            "nisn",
            "nik",
            "nama",
            "jenis_kelamin",
            "tanggal_lahir",
            "alamat",
            "rt",
            "rw",
            "kode_wilayah",
            "npsn_sekolah_asal",
            "jalur",
            "nomor_pendaftaran",
            "daftar_ulang",
            "kompetensi_keahlian",
        ]
    )
    if publication is None:
        return out.getvalue()
    stmt = (
        select(PublicationEntry, School.name, Applicant, Graduate.origin_npsn, Reregistration.decision)
        .join(Application, Application.id == PublicationEntry.application_id)
        .join(Applicant, Applicant.id == Application.applicant_id)
        .join(School, School.npsn == PublicationEntry.npsn)
        .outerjoin(Graduate, (Graduate.period_id == period.id) & (Graduate.nik == Applicant.nik))
        .outerjoin(
            Reregistration, (Reregistration.application_id == Application.id) & (Reregistration.period_id == period.id)
        )
        .where(
            PublicationEntry.publication_id == publication.id,
            PublicationEntry.npsn.is_not(None),
            Application.status.in_(SELECTED_STATUSES),  # not a child disqualified since
        )
        .order_by(PublicationEntry.npsn, Applicant.name)
    )
    if npsn is not None:
        stmt = stmt.where(PublicationEntry.npsn == npsn)
    count = 0
    for entry, school, person, origin, decision in (await session.execute(stmt)).all():
        seat = ProgramKey.of(entry.npsn or "", entry.path or "")
        if decision is not None and decision.value in ("declined", "released"):
            continue
        writer.writerow(
            [
                entry.npsn,
                spreadsheet_text(school),
                person.nisn or "",
                person.nik,
                spreadsheet_text(person.name),
                person.sex,
                person.birth_date.isoformat(),
                spreadsheet_text(person.address),
                person.rt or "",
                person.rw or "",
                person.kelurahan_code,
                origin or "",
                seat.quota_path,
                entry.registration_number,
                decision.value if decision is not None else "belum",
                seat.major or "",
            ]
        )
        count += 1
    record_period(
        session,
        period.id,
        "results.export_dapodik",
        actor=user.actor,
        new={"rows": count, "school": npsn, "version": publication.version},
    )
    return out.getvalue()
