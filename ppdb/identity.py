"""Indonesian identity numbers: NIK (with its embedded birth date), NISN, KK, kelurahan codes."""

from __future__ import annotations

import re
from datetime import date

BLANK = r"\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
"""Spaces and control characters, for a regex character class: spelt out, since Python (the server) and
ECMAScript (the JSON Schema a client validates with) read the class of spaces differently (U+0085, U+FEFF)."""
VISIBLE = rf"(?=[\s\S]*[^{BLANK}])"
"""A lookahead for at least one character that is neither (any character spelt as a class of spaces and
non-spaces: the engines also read the dot differently, on U+2028)."""
EMAIL_PATTERN = rf"^[^@{BLANK}]+@[^@{BLANK}]+\.[^@{BLANK}]+$"
"""An e-mail address as typed: no spaces or control characters anywhere (a NUL is an error for PostgreSQL)."""

# ASCII digits only, matched with fullmatch: `\d` would take other scripts' digits and `$` a trailing newline.
NIK = re.compile(r"[0-9]{16}")
NISN = re.compile(r"[0-9]{10}")
KK = re.compile(r"[0-9]{16}")
KELURAHAN = re.compile(r"[0-9]{2}\.[0-9]{2}\.[0-9]{2}\.[0-9]{4}")
"""Kemendagri code: province.kabkota.kecamatan.desa, e.g. 36.71.01.1001."""


def nik_birth_parts(nik: str) -> tuple[int, int, int, str] | None:
    """(day, month, two-digit year, sex) encoded in digits 7-12 (DDMMYY, day + 40 for girls), or None."""
    day, month, year = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    sex = "L"
    if day > 40:
        day, sex = day - 40, "P"
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return None
    return day, month, year, sex


def nik_matches(nik: str, birth_date: date, sex: str) -> bool:
    parts = nik_birth_parts(nik)
    return parts is not None and parts == (birth_date.day, birth_date.month, birth_date.year % 100, sex)


def nik_for(region_digits: str, birth_date: date, sex: str, serial: int) -> str:
    """Build a well-formed NIK (used by the demo generator and tests)."""
    day = birth_date.day + (40 if sex == "P" else 0)
    return f"{region_digits[:6]:0<6}{day:02d}{birth_date.month:02d}{birth_date.year % 100:02d}{serial:04d}"


def age_on(birth_date: date, reference: date) -> tuple[int, int, int]:
    """Completed (years, months, days) at `reference`, as a registrar counts them."""
    months = (reference.year - birth_date.year) * 12 + reference.month - birth_date.month
    if reference.day < birth_date.day:
        months -= 1
    return months // 12, months % 12, (reference - birth_date).days


def completed_months(birth_date: date, reference: date) -> int:
    years, months, _ = age_on(birth_date, reference)
    return years * 12 + months
