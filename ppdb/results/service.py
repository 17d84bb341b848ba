"""Publishing a selection run as an immutable snapshot, and reading it back for the public."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

import asyncpg
import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from ppdb.applicants.models import Applicant, Application
from ppdb.audit.service import record_publication
from ppdb.authz import Principal
from ppdb.db.base import to_struct
from ppdb.db.session import bind_of, driver_connection, driver_read
from ppdb.errors import AppError, NotFound
from ppdb.labels import path_title
from ppdb.regions.models import Period
from ppdb.regions.service import get_period
from ppdb.reregistration.models import Decision, Reregistration
from ppdb.results import schemas
from ppdb.results.models import Publication, PublicationEntry
from ppdb.schools.models import School
from ppdb.schools.service import Places, place, place_names
from ppdb.selection.models import Placement, ProgramOutcome, RunKind
from ppdb.selection.programs import Considered, Number, ProgramKey, public_names
from ppdb.selection.service import latest_run


def mask_name(name: str) -> str:
    """AHMAD FAUZI RAHMAN -> AHMAD F**** R****: enough for a family to find itself, not to identify a child."""
    words = name.upper().split()
    if not words:
        return "****"
    if len(words) == 1:  # SITI -> SI****: the whole of a one-word name would be the child's name
        return words[0][:2] + "****"
    return " ".join([words[0], *(word[0] + "****" for word in words[1:])])


def mask_number(value: str) -> str:
    return "****" + value[-4:]


async def publish(
    session: AsyncSession, period: Period, user: Principal, request: schemas.PublishRequest
) -> Publication:
    """A new version of the period's results from its latest official run (`period` locked by the caller,
    `ppdb.flows.publish`, which also checks its status)."""
    selection_run = await latest_run(session, period.id, RunKind.OFFICIAL)
    round_ = selection_run.round
    previous = await session.scalar(select(func.max(Publication.version)).where(Publication.period_id == period.id))
    same_round = await session.scalar(
        select(func.count())
        .select_from(Publication)
        .where(Publication.period_id == period.id, Publication.round == round_)
    )
    if same_round and not request.reason:
        raise AppError("reason_required", "Koreksi pengumuman memerlukan alasan.", "reason")
    version = (previous or 0) + 1
    now = datetime.now(UTC)
    rows = (
        await session.execute(
            select(Placement, Application.registration_number, Applicant.name, Applicant.birth_date)
            .join(Application, Application.id == Placement.application_id)
            .join(Applicant, Applicant.id == Application.applicant_id)
            .where(Placement.run_id == selection_run.id)
        )
    ).all()
    outcomes = list(await session.scalars(select(ProgramOutcome).where(ProgramOutcome.run_id == selection_run.id)))
    names = await place_names(session, period.id, {o.school_npsn for o in outcomes})
    held: dict[str, list[tuple[list[Number], str, str]]] = {}
    for placement, number, name, _ in rows:
        if placement.program is not None and placement.choice_rank is not None:
            entry = placement.entries()[placement.choice_rank]
            assert isinstance(entry, Considered)
            held.setdefault(placement.program, []).append((entry.key, number, name))
    schools: dict[str, list[schemas.PathResult]] = {}
    for o in sorted(outcomes, key=lambda o: (o.school_npsn, o.program_key.major or "", o.program)):
        placed = [
            schemas.PlacedEntry(rank=i, registration_number=mask_number(number), name=mask_name(name))
            for i, (_, number, name) in enumerate(sorted(held.get(o.program, [])), start=1)
        ]
        cut = o.cut.public() if o.cut is not None else None
        major = o.program_key.major
        schools.setdefault(o.school_npsn, []).append(
            schemas.PathResult(
                path=o.program_key.quota_path,
                program=major,
                program_name=names.get((o.school_npsn, major)) if major else None,
                seats=o.capacity,
                final_seats=o.final_capacity,
                filled=o.filled,
                cutoff=cut.values if cut is not None else None,
                key_names=cut.names if cut is not None else public_names(o.key_names),
                placed=placed,
            )
        )
    programs = {o.program: o.program_key for o in outcomes}
    seats = {
        p.application_id: (programs[p.program].npsn, programs[p.program].engine_path) if p.program else None
        for p, *_ in rows
    }
    changes = None if not previous else await _changes(session, period.id, previous, seats, names)
    snapshot = schemas.Snapshot(
        period_id=period.id,
        period_name=period.name,
        version=version,
        round=round_,
        reason=request.reason,
        run_id=selection_run.id,
        run_digest=selection_run.digest,
        published_at=now,
        schools=[
            schemas.SchoolResult(npsn=npsn, name=place(names, npsn), paths=paths) for npsn, paths in schools.items()
        ],
        changes=changes,
    )
    raw = msgspec.json.encode(snapshot)
    publication = Publication(
        period_id=period.id,
        version=version,
        round=round_,
        run_id=selection_run.id,
        reason=request.reason,
        published_at=now,
        published_by=user.id,
        snapshot=raw,
        digest=hashlib.sha256(raw).hexdigest(),
    )
    session.add(publication)
    await session.flush()
    session.add_all(
        PublicationEntry(
            publication_id=publication.id,
            application_id=p.application_id,
            registration_number=number,
            birth_date=birth,
            npsn=programs[p.program].npsn if p.program else None,
            path=programs[p.program].engine_path if p.program else None,
            choice_rank=p.choice_rank,
        )
        for p, number, _, birth in rows
    )
    record_publication(
        session,
        publication,
        "results.publish",
        actor=user.actor,
        new={
            "version": version,
            "round": round_,
            "digest": publication.digest,
            "run_id": selection_run.id,
            "reason": request.reason,
        },
    )
    await session.flush()
    return publication


async def _changes(
    session: AsyncSession,
    period_id: int,
    previous: int,
    seats: dict[int, tuple[str, str] | None],
    names: Places,
) -> list[schemas.Moved]:
    """Every child whose seat differs between the previous version and `seats` (application -> (NPSN, path)),
    masked as in the lists; a child in only one of them moved from or to nowhere."""
    before = {
        e.application_id: (e.npsn, e.path) if e.npsn and e.path else None
        for e in await session.scalars(
            select(PublicationEntry)
            .join(Publication, Publication.id == PublicationEntry.publication_id)
            .where(Publication.period_id == period_id, Publication.version == previous)
        )
    }
    gave_up = set(
        await session.scalars(
            select(Reregistration.application_id).where(
                Reregistration.period_id == period_id, Reregistration.decision != Decision.CONFIRMED
            )
        )
    )  # declined or let go at daftar ulang: their own answer, not a change of the results
    moved = {
        a
        for a in before.keys() | seats.keys()
        if before.get(a) != seats.get(a) and not (a in gave_up and seats.get(a) is None)
    }
    if not moved:
        return []
    people = (
        await session.execute(
            select(Application.id, Application.registration_number, Applicant.name)
            .join(Applicant, Applicant.id == Application.applicant_id)
            .where(Application.id.in_(moved))
        )
    ).all()

    def seat(at: tuple[str, str] | None) -> schemas.Seat | None:
        if at is None:
            return None
        key = ProgramKey.of(*at)
        return schemas.Seat(npsn=key.npsn, school=place(names, key.npsn, key.major), path=key.quota_path)

    return [
        schemas.Moved(
            registration_number=mask_number(number),
            name=mask_name(name),
            before=seat(before.get(application_id)),
            after=seat(seats.get(application_id)),
        )
        for application_id, number, name in sorted(people, key=lambda p: p[1])
    ]


async def versions(session: AsyncSession, period_id: int) -> list[schemas.PublicationOut]:
    """Every published version of the period, newest first: each one's digest covers its snapshot's bytes."""
    found = await session.scalars(
        select(Publication).where(Publication.period_id == period_id).order_by(Publication.version.desc())
    )
    return [publication_out(p) for p in found]


async def version(session: AsyncSession, period_id: int, number: int | None) -> Publication:
    """A published version of the period (the latest: `number` None)."""
    if number is None:
        return await latest(session, period_id)
    found = await session.scalar(
        select(Publication).where(Publication.period_id == period_id, Publication.version == number)
    )
    if found is None:
        raise NotFound("version_not_found", f"Pengumuman versi {number} tidak ada.", "version")
    return found


class Latest(NamedTuple):
    id: int
    version: int
    digest: str


_LATEST = "SELECT id, version, digest FROM publications WHERE period_id = $1 ORDER BY version DESC LIMIT 1"


async def latest_key(bind: AsyncEngine | AsyncConnection, period_id: int) -> Latest:
    """Which publication is the latest, all a public read needs to answer from its cache (`http_cache.respond`):
    one statement on the driver, as result day's lists are refreshed all day."""
    found = await driver_read(bind, lambda connection: connection.fetchrow(_LATEST, period_id))
    if found is None:
        raise not_published()
    return Latest(*found)


