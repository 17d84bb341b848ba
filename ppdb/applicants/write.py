"""The one write path of new registrations: one statement stores any number of them, with their choices,
declared documents, audit entries, idempotent answers and the parents' notifications.

The admission-day fast path (grouped, autocommitted), the transactional path (in a session) and bulk imports
all run `REGISTER`, built here from the table definitions and compiled once. Every value is passed by column
name; `_columns` refuses a statement that leaves a table's column neither written nor left to the database.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import (
    ARRAY,
    Boolean,
    ColumnElement,
    Integer,
    Table,
    Text,
    and_,
    bindparam,
    cast,
    func,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeEngine

from ppdb.applicants import schemas
from ppdb.applicants.models import (
    PIN_MAX_FAILURES,
    Applicant,
    Application,
    ApplicationStatus,
    Document,
    DocumentStatus,
    IdempotentResponse,
    Pin,
)
from ppdb.applicants.models import Choice as ChoiceRow
from ppdb.applicants.validation import OpenPeriod, Plan
from ppdb.audit.models import AuditEntry
from ppdb.db.session import Compiled, json_text
from ppdb.errors import Conflict
from ppdb.notifications import outbox
from ppdb.regions.models import Period, PeriodStatus

APPLICANTS: Table = Applicant.__table__  # type: ignore[assignment]
APPLICATIONS: Table = Application.__table__  # type: ignore[assignment]
CHOICES: Table = ChoiceRow.__table__  # type: ignore[assignment]
DOCUMENTS: Table = Document.__table__  # type: ignore[assignment]
AUDIT: Table = AuditEntry.__table__  # type: ignore[assignment]
ANSWERS: Table = IdempotentResponse.__table__  # type: ignore[assignment]
PERIODS: Table = Period.__table__  # type: ignore[assignment]
PINS: Table = Pin.__table__  # type: ignore[assignment]

# What a new registration leaves to the database (defaults) or to later actions (verification, withdrawal).
LEFT: dict[str, frozenset[str]] = {
    "applicants": frozenset({"id", "created_at", "updated_at", "coordinate_verified_at", "coordinate_verified_by"}),
    "applications": frozenset(
        {"id", "created_at", "updated_at", "withdrawn_at", "withdrawn_applicant", "status_reason"}
    ),
    "choices": frozenset(),
    "documents": frozenset(
        {
            "id",
            "created_at",
            "updated_at",
            "content_type",
            "size_bytes",
            "sha256",
            "storage_name",
            "decided_by",
            "reason",
        }
    ),
    "audit_log": frozenset({"id", "at", "old"}),
    "idempotent_responses": frozenset({"created_at"}),
}

# The applicant's columns a registration writes (the form's, plus whether the address is in the region).
APPLICANT_FIELDS = (
    "nik",
    "nisn",
    "name",
    "sex",
    "birth_date",
    "kk_number",
    "kk_issued_on",
    "address",
    "kelurahan_code",
    "rw",
    "rt",
    "latitude",
    "longitude",
    "in_region",
)
# The application's columns a registration sets from the form and the caller.
APPLICATION_FIELDS = (
    "registration_number",
    "parent_id",
    "registrar_school_id",
    "path",
    "category",
    "kk_exception",
    "submitted_at",
)
CHOICE_FIELDS = ("rank", "school_id", "distance_m", "in_zone", "zone_priority", "program_id")
# One registration's values, beside its applicant's and application's: the audit entry and the stored answer.
EXTRA: dict[str, TypeEngine[Any]] = {
    "applicant_id": Integer(),
    "actor": AUDIT.c.actor.type,
    "audit": Text(),  # JSON text (the driver's JSON codec is SQLAlchemy's; these bypass it)
    "key": ANSWERS.c.key.type,
    "request_hash": ANSWERS.c.request_hash.type,
    "body": Text(),
    "pin_digest": Text(),  # the PIN given, where the rules require one: stored only if it is the child's
}


def _columns(table: Table, values: Mapping[str, ColumnElement[Any]]) -> dict[str, ColumnElement[Any]]:
    """`values`, once every column of `table` is either in it or left to the database (by `LEFT`)."""
    names, left = set(table.c.keys()), LEFT[table.name]
    problems = [
        f"{label}: {', '.join(sorted(found))}"
        for label, found in (
            ("column(s) neither written nor left to the database", names - values.keys() - left),
            ("no such column(s)", (values.keys() | left) - names),
        )
        if found
    ]
    if problems:
        raise LookupError(f"registration write path, table {table.name}: " + "; ".join(problems))
    return dict(values)


def _type_of(column: Any) -> TypeEngine[Any]:
    """A column's type (a foreign key's is its target's, an id, unknown until that table is loaded)."""
    return Integer() if column.foreign_keys else column.type


