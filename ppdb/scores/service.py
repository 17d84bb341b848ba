"""Scores from their sources: graduate lists with rapor from origin schools, test results and school indexes
from the Dinas, and the score each application gets from them (`ppdb.scores.formula`).

Who may enter what: an origin school's operator its own graduates (in any period: children go on to another
region's schools), the agency everything of its region's periods. Values change while the period is a draft
or open for registration; from closing on only through a complaint (sanggah), audited.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

import msgspec
from sqlalchemy import (
    Column,
    Select,
    Table,
    delete,
    func,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from ppdb.accounts.models import Role
from ppdb.applicants.models import Applicant, Application, ApplicationStatus, Document, DocumentStatus
from ppdb.audit.service import record_period
from ppdb.authz import Principal, assert_region, find_application, own_school
from ppdb.db.base import among, copy_period_rows, to_struct
from ppdb.errors import AppError, Conflict, Forbidden, NotFound
from ppdb.identity import NIK, NISN
from ppdb.regions.models import Level, Period, PeriodStatus
from ppdb.regions.rules import CERTIFICATE
from ppdb.regions.service import rules_of
from ppdb.schools.schemas import ImportResult
from ppdb.schools.service import RowErrors, read_csv
from ppdb.scores import schemas
from ppdb.scores.formula import (
    CENT,
    POINTS_SCALE,
    SOURCE_WORDS,
    Certificate,
    Score,
    ScoreRule,
    Sources,
    compute,
    grade,
)
from ppdb.scores.models import CertificateAward, Graduate, SchoolIndex, TestResult

GRADUATE_COLUMNS = ("nisn", "nik", "nama", "tanggal_lahir", "npsn_sekolah_asal")
RAPOR_COLUMN = re.compile(r"^([a-z][a-z0-9_]{0,29})_([1-9]|1[0-2])$")
"""A rapor column of a graduate list: `<subject>_<semester>`, e.g. `matematika_3`."""
NPSN = re.compile(r"[0-9]{8}")
EDITABLE = (PeriodStatus.DRAFT, PeriodStatus.REGISTRATION_OPEN)


ORIGIN_LEVEL = {Level.SMP: Level.SD, Level.SMA: Level.SMP, Level.SMK: Level.SMP}
"""Where a period's applicants come from: an SD is an origin school for SMP periods only, an SMP for SMA and SMK
periods only (so a school never enters grades in a period where it admits)."""


async def _period(session: AsyncSession, period_id: int, user: Principal, *, write: bool = False) -> Period:
    """The period, for the agency of its region, or for the operator of a school of the level below (the origin
    schools of its applicants: their own graduates only)."""
    period = await session.get(Period, period_id)
    if period is None:
        raise NotFound("period_not_found", "Periode tidak ditemukan.", "period_id")
    if user.role is Role.AGENCY_ADMIN:
        assert_region(user, period.region_id)
    elif user.role is not Role.SCHOOL_OPERATOR:
        raise Forbidden("forbidden", "Nilai diisi oleh sekolah asal atau Dinas.")
    elif ORIGIN_LEVEL.get(period.level) is not (await own_school(session, user)).level:
        raise Forbidden("not_origin_school", "Sekolah Anda bukan sekolah asal untuk jenjang periode ini.", "period_id")
    if write and period.status not in EDITABLE:
        raise Conflict(
            "scores_locked",
            "Nilai tidak dapat diubah lagi setelah pendaftaran ditutup; perbaikan melalui sanggah.",
            "period_id",
        )
    return period


async def _origin_of(session: AsyncSession, user: Principal) -> str | None:
    """The NPSN an origin school's operator enters graduates for; None for the agency (any school)."""
    return None if user.role is Role.AGENCY_ADMIN else (await own_school(session, user)).npsn


def _rapor_columns(header: Collection[str], errors: RowErrors) -> dict[str, tuple[str, str]]:
    columns = {}
    for name in header:
        if name in GRADUATE_COLUMNS:
            continue
        match = RAPOR_COLUMN.fullmatch(name)
        if match is None:
            errors.add(
                1, name, "csv_column_unknown", f"Kolom '{name}' tidak dikenal: kolom rapor ditulis <mapel>_<semester>."
            )
        else:
            columns[name] = (match.group(1), match.group(2))
    return columns