async def published(session: AsyncSession, publication_id: int) -> tuple[Publication, schemas.Snapshot]:
    """A publication and its snapshot, decoded."""
    publication = await session.get_one(Publication, publication_id)
    return publication, await snapshot_of(session, publication)


async def latest(session: AsyncSession, period_id: int) -> Publication:
    found = await session.scalar(
        select(Publication).where(Publication.period_id == period_id).order_by(Publication.version.desc()).limit(1)
    )
    if found is None:
        raise not_published()
    return found


def not_published() -> NotFound:
    return NotFound("not_published", "Hasil seleksi belum diumumkan.", "period_id")


def publication_out(p: Publication) -> schemas.PublicationOut:
    return to_struct(schemas.PublicationOut, p)


async def snapshot_bytes(session: AsyncSession, p: Publication) -> bytes:
    snapshot = await session.scalar(select(Publication.snapshot).where(Publication.id == p.id))
    assert snapshot is not None
    return snapshot


async def snapshot_of(session: AsyncSession, p: Publication) -> schemas.Snapshot:
    return msgspec.json.decode(await snapshot_bytes(session, p), type=schemas.Snapshot)


# Misses allowed in a window: a parent mistyping a birth date a few times, a school's shared address helping
# many parents; not a birth date guessed day by day for a known number (a thousand tries). The guesser's own
# address is stopped first (10 for a number from one address); someone holding another family's number (its
# proof or QR code) needs many addresses to close that number's lookup, and its family still sees the result
# signed in (their status page).
LOOKUP_WINDOW = timedelta(minutes=15)
MAX_SOURCE_MISSES = 10
MAX_NUMBER_MISSES = 30
MAX_ADDRESS_MISSES = 30


