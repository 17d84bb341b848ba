"""School and zone CSV imports (all rows or none) and the school list with seats per path."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Collection
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ppdb.applicants.models import Application, Choice
from ppdb.audit.service import record_period
from ppdb.authz import Principal
from ppdb.db.base import among, to_struct
from ppdb.errors import AppError, Conflict
from ppdb.geo import in_indonesia
from ppdb.identity import KELURAHAN
from ppdb.regions.models import Level, Period, PeriodStatus
from ppdb.regions.rules import seats_per_path
from ppdb.regions.service import get_period, rules_of
from ppdb.schools import schemas
from ppdb.schools.models import PeriodSchool, Program, School, ZoneEntry

SCHOOL_COLUMNS = ("npsn", "name", "level", "latitude", "longitude", "capacity")
ZONE_COLUMNS = ("npsn", "kelurahan_code", "radius_m", "priority", "rw", "rt")
PROGRAM_COLUMNS = ("npsn", "code", "name", "capacity")
PROGRAM_CODE = re.compile(r"^[A-Z0-9-]{1,10}$")


class RowErrors:
    """Collects every problem in a CSV file so the user can fix them all in one go."""

    LIMIT = 200
    """Errors kept for the answer; beyond them only counted (a wrong file has one in every cell)."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.count = 0

    def add(self, row: int, field: str, code: str, message: str) -> None:
        self.count += 1
        if len(self.items) < self.LIMIT:
            self.items.append({"row": row, "field": field, "code": code, "message": message})

    def parse(self, row: int, record_: dict[str, str], field: str, convert: Callable[[str], Any], label: str) -> Any:
        raw = (record_.get(field) or "").strip()
        try:
            return convert(raw)
        except (TypeError, ValueError):
            self.add(row, field, f"{field}_invalid", f"Baris {row}: {label} '{raw}' tidak valid.")
            return None

    def raise_if_any(self, rows: int) -> None:
        if self.items:
            raise AppError(
                "csv_invalid",
                f"{self.count} kesalahan pada {rows} baris (paling banyak {self.LIMIT} ditampilkan); tidak ada data "
                "yang diimpor. Perbaiki lalu unggah ulang.",
                "file",
                details=self.items,
            )


