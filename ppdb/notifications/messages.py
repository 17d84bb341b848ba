"""What each notification says, in Bahasa Indonesia. A message names the registration by its number and links
to the page to act on; it never carries the child's NIK, KK, address or coordinates (the outbox holds only the
parameters below, and `tests/integration/notifications` scans what is sent)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any


@dataclass(frozen=True, slots=True)
class Template:
    subject: str
    text: str
    """`str.format` over the notification's parameters and `link` (the public address + its `path`)."""
    sensitive: bool = False
    """Its parameters are a secret (a reset link): wiped from the outbox once sent."""
    expires: timedelta | None = None
    """Not sent later than this after it was written (then given up)."""


TEMPLATES: dict[str, Template] = {
    "registration_received": Template(
        "Pendaftaran {registration_number} diterima",
        "Pendaftaran dengan nomor {registration_number} sudah kami terima. Ikuti status dan peringkat sementaranya "
        "di {link}",
    ),
    "document_rejected": Template(
        "Dokumen pendaftaran {registration_number} ditolak",
        "Dokumen {document} pada pendaftaran {registration_number} ditolak verifikator: {reason}. Unggah dokumen "
        "yang benar sebelum batas verifikasi di {link}",
    ),
    "program_unmet": Template(
        "Pendaftaran {registration_number}: syarat program keahlian",
        "Sekolah mendapati syarat program {program} tidak terpenuhi ({requirements}): {reason}. Pilihan ini tidak "
        "diikutkan seleksi; pilihan lain tetap. {advice} {link}",
    ),
    "choices_at_risk": Template(
        "Pendaftaran {registration_number}: semua pilihan berisiko",
        "Menurut perhitungan sementara, pendaftaran {registration_number} saat ini tidak masuk di semua sekolah "
        "pilihan. Pertimbangkan mengganti pilihan sebelum pendaftaran ditutup: {link}",
    ),
    "result_published": Template(
        "Hasil seleksi sudah diumumkan",
        "Hasil seleksi untuk pendaftaran {registration_number} sudah diumumkan. Lihat hasil dan langkah "
        "berikutnya di {link}",
    ),
    "reregistration_due": Template(
        "Batas daftar ulang: {deadline}",
        "Pendaftaran {registration_number} diterima. Batas daftar ulang {deadline}; tanpa daftar ulang, kursinya "
        "dilepas untuk pendaftar lain. Daftar ulang di {link}",
    ),
    "complaint_received": Template(
        "Pengaduan {number} diterima",
        "Pengaduan Anda tercatat dengan nomor {number}. Dinas memeriksanya dan memberi keputusan dengan alasannya; "
        "ikuti perkembangannya di {link}",
    ),
    "complaint_decided": Template(
        "Pengaduan {number} {status}",
        "Pengaduan {number} {status} oleh Dinas: {reason}. Rinciannya di {link}",
    ),
    "password_reset": Template(
        "Atur ulang kata sandi PPDB",
        "Ada permintaan mengatur ulang kata sandi akun PPDB Anda. Buka tautan ini dalam 30 menit: {link} . "
        "Abaikan pesan ini bila Anda tidak memintanya; kata sandi Anda tetap.",
        sensitive=True,
        expires=timedelta(minutes=30),
    ),
}


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    text: str


def render(kind: str, params: dict[str, Any], base_url: str) -> Message:
    """The message of a notification (KeyError: a kind or parameter this version does not know)."""
    template = TEMPLATES[kind]
    values = {**params, "link": base_url.rstrip("/") + params.get("path", "/")}
    return Message(template.subject.format(**values), template.text.format(**values))


def scrub(text: str) -> str:
    """Free text a person wrote (a verifier's reason), without long digit runs: a NIK or KK typed into it
    does not travel in a message."""
    return re.sub(r"\d[\d .-]{6,}\d", "…", text)
