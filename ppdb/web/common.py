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
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.response import Redirect, Template
from markupsafe import Markup

from ppdb.accounts.models import Role
from ppdb.errors import HTTP_CODES, AppError, DatabaseUnavailable, database_unreachable
from ppdb.labels import category_title, path_title, status_title
from ppdb.regions.rules import NATIONAL_DOCUMENTS, RuleSet
from ppdb.reregistration import service as reregistration
from ppdb.reregistration.models import Decision
from ppdb.selection.keys import in_words as keys_in_words
from ppdb.selection.keys import metres, number
from ppdb.shedding import RETRY_AFTER_SECONDS
from ppdb.verification.schemas import Flag
from ppdb.web import assets

log = logging.getLogger("ppdb")
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
# Pages with a child's NIK and KK in full are never kept by the browser (a school laptop or a family phone is
# shared; nor shown from its cache on Back): the others are answered 304 when unchanged (`http_cache.PageETags`).
NO_STORE = CacheControlHeader(no_store=True)


def wib(moment: datetime, pattern: str = "%d-%m-%Y %H:%M") -> str:
    """Times as the region reads them (WIB; regions in WITA/WIT would set their own zone)."""
    return moment.astimezone(WIB).strftime(pattern) + " WIB"


def render(request: Request, template: str, *, status: int = 200, **context: Any) -> Template:
    rules = context.get("rules") or getattr(context.get("period"), "rules", None)
    return Template(
        template_name=template,
        status_code=status,
        context={
            "user": request.scope.get("user"),
            "csrf": request.scope.get("csrf_token", ""),
            "path_name": rules.path_label if isinstance(rules, RuleSet) else path_title,
            "status_name": lambda s: status_title(str(s)),
            "metres": metres,
            "idn_number": number,
            "wib": wib,
            "keys_in_words": keys_in_words,
            "document_name": document_namer(rules if isinstance(rules, RuleSet) else None),
            "flag_name": lambda f: FLAG_NAMES.get(f, f),
            "category_name": category_title,
            "home_of": lambda u: HOME.get(u.role, "/") if u else "/",
            "asset": assets.url,
            "flash": DONE.get(request.query_params.get("pesan", "")),
            "page_css": Markup(assets.PAGE_CSS),
            **context,
        },
    )


FILES = {"files": True}
"""A route's `opt` for stored files and PDFs: already compressed, or not worth it (pages' compression skips them)."""

DONE = {
    "akun-dibuat": "Akun berhasil dibuat dan Anda sudah masuk.",
    "dicabut": "Pendaftaran telah dicabut. Semua pilihan sekolahnya dibatalkan.",
    "kursi-dikonfirmasi": "Kursi dikonfirmasi. Simpan bukti pendaftaran; sekolah akan menghubungi Anda.",
    "kursi-ditolak": "Kursi ditolak dan dilepas untuk pendaftar lain.",
    "daftar-ulang-tercatat": "Daftar ulang untuk pendaftaran ini sudah tercatat.",
    "koordinat-dikunci": "Koordinat rumah diverifikasi dan dikunci.",
    "buka": "Pendaftaran dibuka.",
    "tutup": "Pendaftaran ditutup.",
    "seleksi": "Seleksi resmi selesai. Periksa hasilnya, lalu umumkan.",
    "umumkan": "Hasil seleksi diumumkan.",
    "daftar-ulang": "Daftar ulang dibuka.",
    "tutup-daftar-ulang": "Daftar ulang ditutup; kursi yang tidak dikonfirmasi dilepas.",
    "kursi-kosong": "Seleksi kursi kosong selesai.",
    "seleksi-koreksi": "Seleksi koreksi selesai. Periksa hasilnya, lalu umumkan.",
    "tahap-berikutnya": "Tahap berikutnya dibuat. Periksa jadwal dan kuotanya, lalu buka pendaftaran.",
}
"""What a finished action says on the page it returns to (`?pesan=<code>`): only these words, never the query's."""


def finished(path: str, code: str) -> Redirect:
    """Back to `path`, saying what was done (`DONE`)."""
    return Redirect(f"{path}?pesan={code}")