def _arrays(prefix: str, types: Mapping[str, TypeEngine[Any]], name: str) -> Any:
    """`unnest` over one array parameter per name (`{prefix}{name}`), as the rows of a table called `name`."""
    arrays = [cast(bindparam(f"{prefix}{column}"), ARRAY(type_)) for column, type_ in types.items()]
    return func.unnest(*arrays).table_valued(*types, name=name).render_derived(with_types=False)


def _insert(table: Table, values: Mapping[str, ColumnElement[Any]], source: Any, *returning: str) -> Any:
    """INSERT INTO `table` (the names of `values`) SELECT (its expressions) FROM `source`."""
    values = _columns(table, values)
    statement = insert(table).from_select(list(values), source.with_only_columns(*values.values()))
    return statement.returning(*(table.c[name] for name in returning)) if returning else statement


def build(
    applicants: Table = APPLICANTS,
    applications: Table = APPLICATIONS,
    choices: Table = CHOICES,
    documents: Table = DOCUMENTS,
) -> Any:
    """The statement (the tables are parameters only so that a test can show a forgotten column)."""
    number_type = applications.c.registration_number.type
    given = _arrays(
        "",
        {
            **{name: _type_of(applicants.c[name]) for name in APPLICANT_FIELDS},
            **{name: _type_of(applications.c[name]) for name in APPLICATION_FIELDS},
            **EXTRA,
        },
        "given",
    )
    given = select(given).cte("given")  # read three times, unnested once
    pin = PINS.c
    child_pin = select(pin.nik).where(
        pin.period_id == cast(bindparam("admission_id"), Integer()),
        pin.nik == given.c.nik,
        pin.digest == given.c.pin_digest,
        pin.failures < PIN_MAX_FAILURES,
    )
    given = select(given).where(or_(given.c.pin_digest.is_(None), child_pin.exists())).cte("accepted")
    choice = _arrays(
        "choice_", {"registration_number": number_type, **{n: _type_of(choices.c[n]) for n in CHOICE_FIELDS}}, "choice"
    )
    document = _arrays("document_", {"registration_number": number_type, "kind": documents.c.kind.type}, "document")
    period = (
        select(PERIODS.c.id)
        .where(
            PERIODS.c.id == cast(bindparam("period_id"), Integer()),
            or_(
                ~cast(bindparam("guarded"), Boolean()),
                and_(
                    PERIODS.c.version == cast(bindparam("version"), Integer()),
                    PERIODS.c.status == literal(PeriodStatus.REGISTRATION_OPEN.value, PERIODS.c.status.type),
                    func.now() >= PERIODS.c.registration_opens_at,
                    func.now() < PERIODS.c.registration_closes_at,
                ),
            ),
        )
        .cte("period")
    )
    g = given.c
    applicant = _insert(
        applicants,
        {"period_id": period.c.id, **{name: g[name] for name in APPLICANT_FIELDS}},
        select(period.c.id).select_from(period.join(given, true())).where(g.applicant_id.is_(None)),
        "id",
        "nik",
    ).cte("applicant")
    application = _insert(
        applications,
        {
            "period_id": period.c.id,
            "applicant_id": func.coalesce(g.applicant_id, applicant.c.id),
            **{name: g[name] for name in APPLICATION_FIELDS},
            "status": literal(ApplicationStatus.SUBMITTED.value, applications.c.status.type),
            "submitted_at": func.coalesce(g.submitted_at, func.now()),
        },
        select(period.c.id)
        .select_from(period.join(given, true()).outerjoin(applicant, applicant.c.nik == g.nik))
        .where(or_(g.applicant_id.is_not(None), applicant.c.id.is_not(None))),
        "id",
        "registration_number",
        "submitted_at",
        "updated_at",
    ).cte("application")
    new = application.c
    stored_choices = _insert(
        choices,
        {"application_id": new.id, **{name: choice.c[name] for name in CHOICE_FIELDS}},
        select(new.id).select_from(choice.join(application, new.registration_number == choice.c.registration_number)),
    ).cte("stored_choice")
    stored_documents = _insert(
        documents,
        {
            "application_id": new.id,
            "kind": document.c.kind,
            "status": literal(DocumentStatus.DECLARED.value, documents.c.status.type),
        },
        select(new.id).select_from(
            document.join(application, new.registration_number == document.c.registration_number)
        ),
    ).cte("stored_document")
    registered = application.join(given, g.registration_number == new.registration_number)
    audited = _insert(
        AUDIT,
        {
            "actor": g.actor,
            "action": literal("application.create", AUDIT.c.action.type),
            "entity": literal("application", AUDIT.c.entity.type),
            "entity_id": new.registration_number,
            "period_id": period.c.id,
            "new": cast(g.audit, JSONB),
        },
        select(new.id).select_from(registered.join(period, true())).where(g.actor.is_not(None)),
    ).cte("audited")
    answered = _insert(
        ANSWERS,
        {
            "key": g.key,
            "request_hash": g.request_hash,
            "status_code": literal(201, ANSWERS.c.status_code.type),
            "body": cast(g.body, JSONB).op("||")(
                func.jsonb_build_object("submitted_at", new.submitted_at, "updated_at", new.updated_at)
            ),
        },
        select(new.id).select_from(registered).where(g.key.is_not(None)),
    ).cte("answered")
    number = new.registration_number
    notified = outbox.to_parents(
        select(
            g.parent_id.label("parent_id"),
            literal("registration:").concat(number).label("key"),
            outbox.about(number).label("params"),
        )
        .select_from(registered)
        .where(g.parent_id.is_not(None)),
        "registration_received",
    ).cte("notified")
    return select(new.registration_number, new.submitted_at, new.updated_at).add_cte(
        stored_choices, stored_documents, audited, answered, notified
    )