def decode_csv(content: bytes) -> str:
    """An uploaded CSV file as text: UTF-8 (with or without a byte-order mark) or refused, never guessed."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise AppError("csv_encoding_invalid", "Berkas CSV harus berenkode UTF-8.", "file") from None


def read_csv(text: str, columns: tuple[str, ...], required: tuple[str, ...]) -> list[dict[str, str]]:
    if "\x00" in text:
        raise AppError("csv_invalid", "Berkas CSV berisi karakter NUL; simpan ulang sebagai teks UTF-8.", "file")
    try:
        reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
        header = [h.strip() for h in reader.fieldnames or []]
        twice = sorted({h for h in header if header.count(h) > 1})
        if twice:
            raise AppError("csv_header_invalid", f"Kolom muncul lebih dari sekali: {', '.join(twice)}.", "file")
        missing = [c for c in required if c not in header]
        if missing:
            raise AppError(
                "csv_header_invalid",
                f"Kolom wajib tidak ada: {', '.join(missing)}. Kolom: {', '.join(columns)}.",
                "file",
            )
        reader.fieldnames = header
        rows = list(reader)
    except csv.Error as err:
        raise AppError("csv_invalid", f"Berkas CSV tidak dapat dibaca: {err}.", "file") from None
    if not rows:
        raise AppError("csv_empty", "Berkas CSV tidak berisi data.", "file")
    return rows


def _npsn(value: str) -> str:
    if len(value) != 8 or not value.isdigit():
        raise ValueError
    return value


def _bounded(convert, low: float, high: float):
    """A converter that also refuses values outside [low, high] (and NaN or infinity)."""

    def parse(value: str):
        number = convert(value)
        if not low <= number <= high:  # False for NaN as well
            raise ValueError
        return number

    return parse


CAPACITY = _bounded(int, 0, 5000)
LATITUDE, LONGITUDE = _bounded(float, -90, 90), _bounded(float, -180, 180)


async def import_schools(session: AsyncSession, period_id: int, text: str, user: Principal) -> schemas.ImportResult:
    period = await _editable_period(session, period_id, user)
    rows = read_csv(text, (*SCHOOL_COLUMNS, "kelurahan_code", "status"), SCHOOL_COLUMNS)
    errors, parsed, seen = RowErrors(), [], set()
    for n, row in enumerate(rows, start=2):  # row 1 is the header
        npsn = errors.parse(n, row, "npsn", _npsn, "NPSN")
        name = (row.get("name") or "").strip()
        if not name or len(name) > 200:
            errors.add(n, "name", "name_invalid", f"Baris {n}: nama sekolah kosong.")
        level = errors.parse(n, row, "level", lambda v: Level(v.lower()), "jenjang")
        lat = errors.parse(n, row, "latitude", LATITUDE, "lintang")
        lon = errors.parse(n, row, "longitude", LONGITUDE, "bujur")
        capacity = errors.parse(n, row, "capacity", CAPACITY, "daya tampung")
        kelurahan = (row.get("kelurahan_code") or "").strip() or None
        ownership = (row.get("status") or "negeri").strip().lower()
        if ownership not in ("negeri", "swasta"):
            errors.add(n, "status", "status_invalid", f"Baris {n}: status sekolah harus negeri atau swasta.")
        if kelurahan and not KELURAHAN.fullmatch(kelurahan):
            errors.add(
                n, "kelurahan_code", "kelurahan_code_invalid", f"Baris {n}: kode kelurahan '{kelurahan}' tidak valid."
            )
        if level is not None and level is not period.level:
            errors.add(
                n,
                "level",
                "school_level_mismatch",
                f"Baris {n}: jenjang {level.value.upper()} berbeda dengan periode ({period.level.value.upper()}).",
            )
        if lat is not None and lon is not None and not in_indonesia(lat, lon):
            errors.add(n, "latitude", "coordinate_outside_indonesia", f"Baris {n}: koordinat di luar Indonesia.")
        if npsn is not None and npsn in seen:
            errors.add(n, "npsn", "npsn_duplicate", f"Baris {n}: NPSN {npsn} muncul lebih dari sekali.")
        seen.add(npsn)
        parsed.append(
            dict(
                npsn=npsn,
                name=name,
                level=level,
                latitude=lat,
                longitude=lon,
                kelurahan_code=kelurahan,
                ownership=ownership,
                capacity=capacity,
            )
        )
    # One array parameter each, not one per row: a file of tens of thousands of rows is answered, not a 500.
    npsns = [p["npsn"] for p in parsed]
    existing = {s.npsn: s for s in await session.scalars(select(School).where(among(School.npsn, npsns)))}
    in_use = dict(
        (
            await session.execute(
                select(PeriodSchool.school_id, Period.name)
                .join(Period, Period.id == PeriodSchool.period_id)
                .where(
                    among(PeriodSchool.school_id, [s.id for s in existing.values()]),
                    Period.id != period.id,
                    Period.status != PeriodStatus.DRAFT,
                )
            )
        ).all()
    )
    for n, item in enumerate(parsed, start=2):
        school = existing.get(item["npsn"])
        if school is not None and school.region_id != period.region_id:
            errors.add(n, "npsn", "npsn_other_region", f"Baris {n}: NPSN {item['npsn']} terdaftar di wilayah lain.")
        elif school is not None and school.id in in_use:
            changed = [k for k, v in item.items() if k != "capacity" and getattr(school, k) != v]
            if changed:  # a running period's families chose it, and their distances were measured, as it is
                errors.add(
                    n,
                    changed[0],
                    "school_in_use",
                    f"Baris {n}: sekolah {item['npsn']} dipakai {in_use[school.id]} yang sudah berjalan; "
                    f"{', '.join(changed)} tidak dapat diubah lewat impor.",
                )
    errors.raise_if_any(len(rows))

    for item in parsed:
        capacity = item.pop("capacity")
        school = existing.get(item["npsn"])
        if school is None:
            school = School(region_id=period.region_id, **item)
            session.add(school)
        else:
            for key, value in item.items():
                setattr(school, key, value)
        await session.flush()
        await session.execute(
            insert(PeriodSchool)
            .values(period_id=period.id, school_id=school.id, capacity=capacity)
            .on_conflict_do_update(
                index_elements=["period_id", "school_id"],
                set_={"capacity": func.coalesce(_programs_seats(period.id, school.id), capacity)},
            )
        )
    created = len(parsed) - len(existing)
    record_period(
        session,
        period.id,
        "schools.import",
        actor=user.actor,
        new={"rows": len(parsed), "created": created, "updated": len(existing)},
    )
    return schemas.ImportResult(rows=len(parsed), created=created, updated=len(existing))


async def import_zones(session: AsyncSession, period_id: int, text: str, user: Principal) -> schemas.ImportResult:
    """Replace the zones of every school named in the file."""
    period = await _editable_period(session, period_id, user)
    rows = read_csv(text, ZONE_COLUMNS, ("npsn",))
    schools = await _period_schools(session, period.id)
    errors, entries, seen = RowErrors(), [], set()
    for n, row in enumerate(rows, start=2):
        npsn = (row.get("npsn") or "").strip()
        if npsn not in schools:
            errors.add(n, "npsn", "school_not_in_period", f"Baris {n}: sekolah {npsn} belum diimpor ke periode ini.")
        kelurahan = (row.get("kelurahan_code") or "").strip() or None
        radius = errors.parse(n, row, "radius_m", lambda v: _bounded(float, 0, 100_000)(v) if v else None, "radius")
        priority = errors.parse(n, row, "priority", lambda v: _bounded(int, 1, 99)(v) if v else 1, "prioritas")
        if (kelurahan is None) == (not (row.get("radius_m") or "").strip()):
            errors.add(
                n, "kelurahan_code", "zone_area_invalid", f"Baris {n}: isi tepat satu dari kode kelurahan atau radius."
            )
        if kelurahan and not KELURAHAN.fullmatch(kelurahan):
            errors.add(
                n, "kelurahan_code", "kelurahan_code_invalid", f"Baris {n}: kode kelurahan '{kelurahan}' tidak valid."
            )
        if radius == 0:
            errors.add(n, "radius_m", "radius_m_invalid", f"Baris {n}: radius harus lebih dari 0 meter.")
        rw = errors.parse(n, row, "rw", lambda v: _bounded(int, 1, 999)(v) if v else None, "RW")
        rt = errors.parse(n, row, "rt", lambda v: _bounded(int, 1, 999)(v) if v else None, "RT")
        if (rt is not None and rw is None) or (rw is not None and kelurahan is None):
            errors.add(
                n, "rw", "zone_rt_rw_invalid", f"Baris {n}: RW hanya bersama kode kelurahan, RT hanya bersama RW."
            )
        key = (npsn, kelurahan, rw, rt, radius)
        if key in seen:
            errors.add(n, "kelurahan_code", "zone_duplicate", f"Baris {n}: wilayah zona ganda untuk sekolah {npsn}.")
        seen.add(key)
        entries.append(dict(npsn=npsn, kelurahan_code=kelurahan, rw=rw, rt=rt, radius_m=radius, priority=priority))
    errors.raise_if_any(len(rows))

    school_ids = {schools[e["npsn"]] for e in entries}
    await session.execute(
        delete(ZoneEntry).where(ZoneEntry.period_id == period.id, ZoneEntry.school_id.in_(school_ids))
    )
    session.add_all(ZoneEntry(period_id=period.id, school_id=schools[e.pop("npsn")], **e) for e in entries)
    record_period(
        session,
        period.id,
        "zones.import",
        actor=user.actor,
        new={"rows": len(entries), "schools": len(school_ids)},
    )
    return schemas.ImportResult(rows=len(entries), updated=len(school_ids))


def _programs_seats(period_id: int, school_id: int):
    """An SMK's seats where it has programs: theirs, added up (its own capacity follows them)."""
    return (
        select(func.sum(Program.capacity))
        .where(Program.period_id == period_id, Program.school_id == school_id)
        .scalar_subquery()
    )


