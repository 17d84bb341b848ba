"""`ppdb selection run --period ID` and `ppdb db upgrade` as real subprocesses against a scratch database."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from ppdb import demo
from tests.conftest import TEST_SECRET
from tests.helpers import scratch_database


def ppdb(*args: str, url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PPDB_DATABASE_URL": url, "PPDB_SECRET_KEY": TEST_SECRET}
    return subprocess.run([sys.executable, "-m", "ppdb", *args], env=env, capture_output=True, text=True, timeout=120)


async def test_selection_run_command(server_url):
    async with scratch_database(server_url) as url:
        refused = ppdb("selection", "run", "--period", "1", url=url)
        assert refused.returncode == 1 and "ppdb db upgrade" in refused.stderr
        assert ppdb("db", "upgrade", url=url).returncode == 0
        await demo.load(url, applicants=60, schools=5, seed=4)
        while_open = ppdb("selection", "run", "--period", "1", url=url)
        assert while_open.returncode == 1 and "period_not_ready" in while_open.stderr
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE periods SET status = 'registration_closed' WHERE id = 1"))
        await engine.dispose()
        first = ppdb("selection", "run", "--period", "1", url=url)
        assert first.returncode == 0, first.stderr
        assert "60/60 placed" in first.stdout  # 5 demo schools hold far more than 60 seats
        second = ppdb("selection", "run", "--period", "1", url=url)
        digest = first.stdout.split("digest ")[1].split(",")[0]
        assert f"digest {digest}" in second.stdout
        missing = ppdb("selection", "run", "--period", "99", url=url)
        assert missing.returncode == 1 and "period_not_found" in missing.stderr


async def test_create_admin_command(server_url):
    async with scratch_database(server_url) as url:
        assert ppdb("db", "upgrade", url=url).returncode == 0
        args = (
            "users",
            "create-admin",
            "--region-code",
            "36.71",
            "--region-name",
            "Kota Tangerang",
            "--email",
            "kepala@dinas.test",
            "--password",
            "kata-sandi-dinas-2027",
        )
        created = ppdb(*args, url=url)
        assert created.returncode == 0 and "kepala@dinas.test" in created.stdout
        again = ppdb(*args, url=url)
        assert again.returncode == 1 and "email_taken" in again.stderr
        weak = ppdb(
            "users",
            "create-admin",
            "--region-code",
            "36.71",
            "--region-name",
            "X",
            "--email",
            "b@dinas.test",
            "--password",
            "pendek",
            url=url,
        )
        assert weak.returncode == 1 and "password_too_short" in weak.stderr


async def test_backup_and_restore_round_trip(server_url, tmp_path):
    dump = tmp_path / "ppdb.dump"
    async with scratch_database(server_url) as source, scratch_database(server_url) as target:
        assert ppdb("db", "upgrade", url=source).returncode == 0
        await demo.load(source, applicants=80, schools=5, seed=6)
        made = ppdb("db", "backup", str(dump), url=source)
        assert made.returncode == 0, made.stderr
        assert ppdb("db", "restore", str(dump), url=target).returncode == 1  # needs --yes
        restored = ppdb("db", "restore", str(dump), "--yes", url=target)
        assert restored.returncode == 0, restored.stderr
        counts = []
        for url in (source, target):
            engine = create_async_engine(url)
            async with engine.connect() as conn:
                counts.append(
                    [
                        await conn.scalar(text(f"SELECT count(*) FROM {t}"))
                        for t in ("applications", "choices", "audit_log", "users", "alembic_version")
                    ]
                )
            await engine.dispose()
        assert counts[0] == counts[1] and counts[0][0] == 80
        # the restored database still refuses to rewrite its audit log
        engine = create_async_engine(target)
        async with engine.connect() as conn:
            try:
                await conn.execute(text("DELETE FROM audit_log"))
                raise AssertionError("audit log deletable after restore")
            except Exception as err:
                assert "append-only" in str(err)
        await engine.dispose()
