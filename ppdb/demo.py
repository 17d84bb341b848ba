"""A deterministic demo region for demos, tests and benchmarks: Kota Tangerang's real kecamatan and kelurahan,
with synthetic schools and families."""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import groupby
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ppdb.applicants import schemas as applicant_schemas
from ppdb.geo import haversine_m
from ppdb.identity import nik_for
from ppdb.regions import schemas as region_schemas
from ppdb.regions import wilayah
from ppdb.regions.models import Level, Region
from ppdb.regions.rules import DocumentKind

REGION_CODE, REGION_NAME = "36.71", "Kota Tangerang"
# The city's rough extent (lat, lon); kecamatan centres are spread over it.
SOUTH, NORTH, WEST, EAST = -6.245, -6.125, 106.575, 106.725
FIRST = [
    "Ahmad",
    "Budi",
    "Citra",
    "Dewi",
    "Eka",
    "Fajar",
    "Gita",
    "Hadi",
    "Indah",
    "Joko",
    "Kartika",
    "Lestari",
    "Muhammad",
    "Nur",
    "Putri",
    "Rizky",
    "Sari",
    "Teguh",
    "Utami",
    "Wahyu",
    "Yusuf",
    "Zahra",
    "Aisyah",
    "Bagus",
]
LAST = [
    "Saputra",
    "Hidayat",
    "Pratama",
    "Wijaya",
    "Santoso",
    "Lestari",
    "Nugroho",
    "Rahmawati",
    "Kusuma",
    "Permana",
    "Siregar",
    "Nasution",
    "Ramadhan",
    "Maulana",
    "Setiawan",
    "Anggraini",
]
STREETS = [
    "Merdeka",
    "Sudirman",
    "Imam Bonjol",
    "Daan Mogot",
    "KH Hasyim Ashari",
    "Gatot Subroto",
    "Perintis",
    "Cendrawasih",
    "Melati",
    "Kenanga",
    "Beringin",
    "Raya Cipondoh",
]
ZONE_RADIUS_M, NEAR_M, FAR_M = 1000.0, 1500.0, 3000.0
# Demo accounts; demo mode only (a real deployment bootstraps with `ppdb users create-admin`).
DEMO_ADMIN = ("admin@demo.ppdb.id", "demo-admin-tangerang")
DEMO_OPERATOR = ("operator1@demo.ppdb.id", "demo-operator-smpn1")
DEMO_ORIGIN_OPERATOR = ("sd1@demo.ppdb.id", "demo-sekolah-asal-sd1")
"""The operator of SD Negeri 1 (NPSN 20690000), an origin school of the demo's applicants: enters their rapor."""
ORIGIN_SCHOOLS = 30  # SDs 20690000 … 20690029

SEXES: tuple[Literal["L", "P"], ...] = ("L", "P")
# What the demo's applicants upload besides KK and birth certificate, by path.
PROOF: dict[str, list[DocumentKind]] = {
    "afirmasi": ["afirmasi_proof"],
    "mutasi": ["mutasi_letter"],
    "prestasi": ["rapor"],
}


@dataclass(frozen=True, slots=True)
class Kel:
    code: str
    name: str
    kecamatan: str
    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class DemoSchool:
    npsn: str
    name: str
    latitude: float
    longitude: float
    kelurahan_code: str
    capacity: int


@dataclass(frozen=True, slots=True)
class DemoRegion:
    school_year: str
    opens_at: datetime
    closes_at: datetime
    kelurahan: list[Kel]
    schools: list[DemoSchool]
    zones: list[tuple[str, str | None, float | None, int]]
    applicants: list[applicant_schemas.ApplicationCreate]
    seed: int

    def schools_csv(self) -> str:
        rows = ["npsn,name,level,latitude,longitude,capacity,kelurahan_code"]
        rows += [
            f"{s.npsn},{s.name},smp,{s.latitude:.6f},{s.longitude:.6f},{s.capacity},{s.kelurahan_code}"
            for s in self.schools
        ]
        return "\n".join(rows) + "\n"

    def zones_csv(self) -> str:
        rows = ["npsn,kelurahan_code,radius_m,priority"]
        rows += [f"{n},{k or ''},{'' if r is None else r},{p}" for n, k, r, p in self.zones]
        return "\n".join(rows) + "\n"


def _offset(rng: random.Random, lat: float, lon: float, metres: float) -> tuple[float, float]:
    """A point uniformly inside a disc of `metres` around (lat, lon)."""
    r, angle = metres * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
    dlat = r * math.cos(angle) / 111_320
    dlon = r * math.sin(angle) / (111_320 * math.cos(math.radians(lat)))
    return round(lat + dlat, 6), round(lon + dlon, 6)