def _graduate_row(n: int, row: dict[str, str], rapor_columns: dict[str, tuple[str, str]], errors: RowErrors) -> dict:
    def matching(pattern: re.Pattern[str]):
        def parse(value: str) -> str:
            if not pattern.fullmatch(value):
                raise ValueError(value)
            return value

        return parse

    if None in row:  # csv.DictReader's key for the fields beyond the header's
        errors.add(n, "file", "csv_row_too_long", f"Baris {n}: lebih banyak kolom daripada judul kolom.")
    name = (row.get("nama") or "").strip()
    if not name or len(name) > 200:
        errors.add(n, "nama", "nama_invalid", f"Baris {n}: nama kosong atau lebih dari 200 huruf.")
    rapor: dict[str, dict[str, float]] = {}
    for column, (subject, semester) in rapor_columns.items():
        raw = (row.get(column) or "").strip()
        if not raw:
            continue  # not entered (yet)
        try:
            value = grade(raw)
        except ValueError:
            errors.add(
                n,
                column,
                "rapor_invalid",
                f"Baris {n}: nilai {subject.replace('_', ' ')} semester {semester} '{raw}' harus 0-100, "
                "paling banyak 2 angka desimal.",
            )
            continue
        rapor.setdefault(subject, {})[semester] = float(value)
    return dict(
        nisn=errors.parse(n, row, "nisn", matching(NISN), "NISN"),
        nik=errors.parse(n, row, "nik", matching(NIK), "NIK"),
        name=name,
        birth_date=errors.parse(n, row, "tanggal_lahir", date.fromisoformat, "tanggal lahir (YYYY-MM-DD)"),
        origin_npsn=(row.get("npsn_sekolah_asal") or "").strip(),
        rapor=rapor,
    )


async def _store(
    session: AsyncSession,
    period: Period,
    graduates: list[dict[str, Any]],
    user: Principal,
    errors: RowErrors,
    *,
    first_row: int,
    replace: bool,
) -> ImportResult:
    """Check the graduates against each other and the period's, then write them all (or nothing). With
    `replace`, each origin school's graduates not in `graduates` are removed (a re-import of its list)."""
    origin = await _origin_of(session, user)
    seen_nik: set[str] = set()
    seen_nisn: set[str] = set()
    for n, g in enumerate(graduates, start=first_row):
        if origin is not None and g["origin_npsn"] in ("", origin):
            g["origin_npsn"] = origin
        elif origin is not None:
            errors.add(n, "npsn_sekolah_asal", "graduate_other_school", f"Baris {n}: sekolah asal bukan sekolah Anda.")
        elif not NPSN.fullmatch(g["origin_npsn"]):
            errors.add(
                n, "npsn_sekolah_asal", "npsn_sekolah_asal_invalid", f"Baris {n}: NPSN sekolah asal tidak valid."
            )
        for key, seen, label in (("nik", seen_nik, "NIK"), ("nisn", seen_nisn, "NISN")):
            if g[key] is not None and g[key] in seen:
                errors.add(n, key, f"{key}_duplicate", f"Baris {n}: {label} {g[key]} muncul lebih dari sekali.")
            seen.add(g[key])
    existing = {
        row.nik: row
        for row in await session.execute(
            select(Graduate.nik, Graduate.nisn, Graduate.origin_npsn).where(
                Graduate.period_id == period.id,
                among(Graduate.nik, seen_nik) | among(Graduate.nisn, seen_nisn),
            )
        )
    }
    nisn_owner = {row.nisn: row.nik for row in existing.values()}
    for n, g in enumerate(graduates, start=first_row):
        before = existing.get(g["nik"])
        if origin is not None and before is not None and before.origin_npsn != origin:
            errors.add(
                n,
                "nik",
                "graduate_other_school",
                f"Baris {n}: NIK ini terdaftar sebagai lulusan sekolah lain; hubungi Dinas bila itu keliru.",
            )
        if nisn_owner.get(g["nisn"], g["nik"]) != g["nik"]:
            errors.add(n, "nisn", "nisn_taken", f"Baris {n}: NISN {g['nisn']} sudah milik lulusan lain.")
    errors.raise_if_any(len(graduates))

    removed = 0
    if replace:
        origins = {g["origin_npsn"] for g in graduates}
        gone = await session.execute(
            delete(Graduate)
            .where(
                Graduate.period_id == period.id,
                among(Graduate.origin_npsn, origins),
                ~among(Graduate.nik, seen_nik),
            )
            .returning(Graduate.id)
        )
        removed = len(gone.all())
    stmt = insert(Graduate)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["period_id", "nik"],
            set_={c: stmt.excluded[c] for c in ("nisn", "name", "birth_date", "origin_npsn", "rapor", "entered_by")}
            | {"updated_at": func.clock_timestamp()},
        ),
        [{**g, "period_id": period.id, "entered_by": user.id} for g in graduates],
    )
    updated = sum(1 for g in graduates if g["nik"] in existing)
    return ImportResult(rows=len(graduates), created=len(graduates) - updated, updated=updated, removed=removed)


