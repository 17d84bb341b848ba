"""Structured JSON logs with a request id; access lines name the route template, never the raw path."""

from __future__ import annotations

import functools
import itertools
import logging
import re
import secrets
import time
from contextvars import ContextVar

import msgspec
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
access = logging.getLogger("ppdb.access")
_VALID_ID = re.compile(r"[A-Za-z0-9-]{8,64}")
# Request ids made here: this process's random prefix and a serial (no call to the system's random source
# on every request; unique across workers and restarts by the prefix).
_PROCESS, _SERIAL = secrets.token_hex(8), itertools.count(1)


_factory = logging.getLogRecordFactory()


def _stamped(*args, **kwargs) -> logging.LogRecord:
    """Every record carries the request id current when it was created, whenever it is formatted."""
    record = _factory(*args, **kwargs)
    record.request_id = request_id.get()
    return record


logging.setLogRecordFactory(_stamped)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": _second(int(record.created)),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return msgspec.json.encode(entry, enc_hook=str).decode()


@functools.lru_cache(maxsize=4)
def _second(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(epoch))


def configure(level: int = logging.INFO) -> None:
    """JSON lines on stderr for the whole process (idempotent)."""
    # An access line per request: skip what records would otherwise collect and nobody reads (the logging
    # docs' "Optimization" switches: caller's file and line, thread, process and process name).
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    root = logging.getLogger()
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    root.setLevel(level)


class RequestIdMiddleware(ASGIMiddleware):
    """Takes a caller's X-Request-ID (or makes one), returns it, and logs one access line per request."""

    scopes = ("http",)  # type: ignore[assignment]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        supplied = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), "")
        rid = supplied if _VALID_ID.fullmatch(supplied) else f"{_PROCESS}-{next(_SERIAL):x}"
        token = request_id.set(rid)
        started, status = time.perf_counter(), 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await next_app(scope, receive, send_with_id)
        finally:
            route = scope.get("path_template", "unmatched")
            access.info(
                "request",
                extra={
                    "fields": {
                        "method": scope.get("method", ""),  # http scopes only (see `scopes`)
                        "route": route,
                        "status": status,
                        "ms": round((time.perf_counter() - started) * 1000, 1),
                    }
                },
            )
            request_id.reset(token)