def generate(*, applicants: int = 5000, schools: int = 40, seed: int = 2026, now: datetime | None = None) -> DemoRegion:
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    year = now.year if now.month < 7 else now.year + 1
    reference = date(year, 7, 1)
    opens_at = (now - timedelta(days=1)).replace(microsecond=0)
    closes_at = opens_at + timedelta(days=30)

    # The city's real 13 kecamatan and 104 kelurahan (codes and names from `regions.wilayah`); the dataset has
    # no coordinates, so each kecamatan gets a made-up centre on a grid over the city and its kelurahan around it.
    kelurahan: list[Kel] = []
    by_kecamatan = groupby(wilayah.villages_of(REGION_CODE), key=lambda v: v.code[:8])
    for k, (_, villages) in enumerate(by_kecamatan):
        row, col = divmod(k, 4)
        lat = SOUTH + (NORTH - SOUTH) * (row + 0.5) / 4 + rng.uniform(-0.008, 0.008)
        lon = WEST + (EAST - WEST) * (col + 0.5) / 4 + rng.uniform(-0.008, 0.008)
        for v in villages:
            kelurahan.append(Kel(v.code, v.name, v.kecamatan, *_offset(rng, lat, lon, 2200)))

    school_list = []
    for i in range(schools):
        kel = kelurahan[(i * 8 + i // 13) % len(kelurahan)]
        lat, lon = _offset(rng, kel.latitude, kel.longitude, 300)
        school_list.append(
            DemoSchool(
                f"2067{i + 1:04d}", f"SMP Negeri {i + 1} Kota Tangerang", lat, lon, kel.code, rng.randint(7, 11) * 32
            )
        )

    zones: list[tuple[str, str | None, float | None, int]] = []
    zoned: set[str] = set()
    for s in school_list:
        zones.append((s.npsn, None, ZONE_RADIUS_M, 1))
        for kel in kelurahan:
            d = haversine_m(s.latitude, s.longitude, kel.latitude, kel.longitude)
            if d <= FAR_M:
                zones.append((s.npsn, kel.code, None, 1 if d <= NEAR_M else 2))
                zoned.add(kel.code)
    for kel in kelurahan:  # every kelurahan lies in some zone (Permendikbud 1/2021)
        if kel.code not in zoned:
            nearest = min(school_list, key=lambda s: haversine_m(s.latitude, s.longitude, kel.latitude, kel.longitude))
            zones.append((nearest.npsn, kel.code, None, 2))

    zone_of: dict[str, set[str]] = {}
    for npsn, code, _, _ in zones:
        if code:
            zone_of.setdefault(code, set()).add(npsn)

    people = []
    serials: dict[tuple[str, date, str], int] = {}
    for i in range(applicants):
        kel = rng.choice(kelurahan)
        lat, lon = _offset(rng, kel.latitude, kel.longitude, 900)
        sex = rng.choice(SEXES)
        birth = reference - timedelta(days=int(rng.triangular(11.6, 14.5, 12.4) * 365.25))
        kec_digits = kel.code[6:8]
        serial = serials[kec_digits, birth, sex] = serials.get((kec_digits, birth, sex), 0) + 1
        path = rng.choices(["domisili", "afirmasi", "mutasi", "prestasi"], [65, 20, 3, 12])[0]
        by_distance = sorted(school_list, key=lambda s: haversine_m(lat, lon, s.latitude, s.longitude))
        if path == "domisili":
            pool = [
                s
                for s in by_distance
                if s.npsn in zone_of.get(kel.code, ())
                or haversine_m(lat, lon, s.latitude, s.longitude) <= ZONE_RADIUS_M
            ]
        else:
            pool = by_distance[:5]
        picks = pool[:3]
        if rng.random() < 0.3:  # not every parent lists schools nearest first
            rng.shuffle(picks)
        recent_kk = rng.random() < 0.03
        kk_issued = opens_at.date() - timedelta(days=rng.randint(30, 300) if recent_kk else rng.randint(400, 4500))
        documents: list[DocumentKind] = ["kk", "akta_kelahiran", *PROOF.get(path, [])]
        if recent_kk:
            documents.append("kk_exception")
        people.append(
            applicant_schemas.ApplicationCreate(
                nik=nik_for(f"3671{kec_digits}", birth, sex, serial),
                nisn=f"{rng.randint(0, 99):02d}{i:08d}",
                name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                sex=sex,
                birth_date=birth,
                kk_number=f"3671{kec_digits}{rng.randint(0, 10**10 - 1):010d}",
                kk_issued_on=kk_issued,
                kk_exception="member_change" if recent_kk else None,
                address=f"Jl. {rng.choice(STREETS)} No. {rng.randint(1, 200)}, RT {rng.randint(1, 12):03d}/RW "
                f"{rng.randint(1, 9):03d}, {kel.name}, Kec. {kel.kecamatan}",
                kelurahan_code=kel.code,
                latitude=lat,
                longitude=lon,
                path=path,
                choices=[s.npsn for s in picks],
                documents=documents,
            )
        )
    return DemoRegion(f"{year}/{year + 1}", opens_at, closes_at, kelurahan, school_list, zones, people, seed)


SUBJECTS = ("pendidikan_pancasila", "bahasa_indonesia", "matematika", "ipa", "ips")
SEMESTERS = (1, 2, 3, 4, 5)


def graduates_csv(region: DemoRegion) -> str:
    """Every applicant on the graduate list of one of the origin SDs, with a rapor of five subjects over five
    semesters (from its own random stream, so the applicants stay those of `generate`)."""
    rng = random.Random(region.seed + 1)
    columns = [f"{s}_{n}" for s in SUBJECTS for n in SEMESTERS]
    rows = [",".join(("nisn", "nik", "nama", "tanggal_lahir", "npsn_sekolah_asal", *columns))]
    for a in region.applicants:
        level = rng.gauss(82, 6)
        grades = (f"{min(100.0, max(50.0, rng.gauss(level, 4))):.2f}" for _ in columns)
        origin = f"2069{rng.randrange(ORIGIN_SCHOOLS):04d}"
        rows.append(",".join((a.nisn or "", a.nik, a.name, a.birth_date.isoformat(), origin, *grades)))
    return "\n".join(rows) + "\n"


async def populate(session: AsyncSession, region: DemoRegion) -> int:
    """Create the region, its period, schools and zones, open registration, and register every applicant.

    Everything goes through the same services as the API, so the demo obeys every rule. Returns the period id.
    """
    from ppdb import flows
    from ppdb.accounts import schemas as account_schemas
    from ppdb.accounts import service as accounts
    from ppdb.applicants.service import load_context, store_many, validate
    from ppdb.regions import service as regions
    from ppdb.regions.models import Kelurahan
    from ppdb.schools import service as schools
    from ppdb.schools.models import School
    from ppdb.scores import service as scores

    user = await accounts.bootstrap_admin(
        session, region_code=REGION_CODE, region_name=REGION_NAME, email=DEMO_ADMIN[0], password=DEMO_ADMIN[1]
    )
    assert user.region_id is not None  # an agency admin has a region
    admin = accounts.Principal(user.id, user.role, user.region_id, None, user.email)
    session.add_all(
        Kelurahan(
            region_id=user.region_id,
            code=k.code,
            name=k.name,
            kecamatan=k.kecamatan,
            latitude=k.latitude,
            longitude=k.longitude,
        )
        for k in region.kelurahan
    )
    period = await regions.create_period(
        session,
        region_schemas.PeriodCreate(
            region_id=user.region_id,
            school_year=region.school_year,
            level=Level.SMP,
            preset="permendikdasmen-3-2025",
            registration_opens_at=region.opens_at,
            registration_closes_at=region.closes_at,
        ),
        admin,
    )
    # A seed derived from the generator's, so the same demo gives the same selection digest.
    period.rules = {**period.rules, "lottery_seed": hashlib.sha256(f"demo:{region.seed}".encode()).hexdigest()[:32]}
    await schools.import_schools(session, period.id, region.schools_csv(), admin)
    await schools.import_zones(session, period.id, region.zones_csv(), admin)
    await accounts.create_operator(
        session,
        admin,
        account_schemas.OperatorCreate(
            email=DEMO_OPERATOR[0], password=DEMO_OPERATOR[1], name="Operator SMPN 1", npsn=region.schools[0].npsn
        ),
    )
    home = region.kelurahan[0]
    session.add(
        School(
            npsn="20690000",
            region_id=user.region_id,
            name="SD Negeri 1 Kota Tangerang",
            level=Level.SD,
            latitude=home.latitude,
            longitude=home.longitude,
            kelurahan_code=home.code,
        )
    )
    await session.flush()
    await accounts.create_operator(
        session,
        admin,
        account_schemas.OperatorCreate(
            email=DEMO_ORIGIN_OPERATOR[0], password=DEMO_ORIGIN_OPERATOR[1], name="Operator SDN 1", npsn="20690000"
        ),
    )
    await scores.import_graduates(session, period.id, graduates_csv(region), admin)
    await flows.open_registration(session, period.id, admin)
    ctx = await load_context(session, period.id)
    batch = 5000
    for start in range(0, len(region.applicants), batch):
        chunk = region.applicants[start : start + batch]
        await store_many(
            session,
            ctx,
            [
                (data, validate(ctx, data), region.opens_at + timedelta(seconds=start + i))
                for i, data in enumerate(chunk)
            ],
            actor="demo",
        )
    return period.id


async def load(url: str, *, applicants: int, schools: int, seed: int) -> str:
    """Load the demo region once; an existing one is left as it is."""
    from ppdb.db.session import make_engine, make_sessionmaker

    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            if await session.scalar(select(Region.id).where(Region.code == REGION_CODE)):
                return f"Demo region {REGION_NAME} already loaded."
            period_id = await populate(session, generate(applicants=applicants, schools=schools, seed=seed))
        return (
            f"Loaded {REGION_NAME}: period {period_id}, {schools} schools, {applicants} applicants. "
            f"Demo logins: agency {DEMO_ADMIN[0]} / {DEMO_ADMIN[1]}, school {DEMO_OPERATOR[0]} / {DEMO_OPERATOR[1]}, "
            f"origin school {DEMO_ORIGIN_OPERATOR[0]} / {DEMO_ORIGIN_OPERATOR[1]}."
        )
    finally:
        await engine.dispose()
