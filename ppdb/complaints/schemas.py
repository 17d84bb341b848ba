"""Request and response bodies for complaints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

CaseNumber = Annotated[str, msgspec.Meta(pattern=r"^ADU-[0-9A-Z]{8}$", description="A complaint, e.g. ADU-7K3M9Q2X")]
Text = Annotated[str, msgspec.Meta(min_length=10, max_length=2000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+$")]
Reason = Annotated[str, msgspec.Meta(min_length=3, max_length=1000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+$")]
Number = Annotated[str, msgspec.Meta(pattern=r"^[0-9A-Z-]{1,24}$")]
Npsn = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{8}$")]


class ComplaintIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    category: Literal["registration", "verification", "result", "fraud"]
    """`registration`, `verification`, `result`: about the family's own registration (`registration_number`);
    `fraud`: a suspected fraud by someone else, at a school (`npsn`), possibly anonymous."""
    text: Text
    registration_number: Number | None = None
    """The family's own registration (required except for `fraud`)."""
    npsn: Npsn | None = None
    """The school concerned (a fraud report names one)."""


class Follow(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
    """The code given when an anonymous report was filed."""


class Move(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The Dinas' next step on a case: review it, or decide it with a reason (shown to the complainant)."""

    status: Literal["in_review", "upheld", "rejected"]
    reason: Reason | None = None
    """Required for a decision."""
    registration_number: Number | None = None
    """The registration a fraud report turned out to be about (the one corrections then apply to)."""


class EventOut(msgspec.Struct, kw_only=True):
    status: str
    actor: str
    reason: str | None
    at: datetime


class EvidenceOut(msgspec.Struct, kw_only=True):
    id: int
    content_type: str
    size_bytes: int
    uploaded_at: datetime


class CorrectionOut(msgspec.Struct, kw_only=True):
    registration_number: str
    action: str
    at: datetime
    run_id: int | None
    """The correction run that took it in (None: not yet run)."""


class ComplaintOut(msgspec.Struct, kw_only=True):
    number: str
    period_id: int
    category: str
    status: str
    registration_number: str | None
    npsn: str | None
    school_name: str | None
    text: str
    anonymous: bool
    filed_at: datetime
    due_at: datetime
    decided_at: datetime | None
    events: list[EventOut]
    files: list[EvidenceOut]
    corrections: list[CorrectionOut]
    code: str | None = None
    """Only in the answer to an anonymous report: what follows it (shown once, kept nowhere in clear)."""


class ComplaintRow(msgspec.Struct, kw_only=True):
    """A case in the staff's list."""

    number: str
    category: str
    status: str
    registration_number: str | None
    npsn: str | None
    filed_at: datetime
    due_at: datetime
    overdue: bool