async def import_graduates(session: AsyncSession, period_id: int, text: str, user: Principal) -> ImportResult:
    """A graduate list in the shape of a Dapodik export (nisn, nik, nama, tanggal_lahir, npsn_sekolah_asal,
    then `<mapel>_<semester>` rapor columns): all rows or none; replaces each listed school's graduates."""
    period = await _period(session, period_id, user, write=True)
    rows = read_csv(text, (*GRADUATE_COLUMNS, "<mapel>_<semester>"), GRADUATE_COLUMNS)
    errors = RowErrors()
    rapor_columns = _rapor_columns([c for c in rows[0] if c is not None], errors)
    graduates = [_graduate_row(n, row, rapor_columns, errors) for n, row in enumerate(rows, start=2)]
    result = await _store(session, period, graduates, user, errors, first_row=2, replace=True)
    origins = sorted({g["origin_npsn"] for g in graduates})
    record_period(
        session,
        period.id,
        "graduates.import",
        actor=user.actor,
        new={**msgspec.to_builtins(result), "origins": origins[:50]},
    )
    return result


async def put_graduate(
    session: AsyncSession, period_id: int, data: schemas.GraduateIn, user: Principal
) -> schemas.GraduateOut:
    """Enter or correct one graduate (its rapor replaced when given, kept when not: a name correction does not
    erase grades), audited with the old and new rapor."""
    period = await _period(session, period_id, user, write=True)
    by_nik = select(Graduate).where(Graduate.period_id == period.id, Graduate.nik == data.nik)
    before = await session.scalar(by_nik)
    old = None if before is None else _audited(before)
    graduate = dict(
        nisn=data.nisn,
        nik=data.nik,
        name=data.name,
        birth_date=data.birth_date,
        origin_npsn=data.origin_npsn or "",
        rapor=(before.rapor if before is not None else {})
        if data.rapor is msgspec.UNSET
        else {
            subject: {k: _two_decimals(v, f"rapor.{subject}.{k}") for k, v in by.items()}
            for subject, by in data.rapor.items()
        },
    )
    try:
        await _store(session, period, [graduate], user, RowErrors(), first_row=1, replace=False)
    except AppError as err:  # one graduate: its first problem, as for any JSON body (not "csv_invalid")
        if err.code != "csv_invalid" or not err.details:
            raise
        first = err.details[0]
        raise AppError(first["code"], first["message"].removeprefix("Baris 1: "), first["field"]) from None
    after = await session.scalar(by_nik.execution_options(populate_existing=True))
    assert after is not None
    record_period(session, period.id, "graduate.put", actor=user.actor, old=old, new=_audited(after))
    return _out(after)


def _two_decimals(value: float, field: str) -> float:
    try:
        return float(grade(value))
    except ValueError:
        raise AppError("rapor_invalid", "Nilai rapor 0-100, paling banyak 2 angka desimal.", field) from None


def _audited(g: Graduate) -> dict[str, Any]:
    """What the log keeps of a graduate: no NIK or name, the rapor whole."""
    return {"nisn": g.nisn, "origin_npsn": g.origin_npsn, "rapor": g.rapor}


