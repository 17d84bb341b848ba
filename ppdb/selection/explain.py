"""Explanations in plain Bahasa Indonesia: for every choice of a run, the outcome, the cut-off and the
applicant's own values. Built from what the run itself stored, so a later change of choices cannot
make it name the wrong school."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ppdb.applicants.models import Application, ApplicationStatus
from ppdb.regions.rules import RuleSet
from ppdb.schools.models import School
from ppdb.selection import schemas
from ppdb.selection.compiler import PRIVATE_KEYS, public_key
from ppdb.selection.models import Placement, ProgramOutcome, RunKind, SelectionRun

DROPPED = {
    "outside_zone": "tidak diikutkan: alamat di luar zona sekolah untuk jalur ini",
    "school_not_in_period": "tidak diikutkan: sekolah tidak lagi ikut periode ini",
    "path_unknown": "tidak diikutkan: jalur tidak tersedia",
    "document_rejected": "tidak diikutkan: dokumen syarat jalur ini ditolak verifikator",
}
LABELS = {
    "distance": "jarak",
    "age": "usia",
    "age_months": "usia",
    "score": "nilai",
    "zone_priority": "prioritas zona",
    "choice_rank": "urutan pilihan",
    "lottery": "undian",
    "submitted_at": "waktu daftar",
}


def number(value: float, decimals: int = 2) -> str:
    """Indonesian digit grouping: 1.432,10"""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".")


def describe(name: str, value: float) -> str:
    """One key component in human terms (keys are stored so that smaller is better)."""
    if name == "distance":
        return f"{number(value)} m"
    if name in ("age", "age_months"):
        months = int(-value) if name == "age_months" else int(-value // 30.4375)
        return f"{months // 12} tahun {months % 12} bulan"
    if name == "score":
        return f"nilai {number(-value)}"
    if name == "zone_priority":
        return f"prioritas zona {int(value)}"
    if name == "choice_rank":
        return f"pilihan ke-{int(value)}"
    if name == "lottery":
        return f"nomor undian {int(value)}"
    return f"{value:g}"


def compare(names: list[str], cutoff: list[float], key: list[float]) -> str:
    """Name the first key component where the applicant falls behind the cut-off.

    The cut-off is another child's key: its lottery number is never shown (with the published seed it
    would give away that child's NIK), and ages are shown in months, not days.
    """
    for name, limit, mine in zip(names, cutoff, key, strict=False):
        if mine != limit:
            if name in PRIVATE_KEYS:
                return "sama dengan batas pada kriteria lain; kalah pada undian"
            return f"batas {describe(name, limit)}, {LABELS.get(name, name)} Anda {describe(name, mine)}"
    return "sama dengan batas, kalah pada urutan terakhir"


def not_placed_reason(outcome: ProgramOutcome, key: list[float], mechanism: str) -> str:
    if outcome.cutoff is None:
        return "tidak ada kursi pada jalur ini"
    if key < outcome.cutoff and mechanism == "first_choice_priority":
        return (
            "kursi sudah terisi oleh pendaftar yang memilih sekolah ini pada urutan pilihan lebih tinggi "
            "(aturan prioritas pilihan pertama)"
        )
    return compare(outcome.key_names, outcome.cutoff, key)


async def explain(
    session: AsyncSession, application: Application, rules: RuleSet, selection_run: SelectionRun
) -> schemas.Explanation:
    placement = await session.get(Placement, (selection_run.id, application.id))
    entries = sorted(((int(rank), entry) for rank, entry in (placement.keys if placement else {}).items()))
    npsns = {entry.get("npsn") or entry["program"].split(":", 1)[0] for _, entry in entries}
    names = dict((await session.execute(select(School.npsn, School.name).where(School.npsn.in_(npsns)))).all())
    # Only the applicant's schools (all their paths, to name where transferred seats came from): this is
    # polled all day, and a province run has thousands of programs.
    outcomes = (
        {
            o.program: o
            for o in await session.scalars(
                select(ProgramOutcome).where(
                    ProgramOutcome.run_id == selection_run.id, ProgramOutcome.school_npsn.in_(npsns)
                )
            )
        }
        if entries
        else {}
    )
    placed_rank = placement.choice_rank if placement else None
    items = []
    for rank, entry in entries:
        if "dropped" in entry:
            npsn = entry["npsn"]
            items.append(
                schemas.ChoiceExplanation(
                    rank=rank,
                    npsn=npsn,
                    school_name=names.get(npsn, npsn),
                    program=None,
                    outcome="dropped",
                    text=DROPPED.get(entry["dropped"], entry["dropped"]),
                )
            )
            continue
        program, key = entry["program"], entry["key"]
        npsn, outcome = program.split(":", 1)[0], outcomes[program]
        school = names.get(npsn, npsn)
        where = dict(
            program=program,
            cutoff=public_key(outcome.key_names, outcome.cutoff)[1],
            key=key,
            position=entry.get("position"),
            seats=outcome.final_capacity,
        )
        if rank == placed_rank:
            text = f"Diterima di {school} (pilihan ke-{rank})."
            if outcome.final_capacity > outcome.capacity:
                path = outcome.path.split("/")[0]
                givers = [
                    o.path
                    for o in outcomes.values()
                    if o.school_npsn == npsn
                    and o.final_capacity < o.capacity
                    and any(t.target == path and o.path.split("/")[0] == t.source for t in rules.transfers)
                ]
                text += (
                    f" Kuota jalur ini bertambah {outcome.final_capacity - outcome.capacity} kursi dari "
                    f"kursi kosong jalur {', '.join(sorted(givers)) or 'lain'}."
                )
            items.append(
                schemas.ChoiceExplanation(
                    rank=rank, npsn=npsn, school_name=school, outcome="placed", text=text, **where
                )
            )
        elif placed_rank is not None and rank > placed_rank:
            items.append(
                schemas.ChoiceExplanation(
                    rank=rank,
                    npsn=npsn,
                    school_name=school,
                    outcome="not_considered",
                    text="Tidak diproses: Anda diterima di pilihan yang lebih tinggi.",
                    **where,
                )
            )
        else:
            why = not_placed_reason(outcome, key, selection_run.mechanism)
            items.append(
                schemas.ChoiceExplanation(
                    rank=rank,
                    npsn=npsn,
                    school_name=school,
                    outcome="not_placed",
                    text=f"Tidak diterima di {school}: {why}.",
                    **where,
                )
            )

    placed_school = next((i.school_name for i in items if i.outcome == "placed"), None)
    at_risk = placement is not None and placed_rank is None
    warning = None
    if application.status is ApplicationStatus.WITHDRAWN:
        summary = "Pendaftaran ini sudah dicabut."
    elif application.status is ApplicationStatus.DISQUALIFIED:
        summary = "Pendaftaran ini didiskualifikasi."
    elif placement is None:
        summary = "Pendaftaran ini belum ikut perhitungan; hasil muncul pada perhitungan berikutnya."
    elif placed_school is not None:
        summary = f"Diterima di pilihan ke-{placed_rank}: {placed_school}."
    else:
        summary = "Belum diterima di semua pilihan."
    stale = placement is not None and application.updated_at > selection_run.started_at
    if stale:
        summary += " Data pendaftaran berubah setelah perhitungan ini; hasil diperbarui pada perhitungan berikutnya."
    if selection_run.kind is RunKind.PROVISIONAL:
        summary = "Sementara: " + summary
        if at_risk and application.status not in (ApplicationStatus.WITHDRAWN, ApplicationStatus.DISQUALIFIED):
            warning = (
                "Peringatan: saat ini Anda tidak masuk di semua sekolah pilihan. Pertimbangkan menambah atau "
                "mengganti pilihan sebelum pendaftaran ditutup."
            )
    return schemas.Explanation(
        registration_number=application.registration_number,
        run_id=selection_run.id,
        run_kind=selection_run.kind.value,
        digest=selection_run.digest,
        placed_choice=placed_rank,
        summary=summary,
        at_risk=at_risk,
        warning=warning,
        stale=stale,
        choices=items,
    )
