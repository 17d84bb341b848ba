"""A period's life cycle: which step may happen in which status, who may trigger it, and where it leads.

    draft ─buka→ registration_open ─tutup→ registration_closed ─seleksi→ selected ─umumkan→ published
      ↑ (re-open)            ↓                                    ↺ seleksi            ↺ umumkan (correction)
      └──────────────────────┘            published ─daftar-ulang→ reregistration ─tutup / deadline→ vacancy
                                          vacancy ─kursi-kosong→ selected ─umumkan→ published (next round)
      vacancy ─tahap-berikutnya→ (the next stage: a new period in draft, with the seats left)
      published / reregistration ↺ seleksi-koreksi (an upheld complaint's corrections), then ↺ umumkan
      vacancy ─seleksi-koreksi→ selected ─umumkan→ published (its own daftar ulang)

The steps themselves (what runs on entering a status) are the functions of `ppdb.flows` named in the table.
What of the rules may still change in each status is the second table, `RULE_CHANGES`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from ppdb.accounts.models import Role
from ppdb.audit.service import record_period
from ppdb.authz import Principal
from ppdb.errors import Conflict, Forbidden
from ppdb.labels import path_title
from ppdb.regions.models import Period, PeriodStatus

S = PeriodStatus
Actor = Principal | str
"""Who triggers a step: a signed-in user, or the name of a system job ("cli", "system:deadline", ...)."""
Trigger = Literal["agency", "system"]


class Step(enum.StrEnum):
    OPEN_REGISTRATION = "open_registration"
    CLOSE_REGISTRATION = "close_registration"
    RUN_OFFICIAL = "run_official"
    PUBLISH = "publish"
    OPEN_REREGISTRATION = "open_reregistration"
    RELEASE_UNCLAIMED = "release_unclaimed"
    VACANCY_ROUND = "vacancy_round"
    NEXT_STAGE = "next_stage"
    CORRECTION_RUN = "correction_run"


@dataclass(frozen=True, slots=True)
class Rule:
    moves: dict[PeriodStatus, PeriodStatus]
    """Status the step may start from -> status it leaves the period in (the same: the status stays)."""
    by: frozenset[Trigger]
    code: str
    """The 409 answered when the period is in any other status (a stable machine code)."""
    message: str
    """Its Indonesian message; `{status}` is the current status."""
    flow: str
    """The `ppdb.flows` function that carries the step out (what runs on entry)."""


AGENCY: Final = frozenset[Trigger](("agency",))
AGENCY_OR_SYSTEM: Final = frozenset[Trigger](("agency", "system"))

TABLE: Final[dict[Step, Rule]] = {
    Step.OPEN_REGISTRATION: Rule(
        {S.DRAFT: S.REGISTRATION_OPEN, S.REGISTRATION_CLOSED: S.REGISTRATION_OPEN},
        AGENCY,
        "invalid_transition",
        "Pendaftaran tidak dapat dibuka dari status {status}.",
        "open_registration",
    ),
    Step.CLOSE_REGISTRATION: Rule(
        {S.REGISTRATION_OPEN: S.REGISTRATION_CLOSED},
        AGENCY,
        "invalid_transition",
        "Pendaftaran tidak sedang dibuka (status {status}).",
        "close_registration",
    ),
    Step.RUN_OFFICIAL: Rule(
        {S.REGISTRATION_CLOSED: S.SELECTED, S.SELECTED: S.SELECTED},
        AGENCY_OR_SYSTEM,  # also `ppdb selection run`
        "period_not_ready",
        "Seleksi resmi dijalankan setelah pendaftaran ditutup.",
        "run_official",
    ),
    Step.PUBLISH: Rule(
        {S.SELECTED: S.PUBLISHED, S.PUBLISHED: S.PUBLISHED, S.REREGISTRATION: S.REREGISTRATION, S.VACANCY: S.VACANCY},
        AGENCY,
        "period_not_selected",
        "Jalankan seleksi resmi sebelum mengumumkan hasil.",
        "publish",
    ),
    Step.OPEN_REREGISTRATION: Rule(
        {S.PUBLISHED: S.REREGISTRATION},
        AGENCY,
        "invalid_transition",
        "Daftar ulang dibuka setelah hasil diumumkan.",
        "open_reregistration",
    ),
    Step.RELEASE_UNCLAIMED: Rule(
        {S.REREGISTRATION: S.VACANCY},
        AGENCY_OR_SYSTEM,  # the agency closes early, or the worker at the deadline
        "invalid_transition",
        "Masa daftar ulang tidak sedang berlangsung.",
        "release_unclaimed",
    ),
    Step.VACANCY_ROUND: Rule(
        {S.VACANCY: S.SELECTED},
        AGENCY,
        "invalid_transition",
        "Putaran pengisian kursi kosong dijalankan setelah daftar ulang ditutup.",
        "vacancy_round",
    ),
    # The period stays where it is; the next stage starts as a period of its own, in draft (`flows.next_stage`).
    Step.NEXT_STAGE: Rule(
        {S.VACANCY: S.VACANCY},
        AGENCY,
        "invalid_transition",
        "Tahap berikutnya dimulai setelah daftar ulang tahap ini ditutup.",
        "next_stage",
    ),
    # After an announcement, the round is solved again from corrected data and announced as its next version
    # (`PUBLISH`). Before or during daftar ulang the status stays (a child newly placed re-registers in the open
    # window); after it, the correction goes through its own announcement and daftar ulang, as a vacancy round.
    Step.CORRECTION_RUN: Rule(
        {S.PUBLISHED: S.PUBLISHED, S.REREGISTRATION: S.REREGISTRATION, S.VACANCY: S.SELECTED},
        AGENCY,
        "period_not_published",
        "Seleksi koreksi dijalankan setelah hasil diumumkan (status {status}).",
        "correction_run",
    ),
}

ALLOWED: Final[dict[PeriodStatus, frozenset[PeriodStatus]]] = {
    status: frozenset(to for rule in TABLE.values() for start, to in rule.moves.items() if start is status)
    for status in PeriodStatus
}
"""Every status change the life cycle knows (staying in a status is not a change)."""


def actor_name(by: Actor) -> str:
    return by.actor if isinstance(by, Principal) else by


def check(period: Period, step: Step, by: Actor) -> PeriodStatus:
    """Refuse `step` in the period's current status, or by the wrong kind of caller; the status it leads to."""
    rule = TABLE[step]
    trigger: Trigger | None = "system"
    if isinstance(by, Principal):
        trigger = "agency" if by.role is Role.AGENCY_ADMIN else None
    if trigger not in rule.by:
        raise Forbidden("forbidden", "Langkah ini hanya dapat dilakukan oleh dinas.")
    if period.status not in rule.moves:
        raise Conflict(rule.code, rule.message.format(status=period.status.value), "status")
    return rule.moves[period.status]


