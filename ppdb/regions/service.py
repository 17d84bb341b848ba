"""Regions and periods: creation from presets, rule changes within national bounds (the life cycle:
`regions/lifecycle.py` and `ppdb/flows.py`)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import cast

import msgspec
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ppdb.audit.service import record, record_period
from ppdb.authz import Principal, assert_region
from ppdb.db.base import to_struct
from ppdb.errors import AppError, Conflict, NotFound
from ppdb.regions import juknis, schemas
from ppdb.regions.lifecycle import check_rule_changes
from ppdb.regions.models import Period, PeriodStatus, Region
from ppdb.regions.rules import (
    PRESETS,
    Preset,
    RuleSet,
    RuleViolation,
    audited,
    changed_fields,
    check_reference_date,
    check_rules,
    rules_from_preset,
    with_changes,
)


async def get_region(session: AsyncSession, region_id: int) -> Region:
    region = await session.get(Region, region_id)
    if region is None:
        raise NotFound("region_not_found", "Wilayah tidak ditemukan.", "region_id")
    return region


def find_preset(name: str, level) -> Preset:
    preset = PRESETS.get((name, level))
    if preset is None:
        names = sorted({n for n, _ in PRESETS})
        raise AppError("preset_unknown", f"Preset '{name}' tidak dikenal. Pilihan: {', '.join(names)}.", "preset")
    return preset


async def create_period(session: AsyncSession, data: schemas.PeriodCreate, user: Principal) -> Period:
    assert_region(user, data.region_id)
    region = await get_region(session, data.region_id)
    preset = find_preset(data.preset, data.level)
    first, second = (int(y) for y in data.school_year.split("/"))
    if second != first + 1:
        raise AppError(
            "school_year_invalid", "Tahun ajaran harus dua tahun berurutan, contoh 2027/2028.", "school_year"
        )
    if data.registration_closes_at <= data.registration_opens_at:
        raise AppError("schedule_invalid", "Penutupan pendaftaran harus setelah pembukaan.", "registration_closes_at")
    rules = rules_from_preset(preset, data.school_year)
    period = Period(
        region_id=region.id,
        name=data.name or f"SPMB {data.level.value.upper()} {region.name} {data.school_year}",
        school_year=data.school_year,
        level=data.level,
        status=PeriodStatus.DRAFT,
        registration_opens_at=data.registration_opens_at,
        registration_closes_at=data.registration_closes_at,
        rules=msgspec.to_builtins(rules),
    )
    session.add(period)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(
            "period_exists",
            f"Periode {data.level.value.upper()} {data.school_year} untuk wilayah ini sudah ada.",
            "school_year",
        ) from None
    record_period(
        session,
        period.id,
        "period.create",
        actor=user.actor,
        new={"preset": preset.name, "level": data.level.value, "school_year": data.school_year},
    )
    return period


# Built once (every explanation of a status page reads its period).
_PERIOD = select(Period).where(Period.id == bindparam("period"))
# NO KEY UPDATE still orders runs, publications and transitions, but leaves the row's key alone, so the foreign
# keys of audited writes (audit_log, applications) need not wait for a selection run.
_PERIOD_FOR_UPDATE = _PERIOD.with_for_update(key_share=True)


async def get_period(
    session: AsyncSession, period_id: int, *, for_update: bool = False, user: Principal | None = None
) -> Period:
    """The period; with `user`, only if it is in their region (agency staff act only there)."""
    period = await session.scalar(_PERIOD_FOR_UPDATE if for_update else _PERIOD, {"period": period_id})
    if period is None:
        raise NotFound("period_not_found", "Periode tidak ditemukan.", "period_id")
    if user is not None:
        assert_region(user, period.region_id)
    return period


async def periods_of_region(session: AsyncSession, region_id: int) -> list[Period]:
    """A region's periods, newest first."""
    return list(await session.scalars(select(Period).where(Period.region_id == region_id).order_by(Period.id.desc())))


async def public_periods(session: AsyncSession, limit: int = 10) -> list[Period]:
    """The newest periods the public may see (every one past its draft)."""
    return list(
        await session.scalars(
            select(Period).where(Period.status != PeriodStatus.DRAFT).order_by(Period.id.desc()).limit(limit)
        )
    )


def rules_of(period: Period) -> RuleSet:
    return msgspec.convert(period.rules, RuleSet)


