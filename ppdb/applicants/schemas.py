"""Request and response bodies for registration."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from ppdb.identity import BLANK, VISIBLE
from ppdb.regions.rules import DocumentKind

# No control characters (a NUL would reach PostgreSQL as an error, a newline would forge log lines).
# ...and something visible: a name of only spaces would publish as nothing.
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=rf"^{VISIBLE}[^\x00-\x1f\x7f]+$")]
_INVISIBLE = "\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff"
PersonName = Annotated[
    str,
    msgspec.Meta(
        min_length=1, max_length=200, pattern=rf"^(?=[\s\S]*[^{BLANK}{_INVISIBLE}])[^\x00-\x1f\x7f{_INVISIBLE}]+$"
    ),
]
"""A child's name as printed and published: no control, zero-width or direction-override characters (a name
of nothing visible, or one that reads differently from what it is)."""
Address = Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=rf"^{VISIBLE}[^\x00-\x1f\x7f]+$")]
Latitude = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Longitude = Annotated[float, msgspec.Meta(ge=-180, le=180)]
Code = Annotated[str, msgspec.Meta(max_length=20)]
Name40 = Annotated[str, msgspec.Meta(max_length=40)]
"""A path or sub-quota name as the rules give it (a region's own may be long: `prestasi_non_akademik`)."""
Neighbourhood = Annotated[int, msgspec.Meta(ge=1, le=999)]
"""An RT or RW number."""
KkException = Literal["member_change", "lost_card", "disaster"]


class ApplicationCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A registration. Distances are computed by the server: the client never sends them."""

    nik: Code
    nisn: Code | None = None
    name: PersonName
    sex: Literal["L", "P"]
    birth_date: date
    kk_number: Code
    kk_issued_on: date
    kk_exception: KkException | None = None
    """Why a KK issued less than a year ago still counts; needs a `kk_exception` document."""
    address: Address
    kelurahan_code: Code
    rw: Neighbourhood | None = None
    """The RW and RT of the address: where the region ranks by them, they set the domicile tier."""
    rt: Neighbourhood | None = None
    latitude: Latitude
    longitude: Longitude
    path: Name40
    category: Name40 | None = None
    choices: Annotated[
        list[Code],
        msgspec.Meta(
            max_length=20,
            description="Each chosen school by NPSN, most wanted first; at an SMK its program too: `NPSN/KODE`",
        ),
    ]
    documents: list[DocumentKind] = []
    """Documents the parent declares they hold (uploaded separately)."""
    pin: Annotated[str, msgspec.Meta(min_length=1, max_length=20)] | None = None
    """The child's PIN, where the region requires one (from the origin school, a school or the Dinas)."""


class PinIssue(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    niks: Annotated[
        list[Annotated[str, msgspec.Meta(pattern=r"^[0-9]{16}$")]], msgspec.Meta(min_length=1, max_length=1000)
    ]
    """The children to issue a PIN for, after their KK was checked (an origin school: its own graduates)."""


class PinOut(msgspec.Struct, kw_only=True):
    nik: str
    pin: str
    """Shown this once (only a digest is kept): print it or hand it to the family."""


class Release(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=3, max_length=500, pattern=r"^[^\x00-\x1f\x7f]+$")]
    """What the Dinas checked, e.g. "KK asli dibawa orang tua kandung; akun pendaftar bukan keluarga"."""


class Claim(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pin: Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
    """The child's PIN (given by the school that registered the family)."""


class ApplicationUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A change while registration is open. NIK, birth date and sex cannot change: withdraw and register again."""

    nisn: Code | msgspec.UnsetType | None = msgspec.UNSET
    name: PersonName | msgspec.UnsetType = msgspec.UNSET
    kk_number: Code | msgspec.UnsetType = msgspec.UNSET
    kk_issued_on: date | msgspec.UnsetType = msgspec.UNSET
    kk_exception: KkException | msgspec.UnsetType | None = msgspec.UNSET
    address: Address | msgspec.UnsetType = msgspec.UNSET
    kelurahan_code: Code | msgspec.UnsetType = msgspec.UNSET
    rw: Neighbourhood | msgspec.UnsetType | None = msgspec.UNSET
    rt: Neighbourhood | msgspec.UnsetType | None = msgspec.UNSET
    latitude: Latitude | msgspec.UnsetType = msgspec.UNSET
    longitude: Longitude | msgspec.UnsetType = msgspec.UNSET
    path: Name40 | msgspec.UnsetType = msgspec.UNSET
    category: Name40 | msgspec.UnsetType | None = msgspec.UNSET
    choices: Annotated[list[Code], msgspec.Meta(max_length=20)] | msgspec.UnsetType = msgspec.UNSET
    documents: list[DocumentKind] | msgspec.UnsetType = msgspec.UNSET


class ApplicantOut(msgspec.Struct, kw_only=True):
    nik: str
    nisn: str | None
    name: str
    sex: str
    birth_date: date
    kk_number: str
    kk_issued_on: date
    address: str
    kelurahan_code: str
    rw: int | None = None
    rt: int | None = None
    latitude: float
    longitude: float
    in_region: bool
    coordinate_locked: bool


class ChoiceOut(msgspec.Struct, kw_only=True):
    rank: int
    npsn: str
    school_name: str
    distance_m: float
    """Metres, 2 decimals, computed by the server (haversine) and frozen on submit."""
    in_zone: bool
    zone_priority: int | None
    program: str | None = None
    """At an SMK: the program chosen (kompetensi keahlian), named in `program_name`."""
    program_name: str | None = None
    program_unmet: list[str] | None = None
    """The program's requirements the school found unmet at verification (this choice then takes no part)."""
    program_reason: str | None = None

    @property
    def place(self) -> str:
        """How pages name the choice: the school, or at an SMK "school – program"."""
        return f"{self.school_name} – {self.program_name}" if self.program_name else self.school_name


class DocumentOut(msgspec.Struct, kw_only=True):
    kind: str
    status: str
    content_type: str | None = None
    size_bytes: int | None = None
    reason: str | None = None


class ApplicationOut(msgspec.Struct, kw_only=True, omit_defaults=True):
    registration_number: str
    period_id: int
    status: str
    status_reason: str | None
    path: str
    category: str | None
    kk_exception: str | None
    submitted_at: datetime
    updated_at: datetime
    applicant: ApplicantOut
    choices: list[ChoiceOut]
    documents: list[DocumentOut]