async def import_programs(session: AsyncSession, period_id: int, text: str, user: Principal) -> schemas.ImportResult:
    """The programs (kompetensi keahlian) of every SMK named in the file, as the file lists them (one the file
    leaves out is removed, unless a registration carried into this stage chose it); each school's capacity
    becomes the sum of its programs'. Requirements are names from the rules' `programs.requirements`, separated
    by `;`."""
    period = await _editable_period(session, period_id, user)
    rules = rules_of(period)
    rows = read_csv(text, (*PROGRAM_COLUMNS, "requirements", "partner"), PROGRAM_COLUMNS)
    schools = await _period_schools(session, period.id)
    errors, programs, seen = RowErrors(), [], set()
    for n, row in enumerate(rows, start=2):
        npsn = (row.get("npsn") or "").strip()
        if npsn not in schools:
            errors.add(n, "npsn", "school_not_in_period", f"Baris {n}: sekolah {npsn} belum diimpor ke periode ini.")
        code = (row.get("code") or "").strip().upper()
        if not PROGRAM_CODE.fullmatch(code):
            errors.add(
                n, "code", "code_invalid", f"Baris {n}: kode program '{code}': huruf, angka atau '-', paling banyak 10."
            )
        if (npsn, code) in seen:
            errors.add(n, "code", "program_duplicate", f"Baris {n}: program {code} di sekolah {npsn} muncul dua kali.")
        seen.add((npsn, code))
        name = (row.get("name") or "").strip()
        if not name or len(name) > 200:
            errors.add(n, "name", "name_invalid", f"Baris {n}: nama program kosong atau terlalu panjang.")
        capacity = errors.parse(n, row, "capacity", CAPACITY, "daya tampung")
        requirements = [r.strip() for r in (row.get("requirements") or "").split(";") if r.strip()]
        for r in requirements:
            if rules.programs.requirement(r) is None:
                errors.add(
                    n,
                    "requirements",
                    "program_requirement_unknown",
                    f"Baris {n}: syarat '{r}' tidak ada di aturan periode (programs.requirements).",
                )
        partner = (row.get("partner") or "").strip() or None
        if partner is not None and len(partner) > 200:
            errors.add(n, "partner", "partner_invalid", f"Baris {n}: nama mitra industri terlalu panjang.")
        programs.append(
            dict(code=code, name=name, capacity=capacity, requirements=requirements, partner=partner, npsn=npsn)
        )
    if period.level is not Level.SMK:
        errors.add(2, "npsn", "programs_not_smk", "Program keahlian hanya untuk periode jenjang SMK.")
    school_ids = {schools[p["npsn"]] for p in programs if p["npsn"] in schools}
    existing = {
        (p.school_id, p.code): p
        for p in await session.scalars(
            select(Program).where(Program.period_id == period.id, Program.school_id.in_(school_ids))
        )
    }
    # Registrations carried into a later stage's draft already chose: what they chose stays.
    chosen = set(
        (
            await session.execute(
                select(Choice.school_id, Choice.program_id)
                .join(Application, Application.id == Choice.application_id)
                .where(Application.period_id == period.id, Choice.school_id.in_(school_ids))
            )
        ).all()
    )
    listed = {(schools.get(p["npsn"]), p["code"]) for p in programs}
    for (school_id, code), program in existing.items():
        if (school_id, code) not in listed and (school_id, program.id) in chosen:
            errors.add(2, "code", "program_chosen", f"Program {code} sudah dipilih pendaftar; tidak dapat dihapus.")
    for n, p in enumerate(programs, start=2):
        at = schools.get(p["npsn"])
        if (at, None) in chosen and (at, p["code"]) not in existing:
            errors.add(
                n, "npsn", "school_chosen", f"Baris {n}: sekolah {p['npsn']} sudah dipilih tanpa program keahlian."
            )
    errors.raise_if_any(len(rows))

    for p in programs:
        at = schools[p.pop("npsn")]
        kept = existing.pop((at, p["code"])) if (at, p["code"]) in existing else None
        if kept is None:
            session.add(Program(period_id=period.id, school_id=at, **p))
        else:  # updated in place: choices refer to it
            for key, value in p.items():
                setattr(kept, key, value)
    for program in existing.values():  # not in the file: not chosen (checked above)
        await session.delete(program)
    await session.flush()
    for school_id in school_ids:
        await session.execute(
            update(PeriodSchool)
            .where(PeriodSchool.period_id == period.id, PeriodSchool.school_id == school_id)
            .values(capacity=_programs_seats(period.id, school_id))
        )
    record_period(
        session, period.id, "programs.import", actor=user.actor, new={"rows": len(programs), "schools": len(school_ids)}
    )
    return schemas.ImportResult(rows=len(programs), updated=len(school_ids))