async def update_rules(session: AsyncSession, period_id: int, change: schemas.RulesUpdate, user: Principal) -> Period:
    """Apply a rules change: what the period's status still allows (`lifecycle.RULE_CHANGES`), within the
    national bounds; audited with the old and new rule set, and a new rules version. A change that changes
    nothing is no new version."""
    period = await get_period(session, period_id, for_update=True, user=user)
    if change.version is not msgspec.UNSET and change.version != period.version:
        raise Conflict(
            "concurrent_update", "Aturan sudah diubah oleh pengguna lain; muat ulang lalu coba lagi.", "version"
        )
    old = rules_of(period)
    new = applied(old, change, skip=("version",))
    fields = changed_fields(old, new)
    if not fields:
        return period
    check_rule_changes(period, fields)
    try:
        check_rules(new, find_preset(new.preset, period.level))
        check_reference_date(new, period.school_year)
    except RuleViolation as v:
        raise AppError(v.code, v.message, v.field) from None
    period.rules = msgspec.to_builtins(new)
    period.rules_version += 1
    record_period(
        session,
        period.id,
        "period.rules",
        actor=user.actor,
        old={"rules_version": period.rules_version - 1, "rules": audited(old)},
        new={"rules_version": period.rules_version, "rules": audited(new), "changed": fields},
    )
    await session.flush()
    return period


async def load_template(session: AsyncSession, period_id: int, load: schemas.TemplateLoad, user: Principal) -> Period:
    """A juknis template's rules into a period, as one rules change (checked, audited, versioned)."""
    period = await get_period(session, period_id, user=user)
    change = template_for(period, load.template, rules_of(period))
    return await update_rules(session, period_id, msgspec.structs.replace(change, version=load.version), user)


def template_for(period: Period, name: str, rules: RuleSet) -> schemas.RulesUpdate:
    """The rules change of a juknis template, for a period of its level and preset (`rules`: the ones it goes on)."""
    template = juknis.templates().get(name)
    if template is None:
        raise NotFound("template_not_found", f"Template juknis '{name}' tidak ada.", "template")
    if (template.level, template.preset) != (period.level, rules.preset):
        raise Conflict(
            "template_mismatch",
            f"Template {template.title} untuk jenjang {template.level.value.upper()} dengan preset {template.preset}; "
            f"periode ini jenjang {period.level.value.upper()} dengan preset {rules.preset}.",
            "template",
        )
    return template.rules


def applied(rules: RuleSet, change: msgspec.Struct, *, skip: tuple[str, ...] = ()) -> RuleSet:
    """`rules` with the set fields of `change` applied (a `RulesUpdate` or `WhatIfRequest`), not yet checked."""
    fields = {k: v for k, v in msgspec.structs.asdict(change).items() if v is not msgspec.UNSET and k not in skip}
    if "paths" in fields:
        paths = cast(list[schemas.PathUpdate], fields.pop("paths"))
        names = [p.name for p in paths]
        if len(set(names)) != len(names):
            raise AppError("path_given_twice", "Setiap jalur hanya boleh disebut sekali dalam paths.", "paths")
        fields["path_changes"] = {
            p.name: {k: v for k, v in msgspec.structs.asdict(p).items() if v is not msgspec.UNSET and k != "name"}
            for p in paths
        }
    try:
        return with_changes(rules, **fields)
    except RuleViolation as v:
        raise AppError(v.code, v.message, v.field) from None


def changed_rules(rules: RuleSet, level, change: msgspec.Struct, *, skip: tuple[str, ...] = ()) -> RuleSet:
    """`rules` with the set fields of `change` applied, checked against its preset's national bounds."""
    new = applied(rules, change, skip=skip)
    try:
        check_rules(new, find_preset(new.preset, level))
    except RuleViolation as v:
        raise AppError(v.code, v.message, v.field) from None
    return new


