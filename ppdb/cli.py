"""The `ppdb` command: serve, demo, db, selection, bench."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from typing import Any

import click

from ppdb.config import DEFAULT_PUBLIC_URL, Settings, load_settings


@contextlib.contextmanager
def database(settings: Settings) -> Iterator[str]:
    """The configured database URL, or an embedded server started for the duration of the block."""
    if settings.database_url:
        yield settings.database_url
        return
    from ppdb.db import embedded

    server, url = embedded.start(settings.data_path)
    click.echo(f"Embedded PostgreSQL running, data in {settings.data_path / 'pg'}", err=True)
    with server:
        yield url


@contextlib.contextmanager
def migrated_database(settings: Settings) -> Iterator[str]:
    """`database`, refusing (with the command to run) when migrations are missing."""
    from ppdb.db import migrate

    with database(settings) as url:
        try:
            migrate.check(url)
        except migrate.NotMigrated as err:
            raise click.ClickException(str(err)) from None
        yield url


def in_transaction(url: str, work):
    """Run `work(session)` in one transaction; a user-facing error becomes a clean command error."""
    from ppdb.db.session import make_engine, make_sessionmaker
    from ppdb.errors import AppError

    async def run():
        engine = make_engine(url)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                return await work(session)
        except AppError as err:
            raise click.ClickException(f"{err.code}: {err.message}") from None
        finally:
            await engine.dispose()

    return asyncio.run(run())


@click.group()
def main() -> None:
    """PPDB: online school admission (PPDB/SPMB) for Indonesian education agencies."""


@main.group()
def db() -> None:
    """Database migrations."""


@db.command()
@click.option("--revision", default="head", show_default=True)
def upgrade(revision: str) -> None:
    """Migrate the database to the latest (or the given) revision."""
    from ppdb.db import migrate

    with database(load_settings()) as url:
        migrate.upgrade(url, revision)
        click.echo(f"Database at {revision}.")


@db.command()
@click.argument("revision")
def downgrade(revision: str) -> None:
    """Migrate the database down to REVISION (e.g. base)."""
    from ppdb.db import migrate

    with database(load_settings()) as url:
        migrate.downgrade(url, revision)
        click.echo(f"Database at {revision}.")


@db.command(name="backup")
@click.argument("target", type=click.Path(dir_okay=False, writable=True))
def backup_command(target: str) -> None:
    """Dump the database to TARGET (pg_dump custom format)."""
    _with_pg_tool("pg_dump", target, f"Backup written to {target}.")


@db.command(name="restore")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Confirm that the current database is to be replaced.")
def restore_command(source: str, yes: bool) -> None:
    """Replace the database's contents with the backup SOURCE."""
    if not yes:
        raise click.ClickException("Restoring replaces every table; run again with --yes to confirm.")
    _with_pg_tool("pg_restore", source, f"Restored from {source}.")


def _with_pg_tool(tool: str, file: str, done: str) -> None:
    """`ppdb.db.backup`'s pg_dump or pg_restore on FILE, its failure as a command-line error."""
    from pathlib import Path

    from ppdb.db import backup

    run = backup.backup if tool == "pg_dump" else backup.restore
    with database(load_settings()) as url:
        try:
            run(url, Path(file))
        except RuntimeError as err:
            raise click.ClickException(f"{tool}: {err}") from None
        click.echo(done)


def _serve(settings: Settings, url: str) -> None:
    import uvicorn

    from ppdb.app import create_app
    from ppdb.metrics import prepare_multiprocess

    prepare_multiprocess(settings.data_path, settings.workers)  # before the workers start

    create_app(msgspec_replace(settings, database_url=url))  # refuse bad settings here, not in every worker
    _check_connections(settings, url)
    # Worker processes build their app from the environment.
    os.environ["PPDB_DATABASE_URL"] = url
    if settings.demo:
        os.environ["PPDB_DEMO"] = "1"
    logging.getLogger("ppdb").info(
        "Serving on http://%s:%s with %s worker(s) (API docs: /schema)", settings.host, settings.port, settings.workers
    )
    # log_config=None: uvicorn's own lines go through the same JSON handler (logs.configure) as the app's.
    uvicorn.run("ppdb.app:create_app", factory=True, workers=settings.workers, **server_options(settings))


def server_options(settings: Settings) -> dict[str, Any]:
    """How `ppdb serve` runs uvicorn (tests run a server the same way)."""
    return {
        "host": settings.host,
        "port": settings.port,
        # Only these proxies' X-Forwarded-For names the client; none by default (security review L5).
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        "log_level": "info",
        "access_log": False,
        "log_config": None,
    }