def ask_first(
    request: Request, form: Any, *, title: str, consequence: str, button: str, back: str, style: str = "danger"
) -> Template | None:
    """An action that cannot be undone asks once more, on a page of its own (so it works without JavaScript):
    what will happen, the button again, and the way back. None once the form says yes."""
    if form_value(form, "yakin") == "1":
        return None
    fields = [(k, v) for k, v in form.multi_items() if k not in ("_csrf", "yakin") and isinstance(v, str)]
    return render(
        request,
        "confirm.html",
        title=title,
        consequence=consequence,
        button=button,
        back=back,
        style=style,
        action=request.url.path,
        fields=fields,
    )


def document_namer(rules: RuleSet | None) -> Callable[[str], str]:
    """A document kind's title: the period's when its rules are on the page, else the national one."""
    if rules is not None:
        return rules.document_title
    national = {d.kind: d.title for d in NATIONAL_DOCUMENTS}
    return lambda kind: national.get(kind, kind.replace("_", " "))


def error_page(request: Request, status: int, message: str) -> Template:
    return render(request, "error.html", status=status, message=message)


class FormErrors(Exception):
    """Errors to show next to their fields; the form is shown again with what the user typed."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("form errors")
        self.errors = errors


def field_errors(exc: AppError) -> dict[str, str]:
    """An AppError's message next to its field, and each of its other refusals next to theirs (a registration's
    are reported at once); row-level details (CSV) are listed by the page itself."""
    errors: dict[str, str] = {}
    for field, message in [(exc.field, exc.message)] + [
        (d.get("field"), d["message"]) for d in exc.details or () if "row" not in d and "message" in d
    ]:
        errors.setdefault((field or "_form").split(".")[0].split("[")[0], message)
    return errors


def convert(values: dict[str, Any], type_: type, required: tuple[str, ...] = ()) -> Any:
    """Form values -> a service's msgspec Struct, or FormErrors in Bahasa Indonesia next to each field: every
    missing and every malformed field at once (msgspec alone stops at the first)."""
    missing = {name: FIELD_MESSAGES["required"] for name in required if values.get(name) in (None, "", [])}
    clean = {k: v for k, v in values.items() if v not in (None, "")}
    if not missing:
        try:
            return msgspec.convert(clean, type_, strict=False)
        except msgspec.ValidationError as err:
            first = re.search(r"\$\.([a-z_]+)", str(err))
    fields = {f.name: f.type for f in msgspec.structs.fields(type_)}
    bad = {name: FIELD_MESSAGES["invalid"] for name, value in clean.items() if not _fits(value, fields.get(name))}
    if not missing and not bad:  # a rule between fields, or an unknown one: where msgspec stopped
        bad = {first.group(1) if first else "_form": FIELD_MESSAGES["invalid"]}
    raise FormErrors(missing | bad)


def _fits(value: Any, type_: Any) -> bool:
    if type_ is None:
        return True
    try:
        msgspec.convert(value, type_, strict=False)
    except msgspec.ValidationError:
        return False
    return True


def login_redirect(request: Request) -> Redirect:
    """To sign in, then back; a form sent without a session (it ended meanwhile) is said to be kept."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    ended = "&sesi=berakhir" if request.method == "POST" else ""
    return Redirect(f"/masuk?next={quote(target)}{ended}")


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


async def reregister_from_form(request: Request, session: Any, registration_number: str, back: str) -> Response:
    """Daftar ulang from a page form (the parent's or the school's): confirm or decline the seat, after a second
    look; a decision already recorded is shown, not refused."""
    form = await request.form()
    decision = form_value(form, "decision")
    if decision not in ("confirmed", "declined"):
        raise AppError("decision_invalid", "Pilih konfirmasi atau tolak kursi.", "decision")
    confirm = decision == "confirmed"
    asked = ask_first(
        request,
        form,
        title="Konfirmasi kursi?" if confirm else "Tolak kursi?",
        consequence=(
            f"Pendaftaran {registration_number} mengambil kursinya; keputusan ini tidak dapat diubah."
            if confirm
            else f"Kursi pendaftaran {registration_number} dilepas untuk pendaftar lain dan tidak dapat diminta kembali."
        ),
        button="Ya, konfirmasi kursi" if confirm else "Ya, tolak kursi",
        back=back,
        style="primary" if confirm else "danger",
    )
    if asked is not None:
        return asked
    try:
        await reregistration.decide(session, registration_number, request.user, Decision(decision))
    except AppError as err:
        if err.code != "already_decided":
            raise
        return finished(back, "daftar-ulang-tercatat")
    return finished(back, "kursi-dikonfirmasi" if confirm else "kursi-ditolak")