def transition(session: AsyncSession, period: Period, status: PeriodStatus, actor: str) -> Period:
    """Move the period to `status` (audited); a change the table does not allow is refused. Staying is a no-op."""
    old = period.status
    if status is old:
        return period
    if status not in ALLOWED[old]:
        raise Conflict(
            "invalid_transition", f"Status periode tidak dapat berubah dari {old.value} ke {status.value}.", "status"
        )
    period.status = status
    record_period(
        session,
        period.id,
        "period.status",
        actor=actor,
        old={"status": old.value},
        new={"status": status.value},
    )
    return period


def advance(session: AsyncSession, period: Period, step: Step, by: Actor) -> Period:
    """Check a step that is only a status change, and make it."""
    return transition(session, period, check(period, step, by), actor_name(by))


ALL_RULES: Final = frozenset(
    (
        "paths",
        "category",
        "title",
        "quotas",
        "transfers",
        "mechanism",
        "max_choices",
        "keys",
        "requires_zone",
        "out_of_region",
        "required_documents",
        "sub_quotas",
        "score",
        "reference_date",
        "min_age_months",
        "early_min_age_months",
        "max_age_years",
        "kk_min_age_days",
        "age_exemptions",
        "documents",
        "choice_limits",
        "school_quotas",
        "pin_required",
        "stages",
        "stage_lockout",
        "stage_lockout_ranks",
        "complaints",
        "programs",
    )
)
"""What a rules change can touch (`regions.rules.changed_fields`, by kind: `quotas.domisili` is `quotas`,
`paths.domisili.keys` is `keys`)."""

