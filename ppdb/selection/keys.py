"""Ranking keys in words: their labels, which are private, and numbers written the Indonesian way."""

from __future__ import annotations

from typing import Final

PRIVATE_KEYS: Final = frozenset({"lottery", "submitted_at"})
"""Never shown for another child: with the published seed a lottery number gives away the NIK."""
DAYS_PER_MONTH: Final = 30.4375
"""A mean month (365.25 / 12): ages are stored in days and shown in whole months."""

# key -> (short label for a comparison, how the path uses it in a sentence)
WORDS: Final[dict[str, tuple[str, str]]] = {
    "distance": ("jarak", "jarak rumah ke sekolah (yang lebih dekat didahulukan)"),
    "age": ("usia", "usia pada 1 Juli (yang lebih tua didahulukan)"),
    "age_months": ("usia", "usia pada 1 Juli (yang lebih tua didahulukan)"),
    "score": ("nilai", "nilai (yang lebih tinggi didahulukan)"),
    "zone_priority": ("prioritas zona", "prioritas zona (zona 1 didahulukan)"),
    "choice_rank": ("urutan pilihan", "urutan pilihan (pilihan pertama didahulukan)"),
    "lottery": ("undian", "nomor undian yang diumumkan (penentu terakhir bila semua sama)"),
    "submitted_at": ("waktu daftar", "waktu pendaftaran (yang lebih awal didahulukan)"),
}


def _part(name: str) -> str:
    """A part of the score in words: `score:indeks_sekolah` "indeks sekolah", `rapor:ipa` "rata-rata ipa"."""
    kind, colon, part = name.partition(":")
    return ("rata-rata " if kind == "rapor" else "") + part.replace("_", " ") if colon else name


def label(name: str) -> str:
    """The short word for a key: "jarak", "usia", ..."""
    return WORDS[name][0] if name in WORDS else _part(name)


def in_words(names: list[str]) -> list[str]:
    """A path's ranking order, one phrase per key."""
    return [WORDS[n][1] if n in WORDS else f"{_part(n)} (yang lebih tinggi didahulukan)" for n in names]


def number(value: float, decimals: int = 2) -> str:
    """Indonesian digit grouping: 1.432,10"""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".")


def metres(value: float | None) -> str:
    """A distance for people: 1.432,10 m ("–" when there is none)."""
    return "–" if value is None else f"{number(value)} m"


def describe(name: str, value: float) -> str:
    """One key component in human terms (keys are stored so that smaller is better)."""
    if name == "distance":
        return metres(value)
    if name in ("age", "age_months"):
        months = int(-value) if name == "age_months" else int(-value // DAYS_PER_MONTH)
        return f"{months // 12} tahun {months % 12} bulan"
    if name == "score":
        return "nilai belum ada" if value > 0 else f"nilai {number(-value)}"
    if name.startswith(("score:", "rapor:")):
        return f"{_part(name)} belum ada" if value > 0 else f"{_part(name)} {number(-value)}"
    if name == "zone_priority":
        return f"prioritas zona {int(value)}"
    if name == "choice_rank":
        return f"pilihan ke-{int(value)}"
    if name == "lottery":
        return f"nomor undian {int(value)}"
    return f"{value:g}"