async def _period_schools(session: AsyncSession, period_id: int) -> dict[str, int]:
    """The period's schools: NPSN -> school id."""
    rows = await session.execute(
        select(School.npsn, School.id)
        .join(PeriodSchool, PeriodSchool.school_id == School.id)
        .where(PeriodSchool.period_id == period_id)
    )
    return {key: value for key, value in rows.all()}


async def _editable_period(session: AsyncSession, period_id: int, user: Principal) -> Period:
    period = await get_period(session, period_id, for_update=True, user=user)
    if period.status is not PeriodStatus.DRAFT:
        # Distances and zone flags are frozen into registrations: schools and zones stay as they were.
        raise Conflict(
            "period_not_editable", "Sekolah dan zona hanya dapat diubah sebelum pendaftaran dibuka.", "status"
        )
    return period


Places = dict[tuple[str, str | None], str]
"""(NPSN, None) -> the school's name; (NPSN, SMK program) -> the program's (`place_names`)."""


# Built once: every status page explained anew (each run re-solved) names its schools.
_PLACE_NAMES = (
    select(School.npsn, School.name, Program.code, Program.name)
    .outerjoin(Program, (Program.school_id == School.id) & (Program.period_id == bindparam("period")))
    .where(among(School.npsn, key="npsns"))
)