def _out(g: Graduate) -> schemas.GraduateOut:
    return to_struct(schemas.GraduateOut, g)


async def list_graduates(
    session: AsyncSession, period_id: int, user: Principal, *, after: str | None = None, limit: int = 500
) -> list[schemas.GraduateOut]:
    """A page of graduates by NISN: an origin school's own, or all of the agency's period."""
    period = await _period(session, period_id, user)
    stmt = select(Graduate).where(Graduate.period_id == period.id)
    origin = await _origin_of(session, user)
    if origin is not None:
        stmt = stmt.where(Graduate.origin_npsn == origin)
    if after:
        stmt = stmt.where(Graduate.nisn > after)
    return [_out(g) for g in await session.scalars(stmt.order_by(Graduate.nisn).limit(limit))]


async def periods_for_entry(session: AsyncSession, school_level: Level) -> list[Period]:
    """Periods an origin school may still enter graduates for (a draft, or open for registration), any region:
    its graduates go on to the schools of another region too (an SMP's to the province's SMA)."""
    stmt = select(Period).where(Period.status.in_(EDITABLE)).order_by(Period.id.desc())
    return [p for p in await session.scalars(stmt) if ORIGIN_LEVEL.get(p.level) is school_level]


def _test_components(period: Period) -> set[str]:
    return {c.name for p in rules_of(period).paths if p.score for c in p.score.components if c.source == "test"}


async def import_tests(session: AsyncSession, period_id: int, text: str, user: Principal) -> ImportResult:
    """Test results (nisn, komponen, nilai) of the period's graduates, under a test component's name in the
    rules; all rows or none; a value given again replaces the one before."""
    if user.role is not Role.AGENCY_ADMIN:
        raise Forbidden("forbidden", "Hasil tes diimpor oleh Dinas.")
    period = await _period(session, period_id, user, write=True)
    rows = read_csv(text, ("nisn", "komponen", "nilai"), ("nisn", "komponen", "nilai"))
    components = _test_components(period)
    errors, parsed, seen = RowErrors(), [], set()
    nisns = {(row.get("nisn") or "").strip() for row in rows}
    graduates = dict(
        (
            await session.execute(
                select(Graduate.nisn, Graduate.id).where(Graduate.period_id == period.id, among(Graduate.nisn, nisns))
            )
        ).all()
    )
    for n, row in enumerate(rows, start=2):
        nisn, component = (row.get("nisn") or "").strip(), (row.get("komponen") or "").strip()
        value = errors.parse(n, row, "nilai", lambda v: grade(v, POINTS_SCALE), "nilai (0-1000)")
        if nisn not in graduates:
            errors.add(
                n, "nisn", "graduate_not_found", f"Baris {n}: NISN {nisn} tidak ada pada daftar lulusan periode ini."
            )
        if component not in components:
            known = ", ".join(sorted(components)) or "tidak ada"
            errors.add(
                n,
                "komponen",
                "component_unknown",
                f"Baris {n}: komponen tes '{component}' tidak ada pada aturan (yang ada: {known}).",
            )
        if (nisn, component) in seen:
            errors.add(
                n, "nisn", "test_duplicate", f"Baris {n}: nilai {component} untuk NISN {nisn} muncul lebih dari sekali."
            )
        seen.add((nisn, component))
        parsed.append((graduates.get(nisn), component, value))
    errors.raise_if_any(len(rows))
    ids = {g for g, _, _ in parsed if g is not None}
    stored = select(TestResult.graduate_id, TestResult.component).where(among(TestResult.graduate_id, ids))
    existing = len({(g, c) for g, c, _ in parsed} & {(g, c) for g, c in await session.execute(stored)})
    stmt = insert(TestResult)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["graduate_id", "component"],
            set_={"value": stmt.excluded.value, "entered_by": stmt.excluded.entered_by, "entered_at": func.now()},
        ),
        [{"graduate_id": g, "component": c, "value": v, "entered_by": user.id} for g, c, v in parsed],
    )
    result = ImportResult(rows=len(parsed), created=len(parsed) - existing, updated=existing)
    record_period(session, period.id, "tests.import", actor=user.actor, new=msgspec.to_builtins(result))
    return result


