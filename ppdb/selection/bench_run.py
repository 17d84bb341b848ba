"""Benchmark of a whole database selection run (load, compile, solve, write) on a synthetic period."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from ppdb import demo
from ppdb.db import embedded, migrate
from ppdb.db.session import make_engine, make_sessionmaker
from ppdb.regions.models import Period, PeriodStatus
from ppdb.selection import service


async def measure(url: str, applicants: int, schools: int, seed: int, repeat: int) -> dict:
    engine = make_engine(url)
    try:
        clock = time.perf_counter()
        region = demo.generate(applicants=applicants, schools=schools, seed=seed)
        generated = time.perf_counter() - clock
        clock = time.perf_counter()
        async with make_sessionmaker(engine)() as session, session.begin():
            period_id = await demo.populate(session, region)
            period = await session.get(Period, period_id)
            assert period is not None
            period.status = PeriodStatus.REGISTRATION_CLOSED  # official runs come after registration
        loaded = time.perf_counter() - clock
        runs = []
        for _ in range(repeat):
            clock = time.perf_counter()
            async with make_sessionmaker(engine)() as session, session.begin():
                done = await service.run(session, period_id, "bench", secret="bench-secret")
            runs.append(
                {
                    "total": round(time.perf_counter() - clock, 3),
                    **done.seconds,
                    "digest": done.digest,
                    "placed": done.placed,
                }
            )
        return {
            "applicants": applicants,
            "schools": schools,
            "generate_s": round(generated, 2),
            "load_demo_s": round(loaded, 2),
            "runs": runs,
        }
    finally:
        await engine.dispose()


def run(
    applicants: int = 100_000, schools: int = 300, seed: int = 1, repeat: int = 3, database_url: str | None = None
) -> dict:
    if database_url:
        return asyncio.run(measure(database_url, applicants, schools, seed, repeat))
    with tempfile.TemporaryDirectory(prefix="ppdb-bench-") as tmp:
        server, url = embedded.start(Path(tmp), database="bench", temporary=True)
        with server:
            migrate.upgrade(url)
            return asyncio.run(measure(url, applicants, schools, seed, repeat))
