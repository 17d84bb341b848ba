"""Typed settings read from PPDB_* environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import msgspec

DEFAULT_SECRET = "ppdb-insecure-default-secret"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str | None = None
    """PostgreSQL URL; unset means an embedded server with its data under `data_dir`."""
    read_database_url: str | None = None
    """A read-only replica for public reads and the status page; unset means `database_url`."""
    data_dir: str = ".ppdb"
    secret_key: str = DEFAULT_SECRET
    host: str = "127.0.0.1"
    port: int = 8000
    demo: bool = False
    """Demo mode allows the default secret; never for a real deployment."""
    workers: int = 1
    db_pool_size: int = 15
    db_max_overflow: int = 0
    """Overflow connections are opened and closed per use: under steady load they churn (connect, type
    introspection, statements prepared again), so the default pool is fixed."""
    db_pool_timeout: float = 10.0
    """Seconds a request waits for a database connection before it is shed with 503."""
    max_in_flight: int = 48
    """Requests one worker serves at once; more are answered 503 + Retry-After at once (load shedding). Above
    the pool size: registrations and status reads arriving together share one connection and statement (the
    value is measured: docs/benchmarks.md, "Tuning")."""
    forwarded_allow_ips: str = ""
    """Proxies whose `X-Forwarded-For` names the client (comma-separated addresses, or `*` where only the
    proxy can reach the app): the per-address limits (logins, result lookups, complaints) then count clients,
    not the proxy. None by default: a client's own X-Forwarded-For is never believed."""
    body_timeout: float = 20.0
    """Seconds a client has to send a request's body (then 408); a small body (JSON, forms) must be in before the
    request counts as in flight."""
    max_upload_bytes: int = 5 * 1024 * 1024
    session_hours: float = 12.0
    """Login sessions expire after this many hours."""
    provisional_interval: float = 60.0
    """Seconds between provisional re-solves of open periods; 0 turns them off."""
    debug: bool = False
    public_url: str = DEFAULT_PUBLIC_URL
    """The address families open: links in e-mails and messages start with it."""
    smtp_url: str | None = None
    """E-mail notifications: `smtp://user:password@host:587` (STARTTLS when offered) or `smtps://host:465`."""
    mail_from: str = "PPDB <no-reply@localhost>"
    sms_gateway_url: str | None = None
    """SMS/WhatsApp notifications: the region's provider (or an adapter in front of it) takes a JSON POST of
    `{"to", "text", "reference"}` with an `Idempotency-Key` header."""
    sms_gateway_token: str | None = None
    outbox_lease: float = 300.0
    """Seconds a sender holds a message it is sending: a message of a killed sender is sent again after it."""
    metrics_token: str | None = None
    """Bearer token a Prometheus server scrapes /metrics with (agency admins may read it too)."""

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).resolve()

    def insecure_reason(self) -> str | None:
        """Why start-up must stop, or None when the settings are safe to run."""
        if self.demo:
            return None
        if self.secret_key == DEFAULT_SECRET or len(self.secret_key) < 32:
            return (
                "PPDB_SECRET_KEY is the default or shorter than 32 characters. "
                "Set a long random value (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`) "
                "or run with PPDB_DEMO=1 for a local demo."
            )
        return None


def load_settings(environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Settings from the environment (PPDB_FOO -> foo), with explicit overrides on top."""
    environ = os.environ if environ is None else environ
    fields = set(Settings.__struct_fields__)
    values: dict[str, object] = {
        key[5:].lower(): value
        for key, value in environ.items()
        if key.startswith("PPDB_") and key[5:].lower() in fields and value != ""
    }
    values.update(overrides)
    try:
        return msgspec.convert(values, Settings, strict=False)
    except msgspec.ValidationError as err:
        raise SystemExit(f"Invalid PPDB_* setting: {err}") from err