async def import_school_indexes(session: AsyncSession, period_id: int, text: str, user: Principal) -> ImportResult:
    """The origin schools' indexes (npsn, indeks) for the period: the file replaces them all."""
    if user.role is not Role.AGENCY_ADMIN:
        raise Forbidden("forbidden", "Indeks sekolah diimpor oleh Dinas.")
    period = await _period(session, period_id, user, write=True)
    rows = read_csv(text, ("npsn", "indeks"), ("npsn", "indeks"))
    errors, parsed, seen = RowErrors(), {}, set()
    for n, row in enumerate(rows, start=2):
        npsn = (row.get("npsn") or "").strip()
        value = errors.parse(n, row, "indeks", lambda v: grade(v, POINTS_SCALE), "indeks (0-1000)")
        if not NPSN.fullmatch(npsn):
            errors.add(n, "npsn", "npsn_invalid", f"Baris {n}: NPSN '{npsn}' tidak valid.")
        if npsn in seen:
            errors.add(n, "npsn", "npsn_duplicate", f"Baris {n}: NPSN {npsn} muncul lebih dari sekali.")
        seen.add(npsn)
        parsed[npsn] = value
    errors.raise_if_any(len(rows))
    removed = len(
        (
            await session.execute(
                delete(SchoolIndex).where(SchoolIndex.period_id == period.id).returning(SchoolIndex.npsn)
            )
        ).all()
    )
    await session.execute(
        insert(SchoolIndex),
        [{"period_id": period.id, "npsn": k, "value": v, "entered_by": user.id} for k, v in parsed.items()],
    )
    result = ImportResult(rows=len(parsed), created=len(parsed), removed=removed)
    record_period(session, period.id, "school_indexes.import", actor=user.actor, new=msgspec.to_builtins(result))
    return result


async def sources(session: AsyncSession, period_id: int, niks: Collection[str]) -> dict[str, Sources]:
    """What is known of these NIKs in the period, by NIK: the graduate lists' rapor, tests and school index, and
    the points of a certificate the destination school awarded (for the file still verified)."""
    stmt = select(Graduate.id, Graduate.nik, Graduate.origin_npsn, Graduate.rapor).where(
        Graduate.period_id == period_id, among(Graduate.nik, niks)
    )
    graduates = (await session.execute(stmt)).all()
    certificates = await _certificates(session, period_id, niks)
    tests: dict[int, dict[str, Decimal]] = {}
    indexes: dict[str, Decimal] = {}
    if graduates:
        test_stmt = select(TestResult.graduate_id, TestResult.component, TestResult.value).where(
            among(TestResult.graduate_id, [g.id for g in graduates])
        )
        for graduate_id, component, value in await session.execute(test_stmt):
            tests.setdefault(graduate_id, {})[component] = value
        index_stmt = select(SchoolIndex.npsn, SchoolIndex.value).where(SchoolIndex.period_id == period_id)
        indexes = dict((await session.execute(index_stmt)).all())
    found = {nik: Sources(certificate=c, listed=False) for nik, c in certificates.items()}
    for g in graduates:
        found[g.nik] = Sources(
            rapor=g.rapor,
            tests=tests.get(g.id, {}),
            school_index=indexes.get(g.origin_npsn),
            certificate=certificates.get(g.nik),
        )
    return found


async def _certificates(session: AsyncSession, period_id: int, niks: Collection[str]) -> dict[str, Certificate]:
    """Awarded certificates of the NIKs' active applications, whose awarded file is still the verified one."""
    stmt = (
        select(
            Applicant.nik, CertificateAward.level, CertificateAward.rank, CertificateAward.team, CertificateAward.value
        )
        .join(Application, Application.applicant_id == Applicant.id)
        .join(CertificateAward, CertificateAward.application_id == Application.id)
        .join(
            Document,
            (Document.application_id == Application.id)
            & (Document.kind == CERTIFICATE)
            & (Document.sha256 == CertificateAward.sha256)
            & (Document.status == DocumentStatus.VERIFIED),
        )
        .where(
            Applicant.period_id == period_id,
            Application.status != ApplicationStatus.WITHDRAWN,
            among(Applicant.nik, niks),
        )
    )
    return {r.nik: Certificate(r.level, r.rank, r.team, r.value) for r in await session.execute(stmt)}


