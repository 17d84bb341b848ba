"""Explanations in plain Bahasa Indonesia: for every choice of a run, the outcome, the cut-off and the
applicant's own values. Built from what the run itself stored, so a later change of choices cannot
make it name the wrong school."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple, Protocol, cast

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from ppdb.applicants.models import ApplicationStatus
from ppdb.db.base import among
from ppdb.labels import path_title
from ppdb.regions.rules import RuleSet
from ppdb.schools.service import place, place_names
from ppdb.selection import schemas
from ppdb.selection.keys import PRIVATE_KEYS, describe, label
from ppdb.selection.models import Placement, ProgramOutcome, RunKind, SelectionRun
from ppdb.selection.programs import Considered, Dropped, Number, ProgramKey

DROPPED = {
    "outside_zone": "tidak diikutkan: alamat di luar zona sekolah untuk jalur ini",
    "school_not_in_period": "tidak diikutkan: sekolah tidak lagi ikut periode ini",
    "path_unknown": "tidak diikutkan: jalur tidak tersedia",
    "document_rejected": "tidak diikutkan: dokumen syarat jalur ini ditolak verifikator",
    "no_sub_quota": "tidak diikutkan: alamat tidak termasuk sub-kuota mana pun jalur ini di sekolah ini",
    "program_requirement": "tidak diikutkan: syarat program keahlian ini tidak terpenuhi (hasil pemeriksaan sekolah "
    "atau dokumen syaratnya ditolak)",
}


def sub_quota_label(category: str | None) -> str:
    """`sebaran-36.71.01.1001` -> `sebaran (kelurahan 36.71.01.1001)`: a per-kelurahan part, as parents read it."""
    name, _, kelurahan = (category or "").partition("-")
    return f"{name} (kelurahan {kelurahan})" if kelurahan else name


class Explained(Protocol):
    """What an explanation reads of the application (the row or the status page's lighter read)."""

    @property
    def id(self) -> int: ...
    @property
    def registration_number(self) -> str: ...
    @property
    def status(self) -> ApplicationStatus: ...
    @property
    def updated_at(self) -> datetime: ...


class Ran(NamedTuple):
    """A run as its explanations read it, with the rules it ran with: plain values, kept per worker
    (`Runtime.runs`: a run never changes, each re-solve is a new one)."""

    id: int
    period_id: int
    kind: RunKind
    mechanism: str
    started_at: datetime
    digest: str
    rules: RuleSet

    @classmethod
    def of(cls, run: SelectionRun, rules: RuleSet) -> Ran:
        return cls(run.id, run.period_id, run.kind, run.mechanism, run.started_at, run.digest, rules)


def compare(names: list[str], cutoff: list[Number], key: list[Number]) -> str:
    """Name the first key component where the applicant falls behind the cut-off.

    The cut-off is another child's key: its lottery number is never shown (with the published seed it
    would give away that child's NIK), and ages are shown in months, not days.
    """
    for name, limit, mine in zip(names, cutoff, key, strict=False):
        if mine != limit:
            if name in PRIVATE_KEYS:
                return "sama dengan batas pada kriteria lain; kalah pada undian"
            words, own = label(name), describe(name, mine)
            own = own.removeprefix(f"{words} ")  # "nilai Anda 80,00", not "nilai Anda nilai 80,00"
            return f"batas {describe(name, limit)}, {words} Anda {own}"
    return "sama dengan batas, kalah pada urutan terakhir"


def not_placed_reason(outcome: ProgramOutcome, key: list[Number], mechanism: str) -> str:
    cut = outcome.cut
    if cut is None:
        return "tidak ada kursi pada jalur ini"
    if key < cut.values and mechanism == "first_choice_priority":
        return (
            "kursi sudah terisi oleh pendaftar yang memilih sekolah ini pada urutan pilihan lebih tinggi "
            "(aturan prioritas pilihan pertama)"
        )
    return compare(cut.names, cut.values, key)


def _considered(
    rank: int, school: str, entry: Considered, outcome: ProgramOutcome, verdict: str, text: str
) -> schemas.ChoiceExplanation:
    """A choice that took part in the run: the verdict, beside the program's public cut-off and the own key."""
    cut = outcome.cut
    return schemas.ChoiceExplanation(
        rank=rank,
        npsn=outcome.school_npsn,
        school_name=school,
        program=entry.program,
        outcome=verdict,
        text=text,
        cutoff=None if cut is None else cast(list[float], cut.public().values),
        key=cast(list[float], entry.key),
        position=entry.position,
        seats=outcome.final_capacity,
    )


# Built once: a status page is explained anew for every run re-solved.
_OUTCOMES = select(ProgramOutcome).where(
    ProgramOutcome.run_id == bindparam("run"),
    among(ProgramOutcome.school_npsn, key="npsns"),
)


async def explain(session: AsyncSession, application: Explained, ran: Ran) -> schemas.Explanation:
    placement = await session.get(Placement, (ran.id, application.id))
    entries = list(placement.entries().items()) if placement else []
    npsns = {entry.npsn if isinstance(entry, Dropped) else ProgramKey.parse(entry.program).npsn for _, entry in entries}
    names = await place_names(session, ran.period_id, npsns) if entries else {}
    # Only the applicant's schools (all their paths, to name where transferred seats came from): this is
    # polled all day, and a province run has thousands of programs.
    outcomes = (
        {o.program: o for o in await session.scalars(_OUTCOMES, {"run": ran.id, "npsns": list(npsns)})}
        if entries
        else {}
    )
    placed_rank = placement.choice_rank if placement else None
    items = []
    for rank, entry in entries:
        if isinstance(entry, Dropped):
            items.append(
                schemas.ChoiceExplanation(
                    rank=rank,
                    npsn=entry.npsn,
                    school_name=place(names, entry.npsn, entry.major),
                    program=None,
                    outcome="dropped",
                    text=DROPPED.get(entry.dropped, entry.dropped),
                )
            )
            continue
        steps = entry.steps()
        shown = entry.at(placement.program) if rank == placed_rank and placement else None
        shown = shown or (steps[0] if placed_rank is not None and rank > placed_rank else steps[-1])
        passed = steps[: steps.index(shown)]  # sub-quotas it was ranked in before, without a seat
        outcome = outcomes[shown.program]
        npsn = outcome.school_npsn
        school = place(names, npsn, outcome.program_key.major)
        missed = "; ".join(
            f"sub-kuota {sub_quota_label(outcomes[s.program].program_key.category)}: "
            f"{not_placed_reason(outcomes[s.program], s.key, ran.mechanism)}"
            for s in passed
        )
        if rank == placed_rank:
            text = f"Diterima di {school} (pilihan ke-{rank})."
            if passed:
                text = (
                    f"Diterima di {school} (pilihan ke-{rank}) pada sub-kuota {sub_quota_label(outcome.program_key.category)}, "
                    f"diperingkat ulang setelah tidak mendapat kursi di {missed}."
                )
            if outcome.final_capacity > outcome.capacity:
                path = outcome.program_key.path
                givers = [
                    path_title(o.program_key.quota_path)
                    for o in outcomes.values()
                    if o.school_npsn == npsn
                    and o.program_key.major == outcome.program_key.major
                    and o.final_capacity < o.capacity
                    and any(t.target == path and o.program_key.path == t.source for t in ran.rules.transfers)
                ]
                text += (
                    f" Kuota jalur ini bertambah {outcome.final_capacity - outcome.capacity} kursi dari "
                    f"kursi kosong jalur {', '.join(sorted(givers)) or 'lain'}."
                )
            items.append(_considered(rank, school, shown, outcome, "placed", text))
        elif placed_rank is not None and rank > placed_rank:
            items.append(
                _considered(
                    rank,
                    school,
                    shown,
                    outcome,
                    "not_considered",
                    "Tidak diproses: Anda diterima di pilihan yang lebih tinggi.",
                )
            )
        else:
            why = not_placed_reason(outcome, shown.key, ran.mechanism)
            text = f"Tidak diterima di {school}: {why}."
            if passed:
                text = f"Tidak diterima di {school}: {missed}; sub-kuota {sub_quota_label(outcome.program_key.category)}: {why}."
            items.append(_considered(rank, school, shown, outcome, "not_placed", text))

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
    stale = placement is not None and application.updated_at > ran.started_at
    if stale:
        summary += " Data pendaftaran berubah setelah perhitungan ini; hasil diperbarui pada perhitungan berikutnya."
    if ran.kind is RunKind.PROVISIONAL:
        summary = "Sementara: " + summary
        if at_risk and application.status not in (ApplicationStatus.WITHDRAWN, ApplicationStatus.DISQUALIFIED):
            warning = (
                "Peringatan: saat ini Anda tidak masuk di semua sekolah pilihan. Pertimbangkan menambah atau "
                "mengganti pilihan sebelum pendaftaran ditutup."
            )
    return schemas.Explanation(
        registration_number=application.registration_number,
        run_id=ran.id,
        run_kind=ran.kind.value,
        digest=ran.digest,
        placed_choice=placed_rank,
        summary=summary,
        at_risk=at_risk,
        warning=warning,
        stale=stale,
        choices=items,
    )
