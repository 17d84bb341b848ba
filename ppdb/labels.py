"""Names a parent reads: the national paths, their categories and every status, in Bahasa Indonesia.

One table for the API's messages and the pages. A region's own path is named by its rules (`PathRule.title`);
document kinds by theirs (`RuleSet.document_title`)."""

from __future__ import annotations

PATH_NAMES = {
    "domisili": "Domisili",
    "zonasi": "Zonasi",
    "afirmasi": "Afirmasi",
    "mutasi": "Mutasi",
    "perpindahan_tugas": "Perpindahan tugas orang tua",
    "prestasi": "Prestasi",
}
CATEGORY_NAMES = {
    "ketm": "Keluarga ekonomi tidak mampu (KETM)",
    "panti": "Anak panti asuhan",
    "ats": "Anak tidak sekolah (ATS)",
    "disabilitas": "Penyandang disabilitas",
}
"""A path's categories (its sub-quotas a child declares) in words; others by their name."""
STATUS_NAMES = {
    "draft": "Persiapan",
    "registration_open": "Pendaftaran dibuka",
    "registration_closed": "Pendaftaran ditutup",
    "selected": "Seleksi selesai",
    "published": "Hasil diumumkan",
    "reregistration": "Daftar ulang",
    "vacancy": "Pengisian kursi kosong",
    "submitted": "Terkirim",
    "verified": "Terverifikasi",
    "rejected": "Ditolak",
    "withdrawn": "Dicabut",
    "disqualified": "Didiskualifikasi",
    "uploaded": "Terunggah",
    "missing": "Belum diunggah",
    "declared": "Dinyatakan ada, berkas belum diunggah",
}
"""Every period, application and document status (tests/unit/test_labels.py keeps it complete)."""


def _words(name: str) -> str:
    return name.replace("_", " ").capitalize()


def category_title(name: str) -> str:
    return CATEGORY_NAMES.get(name, _words(name))


def path_title(name: str, title: str | None = None) -> str:
    """A path, or a path with its sub-quota (`afirmasi/ketm`), in words: "Afirmasi – Keluarga ekonomi …";
    `title`: the region's own name for the path."""
    path, _, category = name.partition("/")
    title = title or PATH_NAMES.get(path, _words(path))
    return f"{title} – {category_title(category)}" if category else title


def status_title(status: str) -> str:
    return STATUS_NAMES.get(status, status)