async def reused_certificates(session: AsyncSession, period_id: int, application_ids: Collection[int]) -> set[int]:
    """Of these applications, those whose certificate another active application of the period also registered:
    the same file, or a certificate the school recorded under the same number."""
    mine, other = aliased(Document), aliased(Document)
    theirs = aliased(Application)
    same_file = (
        select(mine.application_id)
        .join(
            other,
            (other.sha256 == mine.sha256) & (other.kind == CERTIFICATE) & (other.application_id != mine.application_id),
        )
        .join(theirs, theirs.id == other.application_id)
        .where(
            among(mine.application_id, application_ids),
            mine.kind == CERTIFICATE,
            theirs.period_id == period_id,
            theirs.status != ApplicationStatus.WITHDRAWN,
        )
    )
    award, other_award = aliased(CertificateAward), aliased(CertificateAward)
    same_number = (
        select(award.application_id)
        .join(
            other_award,
            (other_award.number == award.number) & (other_award.application_id != award.application_id),
        )
        .join(theirs, theirs.id == other_award.application_id)
        .where(
            among(award.application_id, application_ids),
            theirs.period_id == period_id,
            theirs.status != ApplicationStatus.WITHDRAWN,
        )
    )
    return set(await session.scalars(same_file.union(same_number)))


RAPOR_JUMP = Decimal(5)
"""How many points an origin school's rapor average may rise over its previous year's before its graduates are
flagged (JPPI 2024: inflated grades are 42 % of PPDB fraud cases)."""


def _averages(periods: list[int], origins: list[str]) -> Select[str, Decimal]:
    """Each origin school's rapor average over its graduates in `periods` (those with a grade)."""
    g = Graduate
    return (
        select(g.origin_npsn, func.sum(g.rapor_sum) / func.sum(g.rapor_count))
        .where(g.period_id.in_(periods), among(g.origin_npsn, origins))
        .group_by(g.origin_npsn)
        .having(func.sum(g.rapor_count) > 0)
    )


ScoreFlag = Literal["graduate_mismatch", "rapor_jump"]


async def flags(
    session: AsyncSession, period: Period, declared: Collection[tuple[str, str | None, date]]
) -> dict[str, list[ScoreFlag]]:
    """Score fraud flags by NIK, for children declared as (NIK, NISN, birth date): `graduate_mismatch` (the origin
    school's list has this NIK with another NISN or birth date: someone else's NIK?) and `rapor_jump` (the
    child's origin school's rapor average rose `RAPOR_JUMP` points or more over the previous school year's)."""
    found: dict[str, list[ScoreFlag]] = {}
    graduates = {
        g.nik: g
        for g in await session.execute(
            select(Graduate.nik, Graduate.nisn, Graduate.birth_date, Graduate.origin_npsn).where(
                Graduate.period_id == period.id, among(Graduate.nik, [nik for nik, _, _ in declared])
            )
        )
    }
    if not graduates:
        return found
    start = int(period.school_year[:4])
    previous = list(
        await session.scalars(
            select(Period.id).where(Period.level == period.level, Period.school_year == f"{start - 1}/{start}")
        )
    )
    origins = sorted({g.origin_npsn for g in graduates.values()})
    now: dict[str, Decimal] = {o: a for o, a in await session.execute(_averages([period.id], origins))}
    before: dict[str, Decimal] = {}
    if previous:
        before = {o: a for o, a in await session.execute(_averages(previous, origins))}
    jumped = {o for o in origins if o in before and now.get(o, 0) - before[o] >= RAPOR_JUMP}
    for nik, nisn, birth_date in declared:
        g = graduates.get(nik)
        if g is None:
            continue
        if (nisn is not None and nisn != g.nisn) or birth_date != g.birth_date:
            found.setdefault(nik, []).append("graduate_mismatch")
        if g.origin_npsn in jumped:
            found.setdefault(nik, []).append("rapor_jump")
    return found