def connections_needed(settings: Settings) -> int:
    """Connections the workers may open on the primary: a read-write and a read pool each, unless reads go to
    a replica; plus a few for migrations, the CLI and an operator's psql."""
    pools = 1 if settings.read_database_url else 2
    return settings.workers * pools * (settings.db_pool_size + settings.db_max_overflow) + 5


def _check_connections(settings: Settings, url: str) -> None:
    """Refuse to start with pools the server cannot hold: its connection limit less the connections already
    open (other instances, the background worker, psql). Behind a transaction pooler the server's limit is the
    pooler's business: the check is left to it."""
    from sqlalchemy import text

    from ppdb.db.session import behind_pooler, make_engine

    if behind_pooler(url):
        logging.getLogger("ppdb").info(
            "PPDB_DATABASE_URL is a transaction pooler (statement_cache_size=0): its pool size, not this "
            "instance's, bounds the connections PostgreSQL sees; the start-up connection check is skipped."
        )
        return

    async def room() -> tuple[int, int]:
        engine = make_engine(url, pool_size=1)
        try:
            async with engine.connect() as conn:
                limit, in_use = (
                    await conn.execute(
                        text(
                            "SELECT current_setting('max_connections')::int"
                            " - current_setting('superuser_reserved_connections')::int,"
                            " (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend') - 1"
                        )
                    )
                ).one()
                return int(limit), int(in_use)
        finally:
            await engine.dispose()

    (limit, in_use), needed = asyncio.run(room()), connections_needed(settings)
    if needed > limit - in_use:
        raise click.ClickException(
            f"{settings.workers} workers x pools of {settings.db_pool_size}+{settings.db_max_overflow} need up to "
            f"{needed} PostgreSQL connections, but the server allows {limit} and {in_use} are open already "
            "(other instances, workers, clients). Lower PPDB_WORKERS, PPDB_DB_POOL_SIZE or PPDB_DB_MAX_OVERFLOW, "
            "put PgBouncer in front (and add ?statement_cache_size=0 to its URL), or raise max_connections."
        )


def msgspec_replace(settings: Settings, **changes: object) -> Settings:
    import msgspec

    return msgspec.structs.replace(settings, **changes)


@main.command()
def worker() -> None:
    """Background work in its own process: provisional re-solves, daftar ulang deadlines, and notifications.

    With it running, serve with PPDB_PROVISIONAL_INTERVAL=0 so that app workers only answer requests
    (a re-solve of a large period takes seconds of CPU). Its own interval: PPDB_PROVISIONAL_INTERVAL (60 s)."""
    from ppdb.db.session import make_engine, make_sessionmaker
    from ppdb.logs import configure
    from ppdb.worker import loop

    settings = load_settings()
    if reason := settings.insecure_reason():
        raise click.ClickException(reason)
    configure()
    if not settings.demo and settings.public_url == DEFAULT_PUBLIC_URL:
        logging.getLogger("ppdb").warning(
            "PPDB_PUBLIC_URL is not set: links in messages point at %s", settings.public_url
        )
    interval = settings.provisional_interval or 60.0
    # Background work yields to requests (nice alone is not enough: docs/benchmarks.md, and cpu_shares).
    os.nice(19)

    async def run(url: str) -> None:
        engine = make_engine(url, pool_size=2, max_overflow=0)
        try:
            logging.getLogger("ppdb").info("Background worker started (re-solve every %s s)", interval)
            await loop(make_sessionmaker(engine), settings, interval=interval)
        finally:
            await engine.dispose()

    with migrated_database(settings) as url, contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(url))


@main.command()
def serve() -> None:
    """Serve the API (migrations must be applied: `ppdb db upgrade`)."""
    from ppdb.app import StartupError

    settings = load_settings()
    if reason := settings.insecure_reason():
        raise click.ClickException(reason)
    with migrated_database(settings) as url:
        try:
            _serve(settings, url)
        except StartupError as err:
            raise click.ClickException(str(err)) from None


@main.command()
@click.option("--applicants", default=12000, show_default=True, help="Number of synthetic applicants.")
@click.option("--schools", default=40, show_default=True, help="Number of SMP in the synthetic city.")
@click.option("--seed", default=2026, show_default=True, help="Random seed: same seed, same region.")
@click.option("--serve/--no-serve", default=True, show_default=True, help="Serve the API after loading.")
def demo(applicants: int, schools: int, seed: int, serve: bool) -> None:
    """Migrate, load a synthetic region shaped like Kota Tangerang (once), then serve it."""
    from ppdb import demo as demo_data
    from ppdb.db import migrate

    settings = msgspec_replace(load_settings(), demo=True)
    with database(settings) as url:
        migrate.upgrade(url)
        summary = asyncio.run(demo_data.load(url, applicants=applicants, schools=schools, seed=seed))
        click.echo(summary, err=True)
        if serve:
            _serve(settings, url)