RULE_CHANGES: Final[dict[PeriodStatus, frozenset[str]]] = {
    S.DRAFT: ALL_RULES,
    # The juknis is announced before registration (briefing §5.1) and applicants register against it: their
    # documents, age, KK date, category and choices were validated by these rules, and they chose schools
    # knowing the ranking chain, the zone requirement and the mechanism. Only how seats are divided may still
    # be corrected (a capacity or quota correction, within the national bounds), each change audited and
    # versioned, and recorded on every run; and the masa sanggah, which comes after the announcement.
    S.REGISTRATION_OPEN: frozenset(("quotas", "transfers", "school_quotas", "complaints")),
    # From closing on, the pool is known: no change (a correction re-opens registration first, audited).
}
"""What of the rules may change in each status (a status absent here: nothing)."""

RULE_NAMES: Final = {
    "paths": "daftar jalur",
    "category": "jalur nasional induk",
    "title": "nama tampilan jalur",
    "quotas": "kuota jalur",
    "transfers": "pengalihan kursi",
    "mechanism": "mekanisme seleksi",
    "max_choices": "jumlah pilihan sekolah",
    "keys": "urutan kriteria peringkat",
    "requires_zone": "syarat zona",
    "out_of_region": "pendaftar luar daerah",
    "required_documents": "dokumen wajib",
    "sub_quotas": "sub-kuota",
    "score": "komponen nilai",
    "reference_date": "tanggal acuan usia",
    "min_age_months": "usia minimal",
    "early_min_age_months": "usia minimal dengan surat psikolog",
    "max_age_years": "usia maksimal",
    "kk_min_age_days": "umur minimal KK",
    "age_exemptions": "pengecualian usia",
    "documents": "jenis dokumen",
    "choice_limits": "aturan komposisi pilihan",
    "school_quotas": "kuota khusus sekolah",
    "pin_required": "wajib PIN",
    "stages": "tahap",
    "stage_lockout": "larangan daftar tahap berikutnya",
    "stage_lockout_ranks": "pilihan yang menutup tahap berikutnya",
    "complaints": "masa sanggah",
    "programs": "aturan program SMK",
}


def rule_kind(field: str) -> str:
    """`quotas.domisili` -> `quotas`; `paths.domisili.keys` -> `keys`; `mechanism` -> `mechanism`."""
    parts = field.split(".")
    return parts[2] if parts[0] == "paths" and len(parts) > 2 else parts[0]


def check_rule_changes(period: Period, fields: list[str]) -> None:
    """Refuse (409 `rule_locked`, the first refused field named) a change the period's status no longer allows."""
    allowed = RULE_CHANGES.get(period.status, frozenset())
    if period.stage > 1:  # the stages themselves are the first stage's to set
        allowed -= {"stages", "stage_lockout", "stage_lockout_ranks"}
    for field in fields:
        kind = rule_kind(field)
        if kind in allowed:
            continue
        parts = field.split(".")
        what = RULE_NAMES.get(kind, kind)
        if len(parts) > 1:  # one path's: "kuota jalur domisili", "urutan kriteria peringkat jalur domisili"
            what = ("kuota" if kind == "quotas" else what) + f" jalur {path_title(parts[1])}"
        if period.status is S.REGISTRATION_OPEN:
            kept = ", ".join(RULE_NAMES[k] for k in sorted(allowed))
            message = (
                f"{what.capitalize()} tidak dapat diubah setelah pendaftaran dibuka: pendaftar sudah mendaftar "
                f"dengan aturan ini. Yang masih dapat diubah: {kept}."
            )
        else:
            while_open = " dan ".join(RULE_NAMES[k] for k in sorted(RULE_CHANGES[S.REGISTRATION_OPEN]))
            message = (
                f"{what.capitalize()} tidak dapat diubah lagi (status {period.status.value}): aturan diubah sebelum "
                f"pendaftaran dibuka; {while_open} juga selama pendaftaran dibuka."
            )
        raise Conflict("rule_locked", message, field)