# On the driver connection: result day's busiest route pays for them on every lookup (the ORM costs more).
_TURN = "SELECT pg_advisory_xact_lock{}(hashtext('ppdb.lookup'), hashtext($1))"  # a number's turn, till COMMIT
_ONE_AT_A_TIME = _TURN.format("")
# A hit's turn: hits share it, and PostgreSQL queues it behind every miss already waiting for the number's lock.
_AFTER_MISSES = _TURN.format("_shared")
_MISSED = "INSERT INTO result_lookup_failures (registration_number, address) VALUES ($1, $2)"
# The misses counted against a number, an address and the number from it, since a time (`_refusal`).
_COUNTS = """
        SELECT count(*) FILTER (WHERE registration_number = {number}) AS by_number,
               count(*) FILTER (WHERE address = {address}) AS by_address,
               count(*) FILTER (WHERE registration_number = {number} AND address = {address}) AS by_source
        FROM result_lookup_failures WHERE at > {since} AND (registration_number = {number} OR address = {address})"""
_MISSES = _COUNTS.format(number="$1", address="$2", since="$3")
# Everything a lookup reads, in one statement: the latest publication, the misses counted, the entry, and the
# names of its seat (`place`: the school, at an SMK its program).
_LOOKUP = f"""
    SELECT p.version, p.digest, e.registration_number IS NOT NULL AS found, e.npsn, e.path, e.choice_rank,
           s.name AS school, g.name AS program, m.by_number, m.by_address, m.by_source
    FROM ({_LATEST}) AS p
    CROSS JOIN ({_COUNTS.format(number="$2", address="$4", since="$5")}) AS m
    LEFT JOIN publication_entries AS e
        ON e.publication_id = p.id AND e.registration_number = $2 AND e.birth_date = $3
    LEFT JOIN schools AS s ON s.npsn = e.npsn
    LEFT JOIN programs AS g
        ON g.school_id = s.id AND g.period_id = $1 AND g.code = NULLIF(split_part(e.path, '@', 2), '')"""


def _refusal(found: asyncpg.Record) -> AppError | None:
    """429 past the misses allowed in `LOOKUP_WINDOW` (from the address, for the number from it, for the number)."""
    if found["by_source"] >= MAX_SOURCE_MISSES or found["by_address"] >= MAX_ADDRESS_MISSES:
        return AppError(
            "lookup_throttled",
            "Terlalu banyak percobaan yang tidak cocok. Coba lagi 15 menit lagi.",
            "birth_date",
            status_code=429,
        )
    if found["by_number"] >= MAX_NUMBER_MISSES:
        return AppError(
            "lookup_throttled",
            "Terlalu banyak percobaan yang tidak cocok untuk nomor ini. Orang tua pendaftar dapat melihat "
            "hasilnya dengan masuk ke akunnya (atau dengan PIN), atau coba lagi 15 menit lagi.",
            "registration_number",
            status_code=429,
        )
    return None