async def place_names(session: AsyncSession, period_id: int, npsns: Collection[str]) -> Places:
    """The names of the schools and of their SMK programs in the period (`place` puts them together)."""
    names: Places = {}
    for npsn, school, code, program in await session.execute(_PLACE_NAMES, {"period": period_id, "npsns": list(npsns)}):
        names[npsn, None] = school
        if code is not None:
            names[npsn, code] = program
    return names


def place(names: Places, npsn: str, major: str | None = None) -> str:
    """Where a seat is, as pages name it: the school, or at an SMK "school – program"."""
    school = names.get((npsn, None), npsn)
    return f"{school} – {names.get((npsn, major), major)}" if major else school


def name_order(name: str) -> tuple:
    """Schools as people count them: SMP Negeri 2 before SMP Negeri 10 (not 1, 10, 11, 2)."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part.casefold()) for part in _DIGITS.split(name))


_DIGITS = re.compile(r"(\d+)")


async def list_schools(session: AsyncSession, period_id: int) -> list[schemas.SchoolOut]:
    """The period's schools in name order (`name_order`)."""
    period = await get_period(session, period_id)
    rules = rules_of(period)
    rows = sorted(
        (
            await session.execute(
                select(School, PeriodSchool.capacity)
                .join(PeriodSchool, PeriodSchool.school_id == School.id)
                .where(PeriodSchool.period_id == period_id)
            )
        ).all(),
        key=lambda row: (name_order(row[0].name), row[0].npsn),
    )
    programs: dict[int, list[schemas.ProgramOut]] = {}
    found = (  # only an SMK period has programs: the public school list reads nothing more otherwise
        await session.execute(
            select(Program.school_id, School.npsn, Program)
            .join(School, School.id == Program.school_id)
            .where(Program.period_id == period_id)
            .order_by(Program.code)
        )
        if period.level is Level.SMK
        else ()
    )
    for school_id, npsn, p in found:
        programs.setdefault(school_id, []).append(
            schemas.ProgramOut(
                code=p.code,
                name=p.name,
                capacity=p.capacity,
                seats=seats_per_path(rules, p.capacity, npsn),
                requirements=[rules.programs.title(r) for r in p.requirements],
                partner=p.partner,
            )
        )
    return [
        to_struct(
            schemas.SchoolOut,
            s,
            capacity=capacity,
            seats=_added(programs[s.id]) if s.id in programs else seats_per_path(rules, capacity, s.npsn),
            programs=programs.get(s.id, []),
        )
        for s, capacity in rows
    ]


def _added(programs: list[schemas.ProgramOut]) -> dict[str, int]:
    """An SMK's seats per path: its programs', each split on its own, added up."""
    seats: dict[str, int] = {}
    for p in programs:
        for path, n in p.seats.items():
            seats[path] = seats.get(path, 0) + n
    return seats
