"""What every page shares: rendering, errors shown in Bahasa Indonesia, form parsing, plain-word labels."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.response import Redirect, Template
from markupsafe import Markup

from ppdb.accounts.models import Role
from ppdb.errors import HTTP_CODES, AppError, DatabaseUnavailable, database_unreachable
from ppdb.regions.rules import NATIONAL_DOCUMENTS, RuleSet
from ppdb.reregistration import service as reregistration
from ppdb.reregistration.models import Decision
from ppdb.selection.keys import in_words as keys_in_words
from ppdb.selection.keys import metres, number
from ppdb.shedding import RETRY_AFTER_SECONDS
from ppdb.verification.schemas import Flag
from ppdb.web import assets

log = logging.getLogger("ppdb")
PATH_NAMES = {
    "domisili": "Domisili",
    "zonasi": "Zonasi",
    "afirmasi": "Afirmasi",
    "mutasi": "Mutasi",
    "perpindahan_tugas": "Perpindahan tugas orang tua",
    "prestasi": "Prestasi",
}
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
}
# A label for each of the API's flags (`verification.schemas.Flag`, the same names: tests/unit/test_labels.py).
FLAG_NAMES: dict[Flag, str] = {
    "kk_recent": "KK baru (< 1 tahun)",
    "kk_many_children": "Banyak anak dalam satu KK",
    "shared_coordinate": "Banyak pendaftar di satu titik",
    "far_from_kelurahan": "Titik jauh dari kelurahan",
    "coordinate_moved": "Titik dipindah setelah mendaftar",
    "nik_birthdate_mismatch": "NIK tidak cocok dengan tanggal lahir",
    "graduate_mismatch": "Berbeda dengan daftar lulusan sekolah asal",
    "rapor_jump": "Rata-rata rapor sekolah asal melonjak",
    "certificate_reused": "Sertifikat sama dengan milik anak lain",
}
FIELD_MESSAGES = {"required": "Wajib diisi.", "invalid": "Isian tidak valid; periksa kembali formatnya."}
HOME = {Role.PARENT: "/orangtua", Role.SCHOOL_OPERATOR: "/sekolah", Role.AGENCY_ADMIN: "/dinas"}


WIB = timezone(timedelta(hours=7), "WIB")


def wib(moment: datetime, pattern: str = "%d-%m-%Y %H:%M") -> str:
    """Times as the region reads them (WIB; regions in WITA/WIT would set their own zone)."""
    return moment.astimezone(WIB).strftime(pattern) + " WIB"


def render(request: Request, template: str, *, status: int = 200, **context: Any) -> Template:
    return Template(
        template_name=template,
        status_code=status,
        context={
            "user": request.scope.get("user"),
            "csrf": request.scope.get("csrf_token", ""),
            "path_name": path_name,
            "status_name": lambda s: STATUS_NAMES.get(str(s), str(s)),
            "metres": metres,
            "idn_number": number,
            "wib": wib,
            "keys_in_words": keys_in_words,
            "document_name": document_namer(context.get("rules")),
            "flag_name": lambda f: FLAG_NAMES.get(f, f),
            "home_of": lambda u: HOME.get(u.role, "/") if u else "/",
            "asset": assets.url,
            "page_css": Markup(assets.PAGE_CSS),
            **context,
        },
    )


def document_namer(rules: RuleSet | None) -> Callable[[str], str]:
    """A document kind's title: the period's when its rules are on the page, else the national one."""
    if rules is not None:
        return rules.document_title
    national = {d.kind: d.title for d in NATIONAL_DOCUMENTS}
    return lambda kind: national.get(kind, kind.replace("_", " "))


def path_name(name: str) -> str:
    return PATH_NAMES.get(name, name.replace("_", " ").capitalize())


def error_page(request: Request, status: int, message: str) -> Template:
    return render(request, "error.html", status=status, message=message)


class FormErrors(Exception):
    """Errors to show next to their fields; the form is shown again with what the user typed."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("form errors")
        self.errors = errors


def field_errors(exc: AppError) -> dict[str, str]:
    """An AppError names its field; row-level details (CSV) are listed by the page itself."""
    field = (exc.field or "_form").split(".")[0].split("[")[0]
    return {field: exc.message}


def convert(values: dict[str, Any], type_: type, required: tuple[str, ...] = ()) -> Any:
    """Form values -> a service's msgspec Struct, or FormErrors in Bahasa Indonesia next to each field."""
    errors = {name: FIELD_MESSAGES["required"] for name in required if values.get(name) in (None, "", [])}
    if errors:
        raise FormErrors(errors)
    clean = {k: v for k, v in values.items() if v not in (None, "")}
    try:
        return msgspec.convert(clean, type_, strict=False)
    except msgspec.ValidationError as err:
        match = re.search(r"\$\.([a-z_]+)", str(err))
        raise FormErrors({match.group(1) if match else "_form": FIELD_MESSAGES["invalid"]}) from None


def login_redirect(request: Request) -> Redirect:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Redirect(f"/masuk?next={quote(target)}")


def app_error_handler(request: Request, exc: AppError) -> Response:
    if exc.status_code == 401:
        return login_redirect(request)
    return error_page(request, exc.status_code, exc.message)


def http_error_handler(request: Request, exc: HTTPException) -> Response:
    if isinstance(exc, NotAuthorizedException):
        return login_redirect(request)
    if isinstance(exc, ValidationException):
        return error_page(request, 400, "Data yang dikirim tidak valid. Periksa isian lalu coba lagi.")
    message = HTTP_CODES.get(exc.status_code, ("", "Permintaan tidak dapat diproses."))[1]
    return error_page(request, exc.status_code, message)


def internal_error_handler(request: Request, exc: Exception) -> Response:
    if database_unreachable(exc):
        log.warning("database unreachable on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        page = error_page(request, 503, DatabaseUnavailable().message)
        page.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return page
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_page(request, 500, "Terjadi kesalahan pada server. Silakan coba lagi.")


PAGE_EXCEPTION_HANDLERS = {AppError: app_error_handler, HTTPException: http_error_handler, 500: internal_error_handler}


def form_value(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


async def reregister_from_form(request: Request, session: Any, registration_number: str) -> None:
    """Daftar ulang from a page form (the parent's or the school's): confirm or decline the seat."""
    decision = form_value(await request.form(), "decision")
    if decision not in ("confirmed", "declined"):
        raise AppError("decision_invalid", "Pilih konfirmasi atau tolak kursi.", "decision")
    await reregistration.decide(session, registration_number, request.user, Decision(decision))
