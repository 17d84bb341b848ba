"""Wilayah: the kelurahan / desa of a region with their Kemendagri codes, from a maintained open dataset.

The data is the npm package `idn-area-data` (ODbL), installed with the front-end assets by `make install`;
`ppdb wilayah load <code>` copies one region's kelurahan into the `kelurahan` table. A region with a list
refuses a registration whose kelurahan code is not on it (`kelurahan_unknown`).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ppdb.errors import AppError, NotFound
from ppdb.regions.models import Kelurahan, Region

DATA = Path(__file__).resolve().parents[1] / "web" / "node_modules" / "idn-area-data" / "data"


@dataclass(frozen=True, slots=True)
class Village:
    code: str
    name: str
    kecamatan: str


def villages_of(code: str, data: Path = DATA) -> list[Village]:
    """The kelurahan / desa under a Kemendagri code (a kabupaten/kota "36.71", or a kecamatan), by code."""
    if not (data / "villages.csv").exists():
        raise AppError(
            "wilayah_data_missing",
            f"Data wilayah tidak ditemukan di {data}: jalankan `make install` (paket npm idn-area-data).",
            "data",
        )
    with (data / "districts.csv").open(encoding="utf-8") as f:
        districts = {row["code"]: row["name"] for row in csv.DictReader(f)}
    with (data / "villages.csv").open(encoding="utf-8") as f:
        found = [
            Village(row["code"], row["name"], districts.get(row["district_code"], ""))
            for row in csv.DictReader(f)
            if row["code"].startswith(code + ".")
        ]
    if not found:
        raise NotFound("wilayah_unknown", f"Tidak ada kelurahan/desa dengan kode wilayah {code}.", "code")
    return sorted(found, key=lambda v: v.code)


async def load(session: AsyncSession, region_code: str, data: Path = DATA) -> int:
    """Upsert the region's kelurahan (name and kecamatan; a centroid already there stays). Idempotent."""
    region_id = await session.scalar(select(Region.id).where(Region.code == region_code))
    if region_id is None:
        raise NotFound("region_not_found", f"Daerah dengan kode {region_code} belum ada.", "code")
    villages = villages_of(region_code, data)
    statement = insert(Kelurahan).values(
        [dict(code=v.code, region_id=region_id, name=v.name, kecamatan=v.kecamatan) for v in villages]
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[Kelurahan.code],
            set_={
                "region_id": statement.excluded.region_id,
                "name": statement.excluded.name,
                "kecamatan": statement.excluded.kecamatan,
            },
        )
    )
    return len(villages)
