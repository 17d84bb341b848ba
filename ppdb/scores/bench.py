"""Benchmark of a graduate-list import: a province's list (rows × 35 rapor columns) into a fresh period."""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from ppdb.accounts import service as accounts
from ppdb.db import embedded, migrate
from ppdb.db.session import make_engine, make_sessionmaker
from ppdb.regions import schemas as region_schemas
from ppdb.regions import service as regions
from ppdb.regions.models import Level
from ppdb.scores import service

SUBJECTS = ("agama", "pancasila", "bahasa_indonesia", "matematika", "ipa", "ips", "bahasa_inggris")


def graduates_csv(rows: int, seed: int) -> str:
    """`rows` graduates of 500 origin schools, seven subjects over five semesters each."""
    rng = random.Random(seed)
    columns = [f"{s}_{n}" for s in SUBJECTS for n in range(1, 6)]
    lines = [",".join(("nisn", "nik", "nama", "tanggal_lahir", "npsn_sekolah_asal", *columns))]
    for i in range(rows):
        birth = date(2010, 1, 1) + timedelta(days=rng.randrange(700))
        grades = (f"{rng.uniform(60, 100):.2f}" for _ in columns)
        nik = f"3578{i:012d}"  # unique; the import checks the shape, not the birth date part
        lines.append(",".join((f"{i:010d}", nik, f"Lulusan {i}", birth.isoformat(), f"2056{i % 500:04d}", *grades)))
    return "\n".join(lines) + "\n"


async def measure(url: str, rows: int, seed: int) -> dict:
    engine = make_engine(url)
    try:
        text = graduates_csv(rows, seed)
        sessions = make_sessionmaker(engine)
        async with sessions() as session, session.begin():
            user = await accounts.bootstrap_admin(
                session,
                region_code="35.00",
                region_name="Provinsi Uji",
                email="bench@uji.test",
                password="bench-uji-rapor-2027",
            )
            admin = accounts.Principal(user.id, user.role, user.region_id, None, user.email)
            now = datetime.now(UTC)
            period = await regions.create_period(
                session,
                region_schemas.PeriodCreate(
                    region_id=user.region_id or 0,
                    school_year=f"{now.year + 1}/{now.year + 2}",
                    level=Level.SMA,
                    preset="permendikdasmen-3-2025",
                    registration_opens_at=now + timedelta(days=30),
                    registration_closes_at=now + timedelta(days=40),
                ),
                admin,
            )
        figures: dict = {"rows": rows, "csv_mb": round(len(text.encode()) / 1e6, 1)}
        for name in ("first_import_s", "reimport_s"):  # the second one updates every row
            clock = time.perf_counter()
            async with sessions() as session, session.begin():
                result = await service.import_graduates(session, period.id, text, admin)
            figures[name] = round(time.perf_counter() - clock, 2)
            figures[name.replace("_s", "")] = {"created": result.created, "updated": result.updated}
        return figures
    finally:
        await engine.dispose()


def run(rows: int = 50_000, seed: int = 1, database_url: str | None = None) -> dict:
    if database_url:
        return asyncio.run(measure(database_url, rows, seed))
    with tempfile.TemporaryDirectory(prefix="ppdb-bench-") as tmp:
        server, url = embedded.start(Path(tmp), database="bench", temporary=True)
        with server:
            migrate.upgrade(url)
            return asyncio.run(measure(url, rows, seed))