async def lookup(
    sessionmaker: async_sessionmaker[AsyncSession],
    period_id: int,
    registration_number: str,
    birth_date: date,
    *,
    address: str,
) -> schemas.LookupOut:
    """A child's published result by number and birth date.

    Too many misses for a number or from an address in `LOOKUP_WINDOW` are refused (429) before anything is
    answered. A miss takes its number's turn (a lock), is counted again under it and committed before it is
    answered: guesses sent all at once are counted like guesses sent in a row. A hit within the limits writes
    nothing: it takes the number's lock shared (hits do not wait for each other), behind every miss already
    waiting, and is counted against them, so a burst of guesses with the right date among them tests no more
    dates than guesses in a row would. This reads the primary, where the misses are, on one connection, not
    the read replica (a second connection, held while queuing for the lock, could starve a pool). Result day's
    busiest route: its statements go straight to the driver (docs/benchmarks.md)."""
    since = datetime.now(UTC) - LOOKUP_WINDOW
    looked_up = (period_id, registration_number, birth_date, address, since)
    async with driver_connection(bind_of(sessionmaker)) as primary:
        found = missed = await primary.fetchrow(_LOOKUP, *looked_up)
        if found is None:
            raise not_published()
        if found["found"] and _refusal(found) is None:
            async with primary.transaction():
                await primary.execute(_AFTER_MISSES, registration_number)
                missed = await primary.fetchrow(_MISSES, registration_number, address, since)
        assert missed is not None  # counts: always one row
        if not found["found"] or _refusal(missed) is not None:
            async with primary.transaction():
                await primary.execute(_ONE_AT_A_TIME, registration_number)
                found = await primary.fetchrow(_LOOKUP, *looked_up)
                assert found is not None  # a publication is never deleted
                if (refused := _refusal(found)) is not None:
                    raise refused
                if not found["found"]:
                    await primary.execute(_MISSED, registration_number, address)
    if not found["found"]:  # the same answer for a wrong number and a wrong birth date
        raise NotFound("result_not_found", "Nomor pendaftaran atau tanggal lahir tidak cocok.", "registration_number")
    placed = found["npsn"] is not None
    seat = ProgramKey.of(found["npsn"] or "", found["path"] or "")
    names: Places = {}  # as `place_names` gives them: the school, and its program when there is one
    if found["school"] is not None:
        names[seat.npsn, None] = found["school"]
    if found["program"] is not None:
        names[seat.npsn, seat.major] = found["program"]
    school = place(names, seat.npsn, seat.major)
    message = (
        f"Selamat, Anda diterima di {school} jalur {path_title(seat.quota_path)} (pilihan ke-{found['choice_rank']})."
        if placed
        else "Mohon maaf, Anda belum diterima pada seleksi ini."
    )
    return schemas.LookupOut(
        registration_number=registration_number,
        placed=placed,
        npsn=found["npsn"],
        school_name=school if placed else None,
        path=seat.quota_path if placed else None,
        program=seat.major if placed else None,
        choice_rank=found["choice_rank"],
        version=found["version"],
        digest=found["digest"],
        message=message,
    )


async def period_of(session: AsyncSession, period_id: int) -> Period:
    return await get_period(session, period_id)


FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
"""What a spreadsheet may read as the start of a formula (with the full-width forms some apps accept)."""


def spreadsheet_text(value: str) -> str:
    """A value typed by someone else (a child's or a school's name) as plain text in a spreadsheet: one that
    would start a formula gets a leading apostrophe (OWASP's advice), which spreadsheets show as text."""
    return "'" + value if value.startswith(FORMULA_START) else value


async def export_csv(session: AsyncSession, period_id: int, user: Principal, npsn: str | None = None) -> str:
    """The latest publication as CSV, with full names and NIK: for the agency (whole region, audited) or one
    school's operator (their placed applicants)."""
    import csv
    import io

    period = await get_period(session, period_id)
    publication = await latest(session, period.id)
    stmt = (
        select(PublicationEntry, Applicant.name, Applicant.nik, Applicant.nisn, School.name)
        .join(Application, Application.id == PublicationEntry.application_id)
        .join(Applicant, Applicant.id == Application.applicant_id)
        .outerjoin(School, School.npsn == PublicationEntry.npsn)
        .where(PublicationEntry.publication_id == publication.id)
        .order_by(PublicationEntry.npsn, PublicationEntry.path, PublicationEntry.registration_number)
    )
    if npsn is not None:
        stmt = stmt.where(PublicationEntry.npsn == npsn)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["registration_number", "name", "nik", "nisn", "npsn", "school", "path", "choice_rank", "program"])
    count = 0
    for entry, name, nik, nisn, school in (await session.execute(stmt)).all():
        seat = ProgramKey.of(entry.npsn or "", entry.path or "")
        writer.writerow(
            [
                entry.registration_number,
                spreadsheet_text(name),
                nik,
                nisn or "",
                entry.npsn or "",
                spreadsheet_text(school or ""),
                seat.quota_path,
                entry.choice_rank or "",
                seat.major or "",
            ]
        )
        count += 1
    new = {"rows": count, "school": npsn, "version": publication.version}
    record_publication(session, publication, "results.export", actor=user.actor, new=new)
    return out.getvalue()