REGISTER = Compiled(build())
GIVEN = (*APPLICANT_FIELDS, *APPLICATION_FIELDS, *EXTRA)

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U to misread


def new_registration_number(period: Period | OpenPeriod) -> str:
    bits = secrets.randbits(40)  # one call to the system's random source, 8 characters of 5 bits
    token = "".join(_ALPHABET[bits >> shift & 31] for shift in range(35, -5, -5))
    return f"{period.school_year[:4]}-{period.level.value.upper()}-{token}"


@dataclass(frozen=True, slots=True)
class NewRegistration:
    """One registration for `REGISTER`, each value under its column's name."""

    applicant: dict[str, Any]  # APPLICANT_FIELDS
    application: dict[str, Any]  # APPLICATION_FIELDS
    choices: list[dict[str, Any]]  # registration_number and CHOICE_FIELDS, one per choice
    kinds: list[str]  # the declared documents
    extra: dict[str, Any]  # EXTRA: a known applicant's id, the audit entry, the stored answer
    coordinate_verified_at: datetime | None = None  # a known applicant's, unchanged by registering again


def new_registration(
    data: schemas.ApplicationCreate,
    plan: Plan,
    *,
    number: str,
    parent_id: int | None,
    registrar_school_id: int | None = None,
    submitted_at: datetime | None = None,
    applicant_id: int | None = None,
    coordinate_verified_at: datetime | None = None,
    actor: str | None = None,
    pin_digest: str | None = None,
) -> NewRegistration:
    """The rows of a validated registration (`submitted_at` None: the database's time; `actor` None: no
    audit entry of its own, as in a bulk import; `pin_digest`: stored only if it is the child's PIN's)."""
    applicant = {
        "nik": data.nik,
        "nisn": data.nisn,
        "name": data.name.strip(),
        "sex": data.sex,
        "birth_date": data.birth_date,
        "kk_number": data.kk_number,
        "kk_issued_on": data.kk_issued_on,
        "address": data.address.strip(),
        "kelurahan_code": data.kelurahan_code,
        "rw": data.rw,
        "rt": data.rt,
        "latitude": data.latitude,
        "longitude": data.longitude,
        "in_region": plan.in_region,
    }
    application = {
        "registration_number": number,
        "parent_id": parent_id,
        "registrar_school_id": registrar_school_id,
        "path": plan.path.name,
        "category": data.category,
        "kk_exception": data.kk_exception,
        "submitted_at": submitted_at,
    }
    choices = [
        {
            "registration_number": number,
            "rank": c.rank,
            "school_id": c.school.id,
            "distance_m": c.distance_m,
            "in_zone": c.in_zone,
            "zone_priority": c.zone_priority,
            "program_id": c.program.id if c.program else None,
        }
        for c in plan.choices
    ]
    audit = None if actor is None else json_text({"path": plan.path.name, "choices": data.choices})
    extra = {
        "applicant_id": applicant_id,
        "actor": actor,
        "audit": audit,
        "key": None,
        "request_hash": None,
        "pin_digest": pin_digest,
    }
    return NewRegistration(
        applicant,
        application,
        choices,
        sorted(dict.fromkeys(data.documents)),
        {**extra, "body": None},
        coordinate_verified_at,
    )