def accepting_registrations(period: Period, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    if period.status is not PeriodStatus.REGISTRATION_OPEN:
        raise Conflict("period_not_open", "Pendaftaran untuk periode ini sedang tidak dibuka.", "period_id")
    if not period.registration_opens_at <= now < period.registration_closes_at:
        raise Conflict(
            "period_not_open",
            f"Pendaftaran dibuka {period.registration_opens_at:%d-%m-%Y %H:%M} sampai "
            f"{period.registration_closes_at:%d-%m-%Y %H:%M} UTC.",
            "period_id",
        )


def to_out(period: Period) -> schemas.PeriodOut:
    """The period; its lottery seed is committed to by hash and revealed only once registration closes."""
    rules = rules_of(period)
    seed_hash = hashlib.sha256(rules.lottery_seed.encode()).hexdigest()
    if period.status in (PeriodStatus.DRAFT, PeriodStatus.REGISTRATION_OPEN):
        rules = msgspec.structs.replace(rules, lottery_seed="")
    return to_struct(schemas.PeriodOut, period, rules=rules, lottery_seed_sha256=seed_hash)


def preset_out(preset: Preset) -> schemas.PresetOut:
    paths = [
        to_struct(
            schemas.PresetPathOut, p, minimum=preset.bounds[p.name].minimum, maximum=preset.bounds[p.name].maximum
        )
        for p in preset.paths
    ]
    return to_struct(schemas.PresetOut, preset, paths=paths)


GENERAL_FAQ = [
    schemas.Faq(
        question="Bagaimana cara mendaftar?",
        answer="Buat akun, pilih periode, isi data anak sesuai KK, tandai lokasi rumah, pilih jalur dan sekolah, "
        "lalu unggah dokumen. Tidak punya ponsel atau internet? Datang ke sekolah tujuan: operator sekolah dapat "
        "mendaftarkan anak Anda setelah memeriksa KK.",
    ),
    schemas.Faq(
        question="Di mana saya mendapat PIN anak?",
        answer="Di daerah yang memakai PIN, minta PIN ke sekolah mana pun di daerah tujuan atau ke Dinas dengan "
        "membawa KK. PIN hanya ditampilkan sekali; bila hilang, minta PIN baru. Setelah lima kali salah, tunggu "
        "15 menit atau minta PIN baru.",
    ),
    schemas.Faq(
        question="NIK anak saya sudah didaftarkan orang lain. Apa yang harus saya lakukan?",
        answer="Laporkan ke helpdesk Dinas dengan membawa KK asli. Setelah diperiksa, Dinas dapat melepas pendaftaran "
        "itu agar Anda dapat mendaftarkan anak Anda.",
    ),
    schemas.Faq(
        question="Dokumen saya ditolak. Bagaimana memperbaikinya?",
        answer="Buka halaman status pendaftaran: dokumen yang ditolak tampil paling atas dengan alasannya. Unggah "
        "ulang berkas yang benar; ini tetap bisa setelah pendaftaran ditutup, sampai seleksi dijalankan.",
    ),
    schemas.Faq(
        question="Bagaimana melihat hasil seleksi?",
        answer="Setelah pengumuman, buka halaman hasil periode dan masukkan nomor pendaftaran serta tanggal lahir "
        "anak (ada di bukti pendaftaran), atau lihat halaman status pendaftaran Anda.",
    ),
]
"""What families of every region ask, answered by how this system works."""


def _helpdesk_out(region: Region) -> schemas.HelpdeskOut:
    return schemas.HelpdeskOut(
        region_id=region.id,
        region_name=region.name,
        helpdesk=msgspec.convert(region.helpdesk, schemas.Helpdesk),
        general=GENERAL_FAQ,
    )


async def helpdesks(session: AsyncSession) -> list[schemas.HelpdeskOut]:
    """Every region's helpdesk (a deployment shared by neighbouring regions has a few)."""
    return [_helpdesk_out(r) for r in await session.scalars(select(Region).order_by(Region.name))]


async def helpdesk(session: AsyncSession, region_id: int) -> schemas.HelpdeskOut:
    region = await session.get(Region, region_id)
    if region is None:
        raise NotFound("region_not_found", "Daerah tidak ditemukan.", "region_id")
    return _helpdesk_out(region)


async def set_helpdesk(
    session: AsyncSession, region_id: int, data: schemas.Helpdesk, user: Principal
) -> schemas.HelpdeskOut:
    """The agency's own helpdesk details, replaced whole; audited with the old and new ones."""
    assert_region(user, region_id)
    region = await session.get(Region, region_id, with_for_update=True)
    if region is None:
        raise NotFound("region_not_found", "Daerah tidak ditemukan.", "region_id")
    old, region.helpdesk = region.helpdesk, msgspec.to_builtins(data)
    record(
        session,
        actor=user.actor,
        action="region.helpdesk",
        entity="region",
        entity_id=region.id,
        old=old,
        new=region.helpdesk,
    )
    await session.flush()
    return _helpdesk_out(region)
