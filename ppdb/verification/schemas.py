"""Request and response bodies for verification."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

import msgspec

from ppdb.applicants.schemas import DocumentOut
from ppdb.scores.formula import CertificateLevel

Reason = Annotated[str, msgspec.Meta(min_length=3, max_length=500, pattern=r"^[^\x00-\x1f\x7f]+$")]
Case = Annotated[str, msgspec.Meta(pattern=r"^ADU-[0-9A-Z]{8}$")]
"""An upheld complaint the correction is made for (agency only): linked in the audit log, and taken in by the next
correction run."""


Flag = Literal[
    "kk_recent",
    "kk_many_children",
    "shared_coordinate",
    "far_from_kelurahan",
    "coordinate_moved",
    "nik_birthdate_mismatch",
    "graduate_mismatch",
    "rapor_jump",
    "certificate_reused",
]
"""What an operator should look at twice: a KK issued within the year, many children on one KK, many
applicants at one point, a point far from the declared kelurahan, a point moved after registering, a NIK whose
encoded birth date differs from the declared one, a child whose NISN or birth date differs from the origin
school's graduate list, an origin school whose rapor average jumped over its previous year's, a certificate file or number another child
also registered with."""


class DocumentDecision(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    decision: Literal["verified", "rejected"]
    reason: Reason | None = None
    """Required when rejecting; shown to the parent."""
    complaint: Case | None = None


class ProgramCheck(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The school's finding on the requirements of a program the child chose (no colour blindness, a minimum
    height, a health certificate, a kelas industri partner's test): those unmet, by name, with the reason shown
    to the parent; none unmet clears an earlier finding."""

    program: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{8}/[A-Za-z0-9-]{1,10}$", examples=["20690001/TKJ"])]
    """The program as chosen: `NPSN/KODE`."""
    unmet: Annotated[list[Annotated[str, msgspec.Meta(max_length=40)]], msgspec.Meta(max_length=20)]
    reason: Reason | None = None
    """Required when a requirement is unmet, e.g. "Tes Ishihara: buta warna parsial"."""
    complaint: Case | None = None
    """After the selection has run, a finding changes only for an upheld complaint (the agency's correction)."""


class CertificateCheck(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What the destination school read on the certificate; the points follow from the region's table."""

    level: CertificateLevel
    rank: Annotated[int, msgspec.Meta(ge=1, le=10)]
    """Juara 1, 2, 3, …"""
    team: bool = False
    """A team's (beregu) certificate."""
    issued_on: date
    number: Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")] | None = None
    """The certificate's number, as printed (to find the same certificate registered twice)."""
    complaint: Case | None = None
    """After the selection has run, the points change only for an upheld complaint (the agency's correction)."""


class CertificateOut(msgspec.Struct, kw_only=True):
    level: str
    rank: int
    team: bool
    issued_on: date
    number: str | None
    points: float
    words: str


class CoordinateCorrection(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    latitude: Annotated[float, msgspec.Meta(ge=-90, le=90)]
    longitude: Annotated[float, msgspec.Meta(ge=-180, le=180)]
    reason: Reason
    complaint: Case | None = None


class Disqualification(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    reason: Reason
    complaint: Case | None = None


class ApplicantRow(msgspec.Struct, kw_only=True):
    """One applicant as a verifier sees them: enough to check, nothing more."""

    registration_number: str
    name: str
    birth_date: date
    path: str
    status: str
    choice_rank: int
    program: str | None = None
    """At an SMK: the program chosen at this rank (a child may choose two of the school's)."""
    program_unmet: bool = False
    """The school found a requirement of that program unmet."""
    distance_m: float
    in_zone: bool
    coordinate_locked: bool
    documents: list[DocumentOut]
    flags: list[Flag]
