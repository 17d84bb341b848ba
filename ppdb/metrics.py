"""Prometheus metrics: request latency by route and status, requests in flight, selection run durations.

With several workers each process writes its samples under `<data_dir>/metrics/<host>-<pid>` (prometheus multiprocess
mode, set up by `ppdb serve` before the workers start) and a scrape of any worker adds them up. The endpoint
answers only agency admins or a caller with the `PPDB_METRICS_TOKEN` bearer token; everyone else gets 404.
"""

from __future__ import annotations

import atexit
import hmac
import os
import shutil
import socket
import time
from pathlib import Path

import psutil
from litestar import Request, Response, get
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from ppdb.accounts.models import Role
from ppdb.errors import NotFound

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess(data_path: Path, workers: int) -> None:
    """Before workers start: this instance's own, empty metrics directory, `<data_dir>/metrics/<host>-<pid>`.

    Instances may share a data directory (uploads): each adds up only its own workers' samples, and never
    touches another's files. The directory goes when the instance exits; one left by an instance of this host
    that died is removed at the next start. prometheus_client picks its value store when imported; the workers
    are new processes that import it with this environment, so their samples go to this directory.
    """
    if workers <= 1 or os.environ.get(MULTIPROCESS_ENV):
        return
    host = socket.gethostname()
    for left in (data_path / "metrics").glob(f"{host}-*"):
        pid = left.name.removeprefix(f"{host}-")
        if pid.isdigit() and not psutil.pid_exists(int(pid)):
            shutil.rmtree(left, ignore_errors=True)
    folder = data_path / "metrics" / f"{host}-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    os.environ[MULTIPROCESS_ENV] = str(folder)


REQUEST_SECONDS = Histogram(
    "ppdb_http_request_duration_seconds",
    "Request latency by route template and status.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
IN_FLIGHT = Gauge("ppdb_http_requests_in_flight", "Requests being handled now.", multiprocess_mode="livesum")
SELECTION_SECONDS = Histogram(
    "ppdb_selection_run_duration_seconds",
    "Duration of selection runs (load, compile, solve, write).",
    ["kind"],
    buckets=(0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0),
)


def observe_selection(kind: str, seconds: float) -> None:
    SELECTION_SECONDS.labels(kind).observe(seconds)


class MetricsMiddleware(ASGIMiddleware):
    """Counts requests in flight and times each one under its route template (never the raw path)."""

    scopes = ("http",)  # type: ignore[assignment]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        IN_FLIGHT.inc()
        try:
            await next_app(scope, receive, send_with_status)
        finally:
            IN_FLIGHT.dec()
            REQUEST_SECONDS.labels(
                scope.get("method", ""), scope.get("path_template", "unmatched"), str(status)
            ).observe(time.perf_counter() - started)


def _allowed(request: Request) -> bool:
    token = request.app.state.settings.metrics_token
    authorization = request.headers.get("authorization", "")
    if (
        token
        and authorization[:7].lower() == "bearer "
        and hmac.compare_digest(authorization[7:].strip().encode(), token.encode())
    ):
        return True
    user = request.scope.get("user")
    return user is not None and user.role is Role.AGENCY_ADMIN


@get("/metrics", include_in_schema=False, sync_to_thread=False)
def metrics(request: Request) -> Response[bytes]:
    """Prometheus exposition; the same 404 as an unknown address for anyone not allowed."""
    if not _allowed(request):
        raise NotFound("not_found", "Tidak ditemukan.")
    registry = REGISTRY
    if os.environ.get(MULTIPROCESS_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
