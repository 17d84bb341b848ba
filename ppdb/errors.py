"""Errors users see: a stable machine code, a message in Bahasa Indonesia, the offending field."""

from __future__ import annotations

import errno
import logging
import re
import socket

import asyncpg
import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError

log = logging.getLogger("ppdb")


class ErrorBody(msgspec.Struct, omit_defaults=True):
    code: str
    message: str
    field: str | None = None
    details: list[dict] | None = None


class AppError(Exception):
    status_code = 422

    def __init__(
        self,
        code: str,
        message: str,
        field: str | None = None,
        *,
        status_code: int | None = None,
        details: list[dict] | None = None,
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.field, self.details = code, message, field, details
        if status_code is not None:
            self.status_code = status_code


class NotFound(AppError):
    status_code = 404


class Conflict(AppError):
    status_code = 409


class Unauthenticated(AppError):
    status_code = 401


class Forbidden(AppError):
    status_code = 403


class ApplicationWithdrawn(Conflict):
    """A withdrawn registration is final: nothing more is done with it, by the family or by staff."""

    def __init__(self) -> None:
        super().__init__("application_withdrawn", "Pendaftaran ini sudah dicabut.", "status")


OVERLOADED = (
    "Server sedang sangat sibuk. Silakan coba lagi dalam beberapa detik; data yang sudah tersimpan tidak hilang."
)


class Overloaded(AppError):
    """Shed: more work than this worker takes on at once (answered with Retry-After)."""

    status_code = 503

    def __init__(self) -> None:
        super().__init__("overloaded", OVERLOADED)


class DatabaseUnavailable(AppError):
    """The database could not be reached (restarting, failing over, a pooler down): try again shortly."""

    status_code = 503

    def __init__(self) -> None:
        super().__init__("database_unavailable", "Layanan sedang tersambung ulang ke basis data. Coba lagi sebentar.")


_UNREACHABLE = (
    ConnectionError,  # refused, reset, aborted
    TimeoutError,
    socket.gaierror,
    asyncpg.PostgresConnectionError,  # the connection does not exist (any more)
    asyncpg.CannotConnectNowError,  # starting up, shutting down, in recovery
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)


def database_unreachable(error: BaseException | None) -> bool:
    """Whether `error`, or anything it was raised from, says the database is out of reach (not a wrong query)."""
    while error is not None:
        if isinstance(error, _UNREACHABLE):
            return True
        if isinstance(error, OSError) and error.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return True
        if isinstance(error, asyncpg.InterfaceError) and "connection is closed" in str(error):
            return True
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            return True
        error = getattr(error, "orig", None) or error.__cause__ or error.__context__
    return False


def _body(status: int, body: ErrorBody) -> Response[ErrorBody]:
    return Response(body, status_code=status)


def app_error_handler(_: Request, exc: AppError) -> Response[ErrorBody]:
    response = _body(exc.status_code, ErrorBody(exc.code, exc.message, exc.field, exc.details))
    if exc.status_code == 503:  # shed: tell the client when to come back
        from ppdb.shedding import RETRY_AFTER_SECONDS

        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `(?P<name>[^`]*)`")
_MISSING_FIELD = re.compile(r"^Object missing required field `(?P<name>[^`]*)`")


def validation_handler(_: Request, exc: ValidationException) -> Response[ErrorBody]:
    details = exc.extra if isinstance(exc.extra, list) else None
    first = details[0] if details and isinstance(details[0], dict) else {}
    message, field = str(first.get("message") or ""), str(first.get("key") or "") or None
    if first.get("source") == "body":
        # Litestar names where in the body msgspec stopped (`transfers[0]`), or `data` for the body itself.
        where = "" if field == "data" else field or ""
        if unknown := _UNKNOWN_FIELD.match(message):
            # A misspelt field would otherwise be a change silently not made: refused, by name, on every route.
            name = _joined(where, unknown.group("name"))
            text = f"Kolom '{name}' tidak dikenal; periksa ejaannya (kolom yang tidak didukung tidak diproses)."
            return _body(400, ErrorBody("unknown_field", text, name, details))
        if missing := _MISSING_FIELD.match(message):
            field = _joined(where, missing.group("name"))
    return _body(400, ErrorBody("invalid_request", f"Data tidak valid: {exc.detail}", field, details))


def _joined(*parts: str) -> str:
    return ".".join(part for part in parts if part)


HTTP_CODES = {
    400: ("invalid_request", "Permintaan tidak valid (periksa format JSON dan tipe data)."),
    401: ("login_required", "Silakan masuk terlebih dahulu."),
    403: ("forbidden", "Anda tidak berwenang melakukan ini."),
    404: ("not_found", "Tidak ditemukan."),
    405: ("method_not_allowed", "Metode tidak didukung untuk alamat ini."),
    408: ("request_timeout", "Data permintaan terlalu lama terkirim. Periksa koneksi lalu coba lagi."),
    413: ("request_too_large", "Permintaan terlalu besar."),
    415: ("unsupported_media_type", "Jenis konten tidak didukung."),
}


def http_handler(_: Request, exc: HTTPException) -> Response[ErrorBody]:
    code, message = HTTP_CODES.get(exc.status_code, ("http_error", "Permintaan tidak dapat diproses."))
    response = _body(exc.status_code, ErrorBody(code, message))
    response.headers.update(exc.headers or {})  # a 405's `Allow`
    return response


def integrity_handler(_: Request, exc: IntegrityError) -> Response[ErrorBody]:
    # Constraints are the last line of defence; services check first and name the rule.
    constraint = getattr(getattr(exc.orig, "__cause__", None), "constraint_name", None)
    log.info("integrity error on %s", constraint)
    return _body(409, ErrorBody("conflict", "Data bertabrakan dengan data yang sudah ada.", constraint))


def stale_handler(_: Request, exc: StaleDataError) -> Response[ErrorBody]:
    return _body(409, ErrorBody("concurrent_update", "Data diubah oleh pengguna lain; muat ulang lalu coba lagi."))


def pool_timeout_handler(request: Request, exc: PoolTimeout) -> Response[ErrorBody]:
    # Every database connection stayed busy for `pool_timeout`: shed, like the in-flight bound does.
    log.warning("database pool exhausted")
    return app_error_handler(request, Overloaded())


def nesting_handler(_: Request, exc: RecursionError) -> Response[ErrorBody]:
    # msgspec refuses JSON nested deeper than it decodes (a body of 1,000 brackets): bad input, not our error.
    return _body(400, ErrorBody("invalid_request", "Data tidak valid: susunan JSON terlalu dalam."))


def internal_handler(request: Request, exc: Exception) -> Response[ErrorBody]:
    if database_unreachable(exc):  # a fault of the moment, not a bug: the client may try again (Retry-After)
        log.warning("database unreachable on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return app_error_handler(request, DatabaseUnavailable())
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return _body(500, ErrorBody("internal_error", "Terjadi kesalahan pada server. Silakan coba lagi."))


EXCEPTION_HANDLERS = {
    AppError: app_error_handler,
    ValidationException: validation_handler,
    HTTPException: http_handler,
    IntegrityError: integrity_handler,
    StaleDataError: stale_handler,
    PoolTimeout: pool_timeout_handler,
    RecursionError: nesting_handler,
    500: internal_handler,
}


# Every route may answer with these; the OpenAPI schema says so, with the real error body (not Litestar's default).
ERROR_STATUSES = {
    400: "Invalid request",
    401: "Login required",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict with the current state",
    413: "Request too large",
    415: "Unsupported media type",
    422: "A rule refused the request",
    429: "Too many attempts",
    503: "Temporarily unavailable",
}


def document_errors(route_handlers) -> None:
    """Adds the error responses to every route's OpenAPI entry (a route's own `responses` win)."""
    for handler in route_handlers:
        specs = {
            status: ResponseSpec(ErrorBody, description=text, generate_examples=False)
            for status, text in ERROR_STATUSES.items()
        }
        handler.responses = {**specs, **(handler.responses or {})}