async def run(
    connection: asyncpg.Connection,
    period_id: int,
    version: int | None,
    news: Sequence[NewRegistration],
    *,
    admission_id: int | None = None,
) -> list[asyncpg.Record]:
    """Store `news` with one statement; with `version`, only while the period is that version and open
    (else nothing is stored). Returns each stored registration's number and timestamps. `admission_id`: the
    admission's first period, whose PINs hold for every stage (the period itself for a first stage)."""
    given = [{**n.applicant, **n.application, **n.extra} for n in news]
    choices = [c for n in news for c in n.choices]
    values = {name: [g[name] for g in given] for name in GIVEN}
    values.update({f"choice_{name}": [c[name] for c in choices] for name in ("registration_number", *CHOICE_FIELDS)})
    values["document_registration_number"] = [n.application["registration_number"] for n in news for _ in n.kinds]
    values["document_kind"] = [kind for n in news for kind in n.kinds]
    admission_id = admission_id or period_id
    args = REGISTER.args(
        period_id=period_id, admission_id=admission_id, guarded=version is not None, version=version, **values
    )
    return await connection.fetch(REGISTER.sql, *args)


async def run_in(
    session: AsyncSession, period_id: int, news: Sequence[NewRegistration], *, admission_id: int | None = None
) -> list[asyncpg.Record]:
    """`run` in the session's transaction (unguarded: the caller has checked the period in it), under a
    savepoint so that a refused row (a unique violation) leaves the transaction usable."""
    async with session.begin_nested():
        driver = (await (await session.connection()).get_raw_connection()).driver_connection
        assert driver is not None
        try:
            return await run(driver, period_id, None, news, admission_id=admission_id)
        except asyncpg.UniqueViolationError as err:
            if err.constraint_name in ("uq_applications_active_applicant", "uq_applicants_period_id_nik"):
                raise Conflict(
                    "application_exists", "NIK ini sudah memiliki pendaftaran aktif pada periode ini.", "nik"
                ) from None
            raise


async def reuse_applicant(
    session: AsyncSession, period_id: int, applicant: Mapping[str, Any], parent_id: int | None = None
) -> tuple[int, datetime | None] | None:
    """None for a child new to the period. A child registered before in it (withdrawn, or a concurrent
    duplicate): refuse what must be refused, else update the child's row (`applicant`: APPLICANT_FIELDS),
    locking it so concurrent registrations of one child queue up; its id and coordinate verification."""
    c = APPLICANTS.c
    known = (
        await session.execute(
            select(c.id, c.latitude, c.longitude, c.kelurahan_code, c.rw, c.rt, c.coordinate_verified_at)
            .where(c.period_id == period_id, c.nik == applicant["nik"])
            .with_for_update()
        )
    ).first()
    if known is None:
        return None
    applications = (
        await session.execute(
            select(APPLICATIONS.c.status, APPLICATIONS.c.parent_id).where(APPLICATIONS.c.applicant_id == known.id)
        )
    ).all()
    if any(a.status is ApplicationStatus.DISQUALIFIED for a in applications):
        raise Conflict("applicant_disqualified", "NIK ini didiskualifikasi pada periode ini.", "nik")
    active = [a for a in applications if a.status is not ApplicationStatus.WITHDRAWN]
    if active and parent_id is not None and active[0].parent_id is None:
        raise Conflict(
            "claim_available",
            "Anak ini sudah didaftarkan di sekolah. Masukkan nomor pendaftaran dan PIN dari sekolah untuk "
            "memindahkan pendaftaran itu ke akun Anda.",
            "nik",
        )
    if active and parent_id is not None and active[0].parent_id != parent_id:
        raise Conflict(
            "nik_registered_elsewhere",
            "NIK ini sudah didaftarkan dari akun lain. Bila ini anak Anda, laporkan ke Dinas lewat halaman Bantuan "
            "dengan membawa KK: setelah diperiksa, Dinas dapat melepas pendaftaran itu agar Anda dapat mendaftar.",
            "nik",
        )
    if active:
        raise Conflict("application_exists", "NIK ini sudah memiliki pendaftaran aktif pada periode ini.", "nik")
    place = tuple(applicant[k] for k in ("latitude", "longitude", "kelurahan_code", "rw", "rt"))
    if known.coordinate_verified_at is not None and tuple(known[1:6]) != place:
        raise Conflict(
            "coordinate_locked",
            "Lokasi rumah anak ini sudah diverifikasi dan dikunci; hubungi Dinas untuk perubahan.",
            "latitude",
        )
    await session.execute(update(APPLICANTS).where(c.id == known.id).values(**applicant))
    return known.id, known.coordinate_verified_at
