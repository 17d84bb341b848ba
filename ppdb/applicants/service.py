"""Registration: validate, compute distances and zones, store; change and withdraw while open."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

import asyncpg
import msgspec
from cachetools import LRUCache, TTLCache
from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from ppdb.accounts.models import Role
from ppdb.applicants import schemas
from ppdb.applicants.models import (
    Applicant,
    Application,
    ApplicationStatus,
    Choice,
    Document,
    DocumentStatus,
    IdempotentResponse,
)
from ppdb.audit.service import record, record_now
from ppdb.authz import Principal
from ppdb.db.grouping import Grouped
from ppdb.db.session import bind_of, driver_connection, json_text
from ppdb.errors import AppError, Conflict, NotFound
from ppdb.geo import haversine_m, in_indonesia
from ppdb.identity import KELURAHAN, KK, NIK, NISN, completed_months, nik_matches
from ppdb.regions.models import Period, PeriodStatus, Region
from ppdb.regions.rules import Level, PathRule, RuleSet
from ppdb.regions.service import accepting_registrations, get_period, rules_of
from ppdb.schools.models import PeriodSchool, School, ZoneEntry

CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class SchoolInfo:
    id: int
    npsn: str
    name: str
    level: str
    latitude: float
    longitude: float
    capacity: int


@dataclass(frozen=True, slots=True)
class OpenPeriod:
    """The fields of a period that registration reads, copied: an ORM row expires with its session."""

    id: int
    created_at: datetime
    version: int
    status: PeriodStatus
    level: Level
    school_year: str
    registration_opens_at: datetime
    registration_closes_at: datetime

    @classmethod
    def of(cls, period: Period) -> OpenPeriod:
        return cls(
            period.id,
            period.created_at,
            period.version,
            period.status,
            period.level,
            period.school_year,
            period.registration_opens_at,
            period.registration_closes_at,
        )


@dataclass(frozen=True, slots=True)
class PeriodContext:
    """What validating a registration needs from the database, loaded once."""

    period: Period | OpenPeriod
    rules: RuleSet
    region_code: str
    schools: dict[str, SchoolInfo]
    zones: dict[int, list[tuple[str | None, float | None, int]]] = field(default_factory=dict)


async def load_context(session: AsyncSession, period_id: int) -> PeriodContext:
    """The period (always fresh) with its schools and zones (kept per process for a little while once the
    period has left draft: imports are draft-only, so on admission day they do not change)."""
    period = await get_period(session, period_id)
    key = (period.id, period.created_at)  # created_at: ids repeat across databases (tests, restores)
    places = _PLACES.get(key)
    if places is None:
        places = await _load_places(session, period.id)
        if period.status is not PeriodStatus.DRAFT:
            _PLACES[key] = places
    return PeriodContext(period, rules_of(period), *places)


_PLACES: TTLCache = TTLCache(maxsize=256, ttl=60)


async def _load_places(session: AsyncSession, period_id: int) -> tuple[str, dict[str, SchoolInfo], dict]:
    region_code = await session.scalar(
        select(Region.code).join(Period, Period.region_id == Region.id).where(Period.id == period_id)
    )
    rows = await session.execute(
        select(
            School.id, School.npsn, School.name, School.level, School.latitude, School.longitude, PeriodSchool.capacity
        )
        .join(PeriodSchool, PeriodSchool.school_id == School.id)
        .where(PeriodSchool.period_id == period_id)
    )
    schools = {
        r.npsn: SchoolInfo(r.id, r.npsn, r.name, r.level.value, r.latitude, r.longitude, r.capacity) for r in rows
    }
    zones: dict[int, list[tuple[str | None, float | None, int]]] = {}
    for school_id, kelurahan, radius, priority in await session.execute(
        select(ZoneEntry.school_id, ZoneEntry.kelurahan_code, ZoneEntry.radius_m, ZoneEntry.priority).where(
            ZoneEntry.period_id == period_id
        )
    ):
        zones.setdefault(school_id, []).append((kelurahan, radius, priority))
    return region_code or "", schools, zones


@dataclass(frozen=True, slots=True)
class ChoicePlan:
    rank: int
    school: SchoolInfo
    distance_m: Decimal
    in_zone: bool
    zone_priority: int | None


@dataclass(frozen=True, slots=True)
class Plan:
    path: PathRule
    choices: list[ChoicePlan]
    in_region: bool


def validate(
    ctx: PeriodContext, data: schemas.ApplicationCreate, today: date | None = None, *, enforce_zone: bool = True
) -> Plan:
    """Every registration rule, in the order a parent would fix them; the first failure is reported."""
    rules, period = ctx.rules, ctx.period
    today = today or datetime.now(UTC).date()
    if not NIK.fullmatch(data.nik):
        raise AppError("nik_invalid", "NIK harus terdiri dari 16 angka.", "nik")
    if not nik_matches(data.nik, data.birth_date, data.sex):
        raise AppError(
            "nik_birthdate_mismatch",
            "Tanggal lahir atau jenis kelamin tidak sesuai dengan NIK (digit 7–12: TTBBYY, tanggal +40 untuk perempuan).",
            "birth_date",
        )
    if data.nisn is not None and not NISN.fullmatch(data.nisn):
        raise AppError("nisn_invalid", "NISN harus terdiri dari 10 angka.", "nisn")
    if not KK.fullmatch(data.kk_number):
        raise AppError("kk_number_invalid", "Nomor KK harus terdiri dari 16 angka.", "kk_number")
    if not KELURAHAN.fullmatch(data.kelurahan_code):
        raise AppError(
            "kelurahan_code_invalid",
            "Kode kelurahan/desa harus berformat Kemendagri, contoh 36.71.01.1001.",
            "kelurahan_code",
        )
    if not in_indonesia(data.latitude, data.longitude):
        raise AppError("coordinate_outside_indonesia", "Koordinat rumah berada di luar wilayah Indonesia.", "latitude")
    if data.birth_date >= today:
        raise AppError("birth_date_invalid", "Tanggal lahir tidak valid.", "birth_date")
    _check_age(rules, data)
    _check_kk(rules, period, data, today)
    path = rules.path(data.path)
    if path is None:
        names = ", ".join(p.name for p in rules.paths)
        raise AppError("path_unknown", f"Jalur '{data.path}' tidak tersedia. Pilihan: {names}.", "path")
    _check_path(path, data)
    choices = _plan_choices(ctx, path, data, enforce_zone=enforce_zone)
    in_region = data.kelurahan_code.startswith(ctx.region_code + ".") if ctx.region_code else True
    return Plan(path, choices, in_region)


def _check_age(rules: RuleSet, data: schemas.ApplicationCreate) -> None:
    months = completed_months(data.birth_date, rules.reference_date)
    on = f"{rules.reference_date:%d-%m-%Y}"
    if rules.min_age_months is not None and months < rules.min_age_months:
        early = rules.early_min_age_months
        if early is None or months < early or "psychologist_letter" not in data.documents:
            extra = (
                f" Usia minimal {early // 12} tahun {early % 12} bulan dengan surat rekomendasi psikolog."
                if early is not None
                else ""
            )
            raise AppError(
                "age_below_minimum",
                f"Usia pada {on} kurang dari {rules.min_age_months // 12} tahun.{extra}",
                "birth_date",
            )
    if rules.max_age_years is not None and months // 12 > rules.max_age_years:
        raise AppError("age_above_maximum", f"Usia pada {on} melebihi {rules.max_age_years} tahun.", "birth_date")


def _check_kk(rules: RuleSet, period: Period, data: schemas.ApplicationCreate, today: date) -> None:
    if data.kk_issued_on > today or data.kk_issued_on < data.birth_date - timedelta(days=366 * 60):
        raise AppError("kk_issue_date_invalid", "Tanggal terbit KK tidak valid.", "kk_issued_on")
    opening = period.registration_opens_at.date()
    if (opening - data.kk_issued_on).days >= rules.kk_min_age_days:
        return
    if data.kk_exception is None:
        raise AppError(
            "kk_too_recent",
            f"KK harus terbit paling lambat {rules.kk_min_age_days} hari sebelum pendaftaran dibuka "
            f"({opening - timedelta(days=rules.kk_min_age_days):%d-%m-%Y}), kecuali ada dokumen pengecualian "
            "(perubahan anggota, KK hilang/rusak, atau bencana).",
            "kk_issued_on",
        )
    if "kk_exception" not in data.documents:
        raise AppError("document_missing", "Pengecualian KK memerlukan dokumen pendukung (kk_exception).", "documents")


def _check_path(path: PathRule, data: schemas.ApplicationCreate) -> None:
    missing = [d for d in path.required_documents if d not in data.documents]
    if missing:
        raise AppError("document_missing", f"Jalur {path.name} memerlukan dokumen: {', '.join(missing)}.", "documents")
    if data.score is not None and not (
        data.score.is_finite() and 0 <= data.score <= 1000 and data.score == data.score.quantize(CENT)
    ):
        raise AppError("score_invalid", "Nilai harus antara 0 dan 1000 dengan paling banyak 2 angka desimal.", "score")
    if "score" in path.keys and data.score is None:
        raise AppError("score_required", f"Jalur {path.name} memerlukan nilai (score).", "score")
    categories = [s.name for s in path.sub_quotas]
    if categories and data.category not in categories:
        raise AppError("category_invalid", f"Pilih kategori jalur {path.name}: {', '.join(categories)}.", "category")
    if not categories and data.category is not None:
        raise AppError("category_invalid", f"Jalur {path.name} tidak memiliki kategori.", "category")


def _plan_choices(
    ctx: PeriodContext, path: PathRule, data: schemas.ApplicationCreate, *, enforce_zone: bool = True
) -> list[ChoicePlan]:
    if not data.choices:
        raise AppError("choices_empty", "Pilih minimal satu sekolah.", "choices")
    if len(data.choices) > ctx.rules.max_choices:
        raise AppError("too_many_choices", f"Maksimal {ctx.rules.max_choices} pilihan sekolah.", "choices")
    if len(set(data.choices)) != len(data.choices):
        raise AppError("duplicate_choice", "Setiap sekolah hanya boleh dipilih sekali.", "choices")
    plans = []
    for rank, npsn in enumerate(data.choices, start=1):
        where = f"choices[{rank - 1}]"
        school = ctx.schools.get(npsn)
        if school is None:
            raise AppError("school_not_in_period", f"Sekolah dengan NPSN {npsn} tidak ikut periode ini.", where)
        if school.level != ctx.period.level.value:
            raise AppError(
                "school_level_mismatch", f"{school.name} bukan jenjang {ctx.period.level.value.upper()}.", where
            )
        metres = haversine_m(data.latitude, data.longitude, school.latitude, school.longitude)
        distance = Decimal(repr(metres)).quantize(CENT, rounding=ROUND_HALF_UP)
        tiers = [
            priority
            for kelurahan, radius, priority in ctx.zones.get(school.id, ())
            if kelurahan == data.kelurahan_code or (radius is not None and metres <= radius)
        ]
        if enforce_zone and path.requires_zone and not tiers:
            raise AppError("outside_zone", f"Alamat tidak termasuk zona {school.name} untuk jalur {path.name}.", where)
        plans.append(ChoicePlan(rank, school, distance, bool(tiers), min(tiers) if tiers else None))
    return plans


# --- storing -----------------------------------------------------------------------------------------------

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U to misread


def new_registration_number(period: Period) -> str:
    bits = secrets.randbits(40)  # one call to the system's random source, 8 characters of 5 bits
    token = "".join(_ALPHABET[bits >> shift & 31] for shift in range(35, -5, -5))
    return f"{period.school_year[:4]}-{period.level.value.upper()}-{token}"


def _applicant_values(data: schemas.ApplicationCreate, plan: Plan) -> dict:
    return dict(
        nisn=data.nisn,
        name=data.name.strip(),
        sex=data.sex,
        birth_date=data.birth_date,
        kk_number=data.kk_number,
        kk_issued_on=data.kk_issued_on,
        address=data.address.strip(),
        kelurahan_code=data.kelurahan_code,
        latitude=data.latitude,
        longitude=data.longitude,
        in_region=plan.in_region,
    )


async def register(
    sessionmaker: async_sessionmaker[AsyncSession],
    period_id: int,
    data: schemas.ApplicationCreate,
    parent: Principal,
    *,
    idempotency_key: str | None = None,
) -> schemas.ApplicationOut:
    """A registration, committed when this returns: by the admission-day fast path (one statement, no session)
    or, for anything unusual, with every check in a transaction of its own."""
    key = _idempotency_key(parent, period_id, idempotency_key)
    if (out := await _register_at_once(bind_of(sessionmaker), period_id, data, parent, key)) is not None:
        return out
    async with sessionmaker.begin() as session:
        return await _register_checked(session, period_id, data, parent, key)


async def register_in(
    session: AsyncSession,
    period_id: int,
    data: schemas.ApplicationCreate,
    parent: Principal,
    *,
    idempotency_key: str | None = None,
) -> schemas.ApplicationOut:
    """A registration in the caller's transaction, with every check, for a submit that stores more with it
    (the wizard's files): it commits or rolls back with the rest."""
    return await _register_checked(
        session, period_id, data, parent, _idempotency_key(parent, period_id, idempotency_key)
    )


def _idempotency_key(parent: Principal, period_id: int, key: str | None) -> str | None:
    return None if key is None else f"register:{parent.id}:{period_id}:{key}"


async def _register_checked(
    session: AsyncSession, period_id: int, data: schemas.ApplicationCreate, parent: Principal, key: str | None
) -> schemas.ApplicationOut:
    if key is not None:
        replay = await _claim_idempotency(session, key, data)
        if replay is not None:
            return replay
    ctx = await load_context(session, period_id)
    if ctx.period.status is PeriodStatus.REGISTRATION_OPEN:
        _OPEN[period_id] = replace(ctx, period=OpenPeriod.of(ctx.period))
    accepting_registrations(ctx.period)
    plan = validate(ctx, data)
    out = await store_new(session, ctx, data, plan, parent_id=parent.id, actor=parent.actor)
    if key is not None:
        await _store_idempotent(session, key, out)
    return out


# Periods open for registration, as the last registration saw them: the admission-day fast path validates
# against this copy, and its single statement writes only if the period is still that version and open.
# Nothing else can change under it (rules, schools and zones are frozen once registration opens; a change of
# the period bumps its version), so the copy is kept until that statement finds the period changed. It once
# expired every 5 s: then every registration arriving until one had refilled it took the full path, in a
# session of its own, and each worker stalled for a moment every 5 s (docs/benchmarks.md).
_OPEN: LRUCache = LRUCache(maxsize=64)

_TOGETHER = """
WITH period AS (
    SELECT id FROM periods
    WHERE id = $1 AND created_at = $2 AND version = $3 AND status = 'registration_open'
      AND now() >= registration_opens_at AND now() < registration_closes_at
), given AS (
    SELECT * FROM unnest($4::varchar[], $5::varchar[], $6::varchar[], $7::varchar[], $8::date[], $9::varchar[],
                         $10::date[], $11::varchar[], $12::varchar[], $13::float8[], $14::float8[], $15::bool[],
                         $16::varchar[], $17::int[], $18::varchar[], $19::varchar[], $20::numeric[], $21::varchar[],
                         $22::varchar[], $23::text[], $24::varchar[], $25::varchar[], $26::text[])
    AS t(nik, nisn, name, sex, birth_date, kk_number, kk_issued_on, address, kelurahan_code, latitude, longitude,
         in_region, number, parent_id, path, category, score, kk_exception, actor, audit, key, digest, body)
), applicant AS (
    INSERT INTO applicants (period_id, nik, nisn, name, sex, birth_date, kk_number, kk_issued_on, address,
                            kelurahan_code, latitude, longitude, in_region)
    SELECT period.id, nik, nisn, name, sex, birth_date, kk_number, kk_issued_on, address, kelurahan_code,
           latitude, longitude, in_region
    FROM period, given
    RETURNING id, nik
), application AS (
    INSERT INTO applications (period_id, applicant_id, registration_number, parent_id, path, category, score,
                              kk_exception, status, submitted_at)
    SELECT $1, applicant.id, number, parent_id, path, category, score, kk_exception, 'submitted', now()
    FROM applicant JOIN given USING (nik)
    RETURNING id, registration_number, submitted_at, updated_at
), choice AS (
    INSERT INTO choices (application_id, rank, school_id, distance_m, in_zone, zone_priority)
    SELECT application.id, c.rank, c.school_id, c.distance_m, c.in_zone, c.zone_priority
    FROM unnest($27::varchar[], $28::int[], $29::int[], $30::numeric[], $31::bool[], $32::int[])
         AS c(number, rank, school_id, distance_m, in_zone, zone_priority)
    JOIN application ON application.registration_number = c.number
), document AS (
    INSERT INTO documents (application_id, kind, status)
    SELECT application.id, d.kind, 'declared'
    FROM unnest($33::varchar[], $34::varchar[]) AS d(number, kind)
    JOIN application ON application.registration_number = d.number
), audit AS (
    INSERT INTO audit_log (actor, action, entity, entity_id, period_id, new)
    SELECT actor, 'application.create', 'application', number, $1, audit::jsonb
    FROM application JOIN given ON given.number = application.registration_number
), answer AS (
    INSERT INTO idempotent_responses (key, request_hash, status_code, body)
    SELECT key, digest, 201, body::jsonb || jsonb_build_object('submitted_at', submitted_at, 'updated_at', updated_at)
    FROM application JOIN given ON given.number = application.registration_number
    WHERE key IS NOT NULL
)
SELECT registration_number, submitted_at, updated_at FROM application
"""


class _New(NamedTuple):
    """One registration for `_TOGETHER`, in its columns' order; choices and documents go in arrays of their own."""

    nik: str
    nisn: str | None
    name: str
    sex: str
    birth_date: date
    kk_number: str
    kk_issued_on: date
    address: str
    kelurahan_code: str
    latitude: float
    longitude: float
    in_region: bool
    number: str
    parent_id: int
    path: str
    category: str | None
    score: Decimal | None
    kk_exception: str | None
    actor: str
    audit: str
    key: str | None
    digest: str | None
    body: str
    choices: list[ChoicePlan]
    kinds: list[str]


async def _store_together(
    key: tuple[AsyncEngine | AsyncConnection, OpenPeriod], news: list[_New]
) -> list[asyncpg.Record | None]:
    """Registrations queued together, written by one statement; None for each that was not written. A unique
    violation (a known NIK, a used Idempotency-Key, a taken number) fails the whole group, which is then
    written one by one so that only the offending registration is not."""
    bind, period = key
    columns = list(zip(*(new[:-2] for new in news), strict=True))
    choices = [
        (new.number, c.rank, c.school.id, c.distance_m, c.in_zone, c.zone_priority) for new in news for c in new.choices
    ]
    documents = [(new.number, kind) for new in news for kind in new.kinds]
    try:
        async with driver_connection(bind) as connection:
            rows = await connection.fetch(
                _TOGETHER,
                period.id,
                period.created_at,
                period.version,
                *columns,
                *map(list, zip(*choices, strict=True)),
                *map(list, zip(*documents, strict=True)) if documents else ([], []),
            )
    except asyncpg.IntegrityConstraintViolationError:
        if len(news) == 1:
            return [None]
        return [(await _store_together(key, [new]))[0] for new in news]
    if not rows:  # the period is no longer that version, or no longer open: forget this worker's copy
        _OPEN.pop(period.id, None)
    written = {row["registration_number"]: row for row in rows}
    return [written.get(new.number) for new in news]


# Under load a registration waits up to 5 ms longer for a larger group: at the admission-day rate that cut
# the app's and PostgreSQL's CPU per registration by a tenth (docs/benchmarks.md).
_GROUP: Grouped[_New, asyncpg.Record | None] = Grouped(_store_together, linger=0.005)


async def _register_at_once(
    bind: AsyncEngine | AsyncConnection,
    period_id: int,
    data: schemas.ApplicationCreate,
    parent: Principal,
    key: str | None,
) -> schemas.ApplicationOut | None:
    """The admission-day fast path: a new child in an open period, stored by one autocommitted statement
    together with the registrations that arrived at the same moment in this worker (group commit).

    Returns None, having written nothing, whenever anything is unusual (period unknown here or changed,
    invalid data, a known NIK or an active application, a used Idempotency-Key, a taken number): the
    transactional path then answers with the full checks, the right error or the replayed answer.
    """
    ctx = _OPEN.get(period_id)
    if ctx is None:
        return None
    try:
        accepting_registrations(ctx.period)
        plan = validate(ctx, data)
    except AppError:
        return None
    values = _applicant_values(data, plan)
    number, kinds = new_registration_number(ctx.period), sorted(dict.fromkeys(data.documents))
    now = datetime.now(UTC)  # replaced by the database's time in the stored and the returned answer
    out = _answer(ctx, data, plan, number, values, kinds, submitted_at=now, updated_at=now, locked=False)
    digest = None if key is None else hashlib.sha256(msgspec.json.encode(data)).hexdigest()
    row = await _GROUP(
        (bind, ctx.period),
        _New(
            data.nik,
            *values.values(),
            number,
            parent.id,
            plan.path.name,
            data.category,
            data.score,
            data.kk_exception,
            parent.actor,
            json_text({"path": plan.path.name, "choices": data.choices}),
            key,
            digest,
            msgspec.json.encode(out).decode(),
            plan.choices,
            kinds,
        ),
    )
    if row is None:
        return None
    return msgspec.structs.replace(out, submitted_at=row["submitted_at"], updated_at=row["updated_at"])


# Statements compiled once: on admission day registration is the hot write path.
_NEW_APPLICANT = (
    insert(Applicant.__table__)
    .on_conflict_do_nothing(index_elements=["period_id", "nik"])
    .returning(Applicant.__table__.c.id)
)
_NEW_APPLICATION = (
    insert(Application.__table__)
    .values(
        submitted_at=func.coalesce(bindparam("submitted", type_=Application.__table__.c.submitted_at.type), func.now())
    )
    .returning(Application.__table__.c.id, Application.__table__.c.submitted_at, Application.__table__.c.updated_at)
)


async def store_new(
    session: AsyncSession,
    ctx: PeriodContext,
    data: schemas.ApplicationCreate,
    plan: Plan,
    *,
    parent_id: int | None,
    actor: str,
    now: datetime | None = None,
) -> schemas.ApplicationOut:
    """Store a validated registration with Core statements (the admission-day hot path) and answer from
    what was written, without reading it back."""
    values = _applicant_values(data, plan)
    connection = await session.connection()
    # A child new to the period (the common case) is inserted; a known one goes through `_reuse_applicant`.
    applicant_id = await connection.scalar(_NEW_APPLICANT, dict(period_id=ctx.period.id, nik=data.nik, **values))
    locked = False
    if applicant_id is None:
        applicant_id, locked = await _reuse_applicant(session, ctx, data, values)
    number = new_registration_number(ctx.period)
    try:
        application_id, submitted_at, updated_at = (
            await connection.execute(
                _NEW_APPLICATION,
                dict(
                    period_id=ctx.period.id,
                    applicant_id=applicant_id,
                    registration_number=number,
                    parent_id=parent_id,
                    path=plan.path.name,
                    category=data.category,
                    score=data.score,
                    kk_exception=data.kk_exception,
                    status=ApplicationStatus.SUBMITTED,
                    submitted=now,
                ),
            )
        ).one()
    except IntegrityError as err:
        if "uq_applications_active_applicant" in str(err.orig):
            raise Conflict(
                "application_exists", "NIK ini sudah memiliki pendaftaran aktif pada periode ini.", "nik"
            ) from None
        raise
    await connection.execute(
        insert(Choice.__table__), [dict(application_id=application_id, **_choice_kwargs(c)) for c in plan.choices]
    )
    kinds = sorted(dict.fromkeys(data.documents))
    if kinds:
        await connection.execute(
            insert(Document.__table__),
            [dict(application_id=application_id, kind=k, status=DocumentStatus.DECLARED) for k in kinds],
        )
    await record_now(
        session,
        actor=actor,
        action="application.create",
        entity="application",
        entity_id=number,
        period_id=ctx.period.id,
        new={"path": plan.path.name, "choices": data.choices},
    )
    return _answer(
        ctx, data, plan, number, values, kinds, submitted_at=submitted_at, updated_at=updated_at, locked=locked
    )


def _answer(
    ctx: PeriodContext,
    data: schemas.ApplicationCreate,
    plan: Plan,
    number: str,
    values: dict,
    kinds: list[str],
    *,
    submitted_at: datetime,
    updated_at: datetime,
    locked: bool,
) -> schemas.ApplicationOut:
    """A new registration's answer, from what was written (no read-back)."""
    return schemas.ApplicationOut(
        registration_number=number,
        period_id=ctx.period.id,
        status=ApplicationStatus.SUBMITTED.value,
        status_reason=None,
        path=plan.path.name,
        category=data.category,
        score=None if data.score is None else float(data.score),
        kk_exception=data.kk_exception,
        submitted_at=submitted_at,
        updated_at=updated_at,
        applicant=schemas.ApplicantOut(nik=data.nik, **values, coordinate_locked=locked),
        choices=[
            schemas.ChoiceOut(
                rank=c.rank,
                npsn=c.school.npsn,
                school_name=c.school.name,
                distance_m=float(c.distance_m),
                in_zone=c.in_zone,
                zone_priority=c.zone_priority,
            )
            for c in plan.choices
        ],
        documents=[schemas.DocumentOut(kind=k, status=DocumentStatus.DECLARED.value) for k in kinds],
    )


async def _reuse_applicant(
    session: AsyncSession, ctx: PeriodContext, data: schemas.ApplicationCreate, values: dict
) -> tuple[int, bool]:
    """A child registered before in this period (withdrawn, or a concurrent duplicate): refuse what must be
    refused, else update the child's row, locking it so concurrent registrations of one child queue up."""
    known = (
        await session.execute(
            select(
                Applicant.id,
                Applicant.latitude,
                Applicant.longitude,
                Applicant.kelurahan_code,
                Applicant.coordinate_verified_at,
            )
            .where(Applicant.period_id == ctx.period.id, Applicant.nik == data.nik)
            .with_for_update()
        )
    ).one()
    if await session.scalar(
        select(Application.id).where(
            Application.applicant_id == known.id, Application.status == ApplicationStatus.DISQUALIFIED
        )
    ):
        raise Conflict("applicant_disqualified", "NIK ini didiskualifikasi pada periode ini.", "nik")
    if await session.scalar(
        select(Application.registration_number).where(
            Application.applicant_id == known.id, Application.status != ApplicationStatus.WITHDRAWN
        )
    ):
        raise Conflict("application_exists", "NIK ini sudah memiliki pendaftaran aktif pada periode ini.", "nik")
    locked = known.coordinate_verified_at is not None
    if locked and (known.latitude, known.longitude, known.kelurahan_code) != (
        data.latitude,
        data.longitude,
        data.kelurahan_code,
    ):
        raise Conflict(
            "coordinate_locked",
            "Lokasi rumah anak ini sudah diverifikasi dan dikunci; hubungi Dinas untuk perubahan.",
            "latitude",
        )
    await session.execute(update(Applicant).where(Applicant.id == known.id).values(**values))
    return known.id, locked


_CLAIM = (
    insert(IdempotentResponse.__table__)
    .on_conflict_do_nothing(index_elements=["key"])
    .returning(IdempotentResponse.__table__.c.key)
)
_ANSWER = (
    update(IdempotentResponse.__table__)
    .where(IdempotentResponse.__table__.c.key == bindparam("claimed"))
    .values(status_code=201)
)


async def _claim_idempotency(session: AsyncSession, key: str, data: msgspec.Struct) -> schemas.ApplicationOut | None:
    """Claim the key for this request, or return the first request's answer.

    The claim row is inserted in the request's own transaction: a concurrent retry waits on it, then
    replays the committed answer; if the first request failed, its claim rolls back and the retry proceeds.
    """
    digest = hashlib.sha256(msgspec.json.encode(data)).hexdigest()
    if await (await session.connection()).scalar(_CLAIM, {"key": key, "request_hash": digest}) is not None:
        return None
    stored = await session.get(IdempotentResponse, key)
    if stored is None or stored.request_hash != digest:
        raise AppError(
            "idempotency_key_reused", "Idempotency-Key ini sudah dipakai untuk permintaan lain.", "Idempotency-Key"
        )
    return msgspec.convert(stored.body, schemas.ApplicationOut, strict=False)


async def _store_idempotent(session: AsyncSession, key: str, out: schemas.ApplicationOut) -> None:
    await (await session.connection()).execute(_ANSWER, {"claimed": key, "body": msgspec.to_builtins(out)})


# --- reading, changing, withdrawing --------------------------------------------------------------------------


async def _load(session: AsyncSession, registration_number: str, *, for_update: bool = False) -> Application | None:
    stmt = (
        select(Application)
        .where(Application.registration_number == registration_number)
        .options(
            selectinload(Application.applicant), selectinload(Application.choices), selectinload(Application.documents)
        )
    )
    if for_update:
        stmt = stmt.with_for_update(of=Application)
    return await session.scalar(stmt)


@dataclass(frozen=True, slots=True)
class ApplicationRef:
    """What reading an application's status needs, without loading the application."""

    id: int
    registration_number: str
    period_id: int
    status: ApplicationStatus
    updated_at: datetime


VISIBLE_COLUMNS = select(
    Application.id,
    Application.registration_number,
    Application.period_id,
    Application.status,
    Application.updated_at,
    Application.parent_id,
    Period.region_id,
).join(Period, Period.id == Application.period_id)
VISIBLE = VISIBLE_COLUMNS.where(Application.registration_number == bindparam("number"))


async def visible(
    session: AsyncSession, registration_number: str, user: Principal, *, write: bool = False
) -> ApplicationRef:
    """The application if the caller may see it (or change it, with `write`); the same 404 otherwise.

    Parents see and change their own; agency admins see their region's; school operators see the
    applications that chose their school. Changes by staff go through their own audited actions.
    """
    return await check_visible(
        session, (await session.execute(VISIBLE, {"number": registration_number})).first(), user, write=write
    )


def visible_to(row, user: Principal, *, write: bool = False) -> bool | None:
    """Whether the caller may see (or change) the application in `row` (a row of `VISIBLE`'s columns);
    None when it takes the database to say (a school operator: is it one of their school's applicants?)."""
    if row is None:
        return False
    if user.role is Role.PARENT:
        return row.parent_id == user.id
    if write:
        return False
    if user.role is Role.AGENCY_ADMIN:
        return row.region_id == user.region_id
    return None if user.role is Role.SCHOOL_OPERATOR else False


async def check_visible(session: AsyncSession, row, user: Principal, *, write: bool = False) -> ApplicationRef:
    """`visible` for a row of `VISIBLE`'s columns that the caller selected itself (with more columns)."""
    allowed = visible_to(row, user, write=write)
    if allowed is None:
        allowed = (
            await session.scalar(
                select(Choice.rank).where(Choice.application_id == row.id, Choice.school_id == user.school_id)
            )
            is not None
        )
    if not allowed:
        raise NotFound("application_not_found", "Pendaftaran tidak ditemukan.", "registration_number")
    return ApplicationRef(row.id, row.registration_number, row.period_id, row.status, row.updated_at)


async def authorize(
    session: AsyncSession, registration_number: str, user: Principal, *, write: bool = False, lock: bool | None = None
) -> Application:
    """`visible`, then the application itself (locked for a change)."""
    await visible(session, registration_number, user, write=write)
    application = await _load(session, registration_number, for_update=write if lock is None else lock)
    if application is None:  # its period was deleted in between
        raise NotFound("application_not_found", "Pendaftaran tidak ditemukan.", "registration_number")
    return application


async def read(session: AsyncSession, registration_number: str) -> schemas.ApplicationOut:
    application = await _load(session, registration_number)
    assert application is not None
    school_ids = [c.school_id for c in application.choices]
    schools = {s.id: s for s in await session.scalars(select(School).where(School.id.in_(school_ids)))}
    return to_out(application, schools)


def to_out(application: Application, schools: dict[int, School]) -> schemas.ApplicationOut:
    a = application.applicant
    return schemas.ApplicationOut(
        registration_number=application.registration_number,
        period_id=application.period_id,
        status=application.status.value,
        status_reason=application.status_reason,
        path=application.path,
        category=application.category,
        score=None if application.score is None else float(application.score),
        kk_exception=application.kk_exception,
        submitted_at=application.submitted_at,
        updated_at=application.updated_at,
        applicant=schemas.ApplicantOut(
            nik=a.nik,
            nisn=a.nisn,
            name=a.name,
            sex=a.sex,
            birth_date=a.birth_date,
            kk_number=a.kk_number,
            kk_issued_on=a.kk_issued_on,
            address=a.address,
            kelurahan_code=a.kelurahan_code,
            latitude=a.latitude,
            longitude=a.longitude,
            in_region=a.in_region,
            coordinate_locked=a.coordinate_verified_at is not None,
        ),
        choices=[
            schemas.ChoiceOut(
                rank=c.rank,
                npsn=schools[c.school_id].npsn,
                school_name=schools[c.school_id].name,
                distance_m=float(c.distance_m),
                in_zone=c.in_zone,
                zone_priority=c.zone_priority,
            )
            for c in application.choices
        ],
        documents=[
            schemas.DocumentOut(
                kind=d.kind,
                status=d.status.value,
                content_type=d.content_type,
                size_bytes=d.size_bytes,
                reason=d.reason,
            )
            for d in sorted(application.documents, key=lambda d: d.kind)
        ],
    )


async def change(
    session: AsyncSession, registration_number: str, user: Principal, patch: schemas.ApplicationUpdate
) -> schemas.ApplicationOut:
    application = await authorize(session, registration_number, user, write=True)
    ctx = await load_context(session, application.period_id)
    accepting_registrations(ctx.period)
    _still_active(application)
    current = current_data(application, ctx)
    merged = msgspec.convert(
        {**msgspec.to_builtins(current), **msgspec.to_builtins(patch)}, schemas.ApplicationCreate, strict=False
    )
    moved = (merged.latitude, merged.longitude, merged.kelurahan_code) != (
        current.latitude,
        current.longitude,
        current.kelurahan_code,
    )
    if moved and application.applicant.coordinate_verified_at is not None:
        raise Conflict(
            "coordinate_locked",
            "Lokasi rumah sudah diverifikasi dan dikunci; hubungi Dinas untuk perubahan.",
            "latitude",
        )
    plan = validate(ctx, merged)
    await apply_plan(session, application, merged, plan)
    changed = msgspec.to_builtins(patch)
    record(
        session,
        actor=user.actor,
        action="application.change",
        entity="application",
        entity_id=registration_number,
        period_id=application.period_id,
        old={k: v for k, v in msgspec.to_builtins(current).items() if k in changed},
        new=changed,
    )
    await session.flush()
    session.expire(application)
    return await read(session, registration_number)


async def apply_plan(
    session: AsyncSession, application: Application, merged: schemas.ApplicationCreate, plan: Plan
) -> None:
    """Write a validated version of an application: applicant data, path, choices, declared documents."""
    a = application.applicant
    for key, value in _applicant_values(merged, plan).items():
        setattr(a, key, value)
    application.path, application.category = plan.path.name, merged.category
    application.updated_at = func.clock_timestamp()  # also when only the choices (another table) changed
    application.score, application.kk_exception = merged.score, merged.kk_exception
    # Replace choices in SQL, not via the ORM collection, so (application, rank) never collides mid-flush.
    await session.execute(delete(Choice).where(Choice.application_id == application.id))
    session.expire(application, ["choices"])
    session.add_all(Choice(application_id=application.id, **_choice_kwargs(c)) for c in plan.choices)
    kept = set(merged.documents)
    for document in list(application.documents):
        if document.kind not in kept and document.status is DocumentStatus.DECLARED:
            application.documents.remove(document)
    have = {d.kind for d in application.documents}
    application.documents.extend(Document(kind=k) for k in dict.fromkeys(merged.documents) if k not in have)


async def store_many(
    session: AsyncSession,
    ctx: PeriodContext,
    items: list[tuple[schemas.ApplicationCreate, Plan, datetime]],
    *,
    actor: str,
) -> int:
    """Store many validated registrations with a handful of bulk statements (offline imports, demo data).

    The caller validates each item with `validate`; NIK uniqueness is still enforced by the database.
    """
    if not items:
        return 0
    applicant_ids = list(
        await session.scalars(
            insert(Applicant).returning(Applicant.id, sort_by_parameter_order=True),
            [dict(period_id=ctx.period.id, nik=data.nik, **_applicant_values(data, plan)) for data, plan, _ in items],
        )
    )
    application_ids = list(
        await session.scalars(
            insert(Application).returning(Application.id, sort_by_parameter_order=True),
            [
                dict(
                    period_id=ctx.period.id,
                    applicant_id=applicant_id,
                    registration_number=new_registration_number(ctx.period),
                    path=plan.path.name,
                    category=data.category,
                    score=data.score,
                    kk_exception=data.kk_exception,
                    status=ApplicationStatus.SUBMITTED,
                    submitted_at=submitted_at,
                )
                for applicant_id, (data, plan, submitted_at) in zip(applicant_ids, items, strict=True)
            ],
        )
    )
    await session.execute(
        insert(Choice),
        [
            dict(application_id=application_id, **_choice_kwargs(c))
            for application_id, (_, plan, _) in zip(application_ids, items, strict=True)
            for c in plan.choices
        ],
    )
    await session.execute(
        insert(Document),
        [
            dict(application_id=application_id, kind=kind, status=DocumentStatus.DECLARED)
            for application_id, (data, _, _) in zip(application_ids, items, strict=True)
            for kind in dict.fromkeys(data.documents)
        ],
    )
    record(
        session,
        actor=actor,
        action="applications.bulk_create",
        entity="period",
        entity_id=ctx.period.id,
        period_id=ctx.period.id,
        new={"applications": len(items)},
    )
    return len(items)


def _choice_kwargs(c: ChoicePlan) -> dict:
    return dict(
        rank=c.rank, school_id=c.school.id, distance_m=c.distance_m, in_zone=c.in_zone, zone_priority=c.zone_priority
    )


def _still_active(application: Application) -> None:
    if application.status is ApplicationStatus.WITHDRAWN:
        raise Conflict("application_withdrawn", "Pendaftaran ini sudah dicabut.", "status")
    if application.status is ApplicationStatus.DISQUALIFIED:
        raise Conflict(
            "applicant_disqualified", f"Pendaftaran ini didiskualifikasi: {application.status_reason}", "status"
        )


def current_data(application: Application, ctx: PeriodContext) -> schemas.ApplicationCreate:
    a = application.applicant
    by_id = {s.id: s.npsn for s in ctx.schools.values()}
    return schemas.ApplicationCreate(
        nik=a.nik,
        nisn=a.nisn,
        name=a.name,
        sex=a.sex,
        birth_date=a.birth_date,
        kk_number=a.kk_number,
        kk_issued_on=a.kk_issued_on,
        kk_exception=application.kk_exception,
        address=a.address,
        kelurahan_code=a.kelurahan_code,
        latitude=a.latitude,
        longitude=a.longitude,
        path=application.path,
        category=application.category,
        score=application.score,
        choices=[by_id[c.school_id] for c in application.choices],
        documents=[d.kind for d in application.documents],
    )


async def withdraw(session: AsyncSession, registration_number: str, user: Principal) -> schemas.ApplicationOut:
    application = await authorize(session, registration_number, user, write=True)
    period = await get_period(session, application.period_id)
    accepting_registrations(period)
    _still_active(application)
    old = application.status
    application.status, application.withdrawn_at = ApplicationStatus.WITHDRAWN, datetime.now(UTC)
    record(
        session,
        actor=user.actor,
        action="application.withdraw",
        entity="application",
        entity_id=registration_number,
        period_id=application.period_id,
        old={"status": old.value},
        new={"status": ApplicationStatus.WITHDRAWN.value},
    )
    await session.flush()
    session.expire(application)
    return await read(session, registration_number)