@main.group()
def users() -> None:
    """Accounts."""


@users.command(name="create-admin")
@click.option("--region-code", required=True, help="Kemendagri code of the region, e.g. 36.71.")
@click.option("--region-name", required=True, help="e.g. 'Kota Tangerang' (used when the region is new).")
@click.option("--email", required=True)
@click.option("--name", default="Admin Dinas", show_default=True)
@click.password_option(help="At least 10 characters; prompted when omitted.")
def create_admin(region_code: str, region_name: str, email: str, name: str, password: str) -> None:
    """Bootstrap an agency admin for a region (creating the region if needed)."""
    from ppdb.accounts import service as accounts

    async def work(session) -> str:
        user = await accounts.bootstrap_admin(
            session, region_code=region_code, region_name=region_name, email=email, password=password, name=name
        )
        return f"Agency admin {user.email} created for region {region_code} (id {user.region_id})."

    with migrated_database(load_settings()) as url:
        click.echo(in_transaction(url, work))


@main.group()
def wilayah() -> None:
    """Kelurahan / desa with their Kemendagri codes (open dataset idn-area-data, ODbL)."""


@wilayah.command(name="load")
@click.argument("region_code")
def load_wilayah(region_code: str) -> None:
    """Load the kelurahan of a region (its Kemendagri code, e.g. 36.71) from the installed dataset."""
    from ppdb.regions import wilayah as areas

    async def work(session) -> str:
        count = await areas.load(session, region_code)
        return f"{count} kelurahan/desa of {region_code} loaded."

    with migrated_database(load_settings()) as url:
        click.echo(in_transaction(url, work))


@main.group()
def selection() -> None:
    """The selection engine."""


@selection.command(name="run")
@click.option("--period", "period_id", type=int, required=True, help="Period id.")
def run_selection(period_id: int) -> None:
    """Run the official selection for a period and print its digest."""
    from ppdb import flows

    settings = load_settings()
    if reason := settings.insecure_reason():  # the secret keys the published pseudonyms
        raise click.ClickException(reason)

    async def work(session) -> str:
        done = await flows.run_official(session, period_id, "cli", secret=settings.secret_key)
        return f"run {done.id}: {done.placed}/{done.applicants} placed, digest {done.digest}, seconds {done.seconds}"

    with migrated_database(settings) as url:
        click.echo(in_transaction(url, work))


@selection.command(context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def solve(args: tuple[str, ...]) -> None:
    """Solve INSTANCE.json [-o RESULT.json] (see the selection-engine contract)."""
    from ppdb.selection import engine

    sys.exit(engine.main(list(args)))


@main.group()
def bench() -> None:
    """Benchmarks (figures go to docs/benchmarks.md)."""


@bench.command(name="selection", context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def bench_selection(args: tuple[str, ...]) -> None:
    """Engine vs a plain heap-based deferred acceptance on a province-sized instance."""
    from ppdb.selection import bench as selection_bench

    sys.exit(selection_bench.main(list(args)) or 0)


@bench.command(name="run")
@click.option("--applicants", default=100_000, show_default=True)
@click.option("--schools", default=300, show_default=True)
@click.option("--seed", default=1, show_default=True)
@click.option("--repeat", default=3, show_default=True)
def bench_run(applicants: int, schools: int, seed: int, repeat: int) -> None:
    """A whole database selection run (load, compile, solve, write) on a fresh synthetic period.

    Uses a throwaway embedded PostgreSQL unless PPDB_TEST_DATABASE_URL names a scratch database.
    """
    import json

    from ppdb.selection import bench_run as db_bench

    figures = db_bench.run(applicants, schools, seed, repeat, os.environ.get("PPDB_TEST_DATABASE_URL"))
    click.echo(json.dumps(figures, indent=2))


@bench.command(name="graduates")
@click.option("--rows", default=50_000, show_default=True)
@click.option("--seed", default=1, show_default=True)
def bench_graduates(rows: int, seed: int) -> None:
    """Import a graduate list (rows x 35 rapor columns) into a fresh period, then import it again (updates).

    Uses a throwaway embedded PostgreSQL unless PPDB_TEST_DATABASE_URL names a scratch database.
    """
    import json

    from ppdb.scores import bench as scores_bench

    click.echo(json.dumps(scores_bench.run(rows, seed, os.environ.get("PPDB_TEST_DATABASE_URL")), indent=2))


if __name__ == "__main__":  # pragma: no cover
    main(prog_name=os.path.basename(sys.argv[0]))
