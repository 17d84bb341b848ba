"""Explanations in plain Bahasa Indonesia: for every choice, the outcome, the cut-off and the applicant's own values."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ppdb.applicants.models import Application
from ppdb.regions.rules import RuleSet
from ppdb.schools.models import School
from ppdb.selection import schemas
from ppdb.selection.models import Placement, ProgramOutcome, RunKind, SelectionRun

DROPPED = {
    "outside_zone": "tidak diikutkan: alamat di luar zona sekolah untuk jalur ini",
    "school_not_in_period": "tidak diikutkan: sekolah tidak lagi ikut periode ini",
    "path_unknown": "tidak diikutkan: jalur tidak tersedia",
}


def number(value: float, decimals: int = 2) -> str:
    """Indonesian digit grouping: 1.432,10"""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".")


def describe(name: str, value: float) -> str:
    """One key component in human terms (keys are stored so that smaller is better)."""
    if name == "distance":
        return f"{number(value)} m"
    if name == "age":
        days = int(-value)
        return f"{number(days, 0)} hari ({days // 365} tahun {days % 365 // 30} bulan)"
    if name == "score":
        return f"nilai {number(-value)}"
    if name == "zone_priority":
        return f"prioritas zona {int(value)}"
    if name == "choice_rank":
        return f"pilihan ke-{int(value)}"
    if name == "lottery":
        return f"nomor undian {int(value)}"
    return f"{value:g}"


LABELS = {"distance": "jarak", "age": "usia", "score": "nilai", "zone_priority": "prioritas zona",
          "choice_rank": "urutan pilihan", "lottery": "undian", "submitted_at": "waktu daftar"}


def compare(names: list[str], cutoff: list[float], key: list[float]) -> str:
    """Name the first key component where the applicant falls behind the cut-off."""
    for name, limit, mine in zip(names, cutoff, key, strict=False):
        if mine != limit:
            return f"batas {describe(name, limit)}, {LABELS.get(name, name)} Anda {describe(name, mine)}"
    return "sama dengan batas, kalah pada urutan terakhir"


async def explain(session: AsyncSession, application: Application, rules: RuleSet,
                  selection_run: SelectionRun) -> schemas.Explanation:
    placement = await session.get(Placement, (selection_run.id, application.id))
    schools = list(await session.scalars(select(School).where(School.id.in_([c.school_id for c in application.choices]))))
    names, by_id = {s.npsn: s.name for s in schools}, {s.id: s.npsn for s in schools}
    keys = placement.keys if placement else {}
    programs = [k["program"] for k in keys.values() if "program" in k]
    outcome_of = {o.program: o for o in await session.scalars(
        select(ProgramOutcome).where(ProgramOutcome.run_id == selection_run.id, ProgramOutcome.program.in_(programs)))}
    placed_rank = placement.choice_rank if placement else None
    items = []
    for choice in application.choices:
        npsn = by_id[choice.school_id]
        entry = keys.get(str(choice.rank), {})
        if placement is None:
            items.append(schemas.ChoiceExplanation(rank=choice.rank, npsn=npsn, school_name=names[npsn], program=None,
                                                   outcome="not_considered", text="Belum ikut seleksi ini."))
            continue
        if "dropped" in entry:
            items.append(schemas.ChoiceExplanation(rank=choice.rank, npsn=npsn, school_name=names[npsn], program=None,
                                                   outcome="dropped", text=DROPPED.get(entry["dropped"], entry["dropped"])))
            continue
        program, key, position = entry["program"], entry["key"], entry.get("position")
        outcome = outcome_of[program]
        where = dict(program=program, cutoff=outcome.cutoff, key=key, position=position, seats=outcome.final_capacity)
        if choice.rank == placed_rank:
            text = f"Diterima di {names[npsn]} (pilihan ke-{choice.rank})."
            if outcome.final_capacity > outcome.capacity:
                sources = [t.source for t in rules.transfers if t.target == outcome.path.split("/")[0]]
                text += (f" Kuota jalur ini bertambah {outcome.final_capacity - outcome.capacity} kursi dari "
                         f"pengalihan kursi kosong jalur {', '.join(sources) or 'lain'}.")
            items.append(schemas.ChoiceExplanation(rank=choice.rank, npsn=npsn, school_name=names[npsn],
                                                   outcome="placed", text=text, **where))
        elif placed_rank is not None and choice.rank > placed_rank:
            items.append(schemas.ChoiceExplanation(
                rank=choice.rank, npsn=npsn, school_name=names[npsn], outcome="not_considered",
                text="Tidak diproses: Anda diterima di pilihan yang lebih tinggi.", **where))
        else:
            why = ("tidak ada kursi pada jalur ini" if outcome.cutoff is None
                   else compare(outcome.key_names, outcome.cutoff, key))
            items.append(schemas.ChoiceExplanation(
                rank=choice.rank, npsn=npsn, school_name=names[npsn], outcome="not_placed",
                text=f"Tidak diterima di {names[npsn]}: {why}.", **where))
    if placed_rank is not None:
        summary = f"Diterima di pilihan ke-{placed_rank}: {names[by_id[application.choices[placed_rank - 1].school_id]]}."
    elif placement is None:
        summary = "Pendaftaran ini belum ikut seleksi."
    else:
        summary = "Belum diterima di semua pilihan."
    at_risk = placement is not None and placed_rank is None
    warning = None
    if selection_run.kind is RunKind.PROVISIONAL:
        summary = "Sementara: " + summary
        if at_risk:
            warning = ("Peringatan: saat ini Anda tidak masuk di semua sekolah pilihan. Pertimbangkan menambah atau "
                       "mengganti pilihan sebelum pendaftaran ditutup.")
    return schemas.Explanation(registration_number=application.registration_number, run_id=selection_run.id,
                               run_kind=selection_run.kind.value, digest=selection_run.digest,
                               placed_choice=placed_rank, summary=summary, at_risk=at_risk, warning=warning,
                               choices=items)