def score_out(path: str, rule: ScoreRule, score: Score, known: bool) -> schemas.ScoreOut:
    if not known:
        message = "Sekolah asal belum mengisi nilai anak ini (NIK belum ada pada daftar lulusan). Hubungi sekolah asal."
    elif score.total is None:
        message = "Nilai belum lengkap: " + "; ".join(score.missing) + "."
    else:
        origins = {
            "rapor": "rapor dari sekolah asal",
            "test": "hasil tes dari Dinas",
            "school_index": "indeks sekolah asal dari Dinas",
            "certificate": "sertifikat yang diperiksa sekolah tujuan",
        }
        used = dict.fromkeys(origins[c.source] for c in rule.components)
        message = "Dihitung oleh sistem dari " + ", ".join(used) + "."
    return schemas.ScoreOut(
        path=path,
        total=None if score.total is None else float(score.total),
        parts=[
            schemas.PartOut(
                name=p.component.name,
                source=p.component.source,
                source_words=SOURCE_WORDS[p.component.source],
                weight=p.component.weight,
                value=None if p.value is None else float(p.value.quantize(CENT, ROUND_HALF_UP)),
                points=None if p.points is None else float(p.points.quantize(CENT, ROUND_HALF_UP)),
                missing=list(p.missing),
                detail=p.detail,
            )
            for p in score.parts
        ],
        message=message,
    )


async def score_if_used(session: AsyncSession, registration_number: str, user: Principal) -> schemas.ScoreOut | None:
    """`application_score`, or None for a path that does not rank by a score (for pages)."""
    try:
        return await application_score(session, registration_number, user)
    except NotFound as err:
        if err.code == "score_not_used":
            return None
        raise


async def application_score(session: AsyncSession, registration_number: str, user: Principal) -> schemas.ScoreOut:
    """The score an application ranks by, with its breakdown: for whoever may see the application."""
    ref = await find_application(session, registration_number, user)
    row = (
        await session.execute(
            select(Application.path, Applicant.nik, Period)
            .join(Applicant, Applicant.id == Application.applicant_id)
            .join(Period, Period.id == Application.period_id)
            .where(Application.id == ref.id)
        )
    ).one()
    path = rules_of(row.Period).path(row.path)
    if path is None or path.score is None:
        raise NotFound("score_not_used", "Jalur ini tidak memakai nilai.", "registration_number")
    found = (await sources(session, ref.period_id, [row.nik])).get(row.nik) or Sources(listed=False)
    listed = found.listed or all(c.source == "certificate" for c in path.score.components)
    return score_out(path.name, path.score, compute(path.score, found), listed)


async def carry_to_stage(session: AsyncSession, previous_id: int, new_id: int) -> None:
    """Into an admission's next stage: the graduate lists with their rapor, the test results and the school
    indexes, as they stand (the origin schools and the Dinas entered them once for the admission)."""
    graduates: Table = Graduate.__table__  # type: ignore[assignment]
    tests: Table = TestResult.__table__  # type: ignore[assignment]
    indexes: Table = SchoolIndex.__table__  # type: ignore[assignment]

    def copied(table: Table, *skip: str) -> list[Column[Any]]:
        return [c for c in table.c if c.name not in ("period_id", *skip) and c.computed is None]

    kept = copied(graduates, "id")
    moved = (
        insert(graduates)
        .from_select(
            ["period_id", *(c.name for c in kept)],
            select(literal(new_id), *kept).where(graduates.c.period_id == previous_id),
        )
        .returning(graduates.c.id, graduates.c.nik)
        .cte("moved")
    )
    old = graduates.alias("old")
    results = copied(tests, "graduate_id")
    await session.execute(
        insert(tests).from_select(
            ["graduate_id", *(c.name for c in results)],
            select(moved.c.id, *results)
            .select_from(tests.join(old, old.c.id == tests.c.graduate_id).join(moved, moved.c.nik == old.c.nik))
            .where(old.c.period_id == previous_id),
        )
    )
    await session.execute(copy_period_rows(indexes, previous_id, new_id))
