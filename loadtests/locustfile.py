"""Admission-day traffic for PPDB (see ../shared/spec/admission-day.md), driven by `loadtests/run.py`.

One scenario per Locust run, chosen by PPDB_SCENARIO; the `Scenario` shape says which users arrive and how
fast. Test data (fresh registrations, operator logins, published results) comes in PPDB_LOADTEST_DATA; every
registration the server acknowledges is written to PPDB_LOADTEST_ACKS when Locust quits, for the
"nothing lost" check. A scenario that breaks its budget (PPDB_LOADTEST_BUDGET) sets a non-zero exit code.

A 503 with Retry-After is deliberate load shedding, not an error: it is counted under its own name
("... [shed]") so the latency of served requests stays honest, and a parent retries after the pause with
the same Idempotency-Key, as a real browser would.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
import uuid
from collections import Counter
from pathlib import Path

import gevent
import msgspec
from locust import FastHttpUser, LoadTestShape, between, constant, events, task

SCENARIO = os.environ.get("PPDB_SCENARIO", "spike")
DATA = json.loads(Path(os.environ["PPDB_LOADTEST_DATA"]).read_text()) if os.environ.get("PPDB_LOADTEST_DATA") else {}
BUDGET = json.loads(os.environ.get("PPDB_LOADTEST_BUDGET", "{}"))
RATE = float(os.environ.get("PPDB_LOADTEST_RATE", "0"))  # requests/s offered by an at-target scenario
# Users sharing the at-target rate: enough that each one's turn comes well apart from a response's time, so
# that a late user catches up on its timetable (see `on_timetable`) within the in-flight limit. Not more:
# 96 users put more than the in-flight limit (48) on one worker in a slow moment, and each shed user then
# waited Retry-After (2 s) and was late for its next ~45 turns, which alone broke the p95 from when due.
PACED_USERS = 64
SCALE = float(os.environ.get("PPDB_LOADTEST_SCALE", "1"))  # < 1: shorter runs with fewer users (a smoke test)
USERS = float(os.environ.get("PPDB_LOADTEST_USERS", "1"))  # > 1: more users in the same time (`run.py --users`)
PASSWORD = "Kata-sandi-uji-beban-2026"

PAYLOADS = iter(DATA.get("payloads", []))
FLOOR_PAYLOADS = itertools.cycle(DATA.get("payloads", [{}])[:1000])
ACKED: list[dict] = []
STATUS: Counter = Counter()
FROM_DUE: dict[str, Counter] = {}  # paced requests: milliseconds from when each was due to its answer
TIMETABLE_START = 0.0  # the warm-up's end: the timetable starts afresh there (sign-ups kept the users late)
rng = random.Random()
HOSTS = itertools.cycle(DATA["hosts"]) if DATA.get("hosts") else None


def next_payload() -> dict | None:
    payload = next(PAYLOADS, None)
    STATUS["payloads_taken"] += payload is not None
    return payload


@events.request.add_listener
def count_status(name="", response_time=0.0, response=None, context=None, **_):
    if response is None:  # a wait recorded by `until_served`, not an answer
        return
    STATUS[getattr(response, "status_code", 0) or 0] += 1
    if context and "late_ms" in context:
        FROM_DUE.setdefault(name, Counter())[round(response_time + context["late_ms"])] += 1


def on_timetable(rate: float):
    """Like Locust's constant_throughput, but on a timetable: a slow answer delays this user's next request,
    not every one after it, since parents keep arriving while the server is slow (with constant_throughput the
    rate offered falls with the server's speed). A request that leaves late has its lateness counted in its
    time (`FROM_DUE`): no slow moment is hidden by the requests it held back."""
    period = 1 / rate

    def wait_time(user) -> float:
        now = time.monotonic()
        if not hasattr(user, "phase"):  # each user's own place in the period: parents do not arrive in step
            user.phase = rng.random() * period
        user.due = max(getattr(user, "due", now), TIMETABLE_START + user.phase) + period
        user.late_ms = max(0.0, now - user.due) * 1000
        return max(0.0, user.due - now)

    return wait_time


class Api(FastHttpUser):
    abstract = True
    network_timeout = 30.0
    connection_timeout = 10.0
    token: str | None = None

    def __init__(self, environment) -> None:
        super().__init__(environment)
        if HOSTS:  # several instances (`run.py --shape`): each user keeps to one, in turn, as a load balancer would
            self.client.base_url = next(HOSTS)

    def call(
        self, method: str, path: str, name: str, *, expect=(200,), parse: bool = False, **kwargs
    ) -> tuple[int, dict | None, float]:
        """One request; a 503 is recorded as `name [shed]` and answered with its Retry-After.

        The body is decoded only with `parse`: Locust shares the machine with the servers, and decoding every
        status page (the floor's answers are tiny and never decoded) would tax PPDB for the client's work."""
        headers = kwargs.pop("headers", {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        with self.client.request(method, path, name=name, headers=headers, catch_response=True, **kwargs) as r:
            retry = 0.0
            if r.status_code == 503:
                r.request_meta["name"] = f"{name} [shed]"
                retry = float(r.headers.get("Retry-After") or 1)
                r.success()
            elif r.status_code in expect or r.status_code == 304:
                r.success()
            else:
                r.failure(f"HTTP {r.status_code}: {(r.text or '')[:120]}")
            try:
                body = msgspec.json.decode(r.content) if parse and r.content and r.status_code != 304 else None
            except msgspec.DecodeError:
                body = None
            return r.status_code, body, retry

    def until_served(self, method: str, path: str, name: str, attempts: int = 20, **kwargs):
        """Asked again after each shed answer, as a parent would; the whole wait, retries included, is recorded as
        `name (retries included)`: what the parent waited, which a served request's time alone hides. One never
        served counts its whole wait, not a failure: under deliberate overload that is the service's answer."""
        started = time.monotonic()
        for _ in range(attempts):
            status, body, retry = self.call(method, path, name, parse=True, **kwargs)
            if status not in (503, 0):
                break
            gevent.sleep(retry or 1.0)
        else:
            status, body = 0, None
        self.environment.events.request.fire(
            request_type=method,
            name=f"{name} (retries included)",
            response_time=(time.monotonic() - started) * 1000,
            response_length=0,
            exception=None,
            context={},
        )
        return status, body

    def sign_up(self) -> bool:
        """A new account, signed in by its sign-up (its answer carries the session token)."""
        email = f"lt-{uuid.uuid4().hex[:16]}@uji-beban.test"
        status, body = self.until_served(
            "POST",
            "/api/auth/signup",
            "signUp",
            expect=(201,),
            json={"email": email, "password": PASSWORD, "name": "Orang Tua Uji"},
        )
        self.token = body["token"] if status == 201 and body else None
        return self.token is not None

    def log_in(self, email: str, password: str) -> bool:
        status, body = self.until_served(
            "POST", "/api/auth/login", "logIn", json={"email": email, "password": password}
        )
        self.token = body["token"] if status == 200 and body else None
        return self.token is not None

    def register(self, payload: dict) -> str | None:
        """Submit with an Idempotency-Key; retry after a shed or a timeout with the same key."""
        key = uuid.uuid4().hex
        status, body = self.until_served(
            "POST",
            f"/api/periods/{DATA['period_id']}/applications",
            "register",
            expect=(201,),
            json=payload,
            headers={"Idempotency-Key": key},
        )
        if status == 201 and body:
            ACKED.append(
                {"registration_number": body["registration_number"], "nik": payload["nik"], "token": self.token}
            )
            return body["registration_number"]
        return None

    def status_of(self, number: str) -> None:
        self.call("GET", f"/api/applications/{number}/status", "applicationStatus")

    def public_ranks(self) -> None:
        self.call("GET", f"/api/periods/{DATA['period_id']}/selection-runs/latest", "latestSelection")


class Parent(Api):
    """The opening spike: sign up, register a child with three choices, then follow the provisional rank."""

    weight = 2  # to a `Returning` parent's 1
    wait_time = between(3, 8)
    number: str | None = None

    def on_start(self) -> None:
        payload = next_payload()
        if payload and self.sign_up():
            self.number = self.register(payload)

    @task(3)
    def poll_status(self) -> None:
        if self.number:
            self.status_of(self.number)

    @task(1)
    def poll_ranks(self) -> None:
        self.public_ranks()


class Returning(Parent):
    """The spike's parent whose account was made before the day: signs in instead of signing up."""

    weight = 1

    def on_start(self) -> None:
        payload = next_payload()
        if payload and DATA.get("returning") and self.log_in(*DATA["returning"].pop()):
            self.number = self.register(payload)


class Follower(Parent):
    """All-day polling: a parent who registered earlier (in the spike) refreshing status and rank lists."""

    weight = 20

    def on_start(self) -> None:
        if DATA.get("parents"):
            parent = rng.choice(DATA["parents"])
            self.token, self.number = parent["token"], parent["registration_number"]


class Paced(Api):
    """At a scenario's rate (`on_timetable`) when it sets one, else as fast as answers come (capacity)."""

    abstract = True
    wait_time = on_timetable(RATE / PACED_USERS) if RATE else constant(0)
    late_ms = 0.0

    def context(self) -> dict:
        return {"late_ms": self.late_ms} if RATE else {}


class Registrar(Paced):
    """Registration throughput: one parent account registering child after child (siblings, cousins...)."""

    def on_start(self) -> None:
        self.sign_up()

    @task
    def register_next(self) -> None:
        if self.token is None and not self.sign_up():  # shed at sign-up: try again, as a parent would
            return
        payload = next_payload()
        if payload is None:
            gevent.sleep(1)
            return
        self.register(payload)


class StatusReader(Paced):
    """Status-read throughput: a parent refreshing the status page."""

    number: str | None = None

    def on_start(self) -> None:
        payload = next_payload()
        if payload and self.sign_up():
            self.number = self.register(payload)

    @task
    def read_status(self) -> None:
        if self.number:
            self.status_of(self.number)
        else:
            gevent.sleep(1)


class Public(Api):
    """Anyone refreshing public pages: rank lists with cut-offs, seats per school, the period."""

    wait_time = between(1, 4)
    weight = 10

    @task(4)
    def ranks(self) -> None:
        self.public_ranks()

    @task(1)
    def schools(self) -> None:
        self.call("GET", f"/api/periods/{DATA['period_id']}/schools", "listSchools")

    @task(1)
    def period(self) -> None:
        self.call("GET", f"/api/periods/{DATA['period_id']}", "getPeriod")


class Operator(Api):
    """A school operator: list applicants (sometimes by flag), verify a coordinate."""

    wait_time = between(2, 5)
    fixed_count = 10
    npsn: str = ""
    seen: list[str] = []

    def on_start(self) -> None:
        email, password, self.npsn = rng.choice(DATA["operators"])
        self.log_in(email, password)

    @task(2)
    def applicants(self) -> None:
        flag = rng.choice(["", "", "&flag=kk_recent"])
        _, body, _ = self.call(
            "GET",
            f"/api/schools/{self.npsn}/applicants?period_id={DATA['period_id']}{flag}",
            "schoolApplicants",
            parse=True,
        )
        if isinstance(body, list) and body:  # not a shed answer
            self.seen = [row["registration_number"] for row in body]

    @task(1)
    def verify(self) -> None:
        if self.seen:
            number = rng.choice(self.seen)
            # 409: another operator of the same school verified it first, a correct answer
            self.call("POST", f"/api/applications/{number}/coordinate/verify", "verifyCoordinate", expect=(204, 409))


class ResultDay(Api):
    """Result day: parents look their child up, everyone reads the per-school lists."""

    wait_time = between(1, 3)

    @task(3)
    def lookup(self) -> None:
        number, birth_date = rng.choice(DATA["lookups"])
        self.call(
            "GET",
            f"/api/periods/{DATA['period_id']}/results/lookup?registration_number={number}&birth_date={birth_date}",
            "lookupResult",
        )

    @task(2)
    def school_list(self) -> None:
        npsn = rng.choice(DATA["schools"])
        self.call("GET", f"/api/periods/{DATA['period_id']}/results/schools/{npsn}", "schoolResults")

    @task(1)
    def summary(self) -> None:
        self.call("GET", f"/api/periods/{DATA['period_id']}/results", "resultsSummary")


class Impatient(Registrar):
    """Overload: parents hammering submit and refresh with no pause at all."""

    wait_time = constant(0)

    @task(3)
    def refresh(self) -> None:
        self.public_ranks()


class FloorWriter(FastHttpUser):
    """The floor's single insert, with the same body a registration carries."""

    wait_time = constant(0)

    @task
    def insert(self) -> None:
        payload = dict(next(FLOOR_PAYLOADS), nik=uuid.uuid4().hex[:16])
        with self.client.post("/floor/registrations", json=payload, name="floorInsert", catch_response=True) as r:
            if r.status_code == 201:
                r.success()
            else:
                r.failure(f"HTTP {r.status_code}")


class FloorReader(FastHttpUser):
    """The floor's single primary-key read."""

    wait_time = constant(0)

    @task
    def read(self) -> None:
        with self.client.get(
            f"/floor/registrations/{rng.randint(1, DATA['floor_rows'])}", name="floorRead", catch_response=True
        ) as r:
            if r.status_code == 200:
                r.success()
            else:
                r.failure(f"HTTP {r.status_code}")


# Each scenario: stages of (until second, users, spawn rate per second, user classes).
STAGES = {
    "floor-insert": [(20, 32, 32, [FloorWriter])],
    "floor-read": [(20, 32, 32, [FloorReader])],
    "register-capacity": [(25, 32, 32, [Registrar])],
    "status-capacity": [(25, 32, 32, [StatusReader])],
    # Paced, measured after a warm-up (sign-ups, the readers' own registrations): see WARM_UP.
    "register-at-target": [(45, PACED_USERS, 32, [Registrar])],
    "status-at-target": [(45, PACED_USERS, 32, [StatusReader])],
    # Thousands of parents within the first minute, then they stay and poll.
    "spike": [(60, 1500, 25, [Parent, Returning]), (90, 1500, 25, [Parent, Returning])],
    "polling": [(60, 800, 100, [Follower, Public, Operator])],
    "result-day": [(60, 1000, 100, [ResultDay])],
    "overload": [(45, 400, 100, [Impatient])],  # 400 never-pausing users: ~3x what two workers admit at once
}


WARM_UP = {"register-at-target": 10, "status-at-target": 10}  # seconds not counted in Locust's figures


class Scenario(LoadTestShape):
    measuring = SCENARIO not in WARM_UP

    def tick(self):
        elapsed = self.get_run_time()
        if not self.measuring and elapsed >= WARM_UP[SCENARIO] * SCALE:
            self.runner.stats.reset_all()  # from here on, the rate held (status counts and acks are kept)
            FROM_DUE.clear()
            global TIMETABLE_START
            TIMETABLE_START = time.monotonic()
            self.measuring = True
        for until, users, rate, classes in STAGES[SCENARIO]:
            if elapsed < until * SCALE:
                return max(1, round(users * SCALE * USERS)), rate * USERS, classes
        return None


def percentile(times: Counter, q: float) -> float:
    """The q-quantile of Locust's response-time histogram (milliseconds -> count)."""
    rank, seen = q * sum(times.values()), 0
    for ms in sorted(times):
        seen += times[ms]
        if seen >= rank:
            return ms
    return 0.0


def p(stats_entry, q: float) -> float:
    return stats_entry.get_response_time_percentile(q) if stats_entry.num_requests else 0.0


@events.quitting.add_listener
def check_budget(environment, **_):
    """Write the acknowledged registrations and a summary; fail the run when the budget is broken."""
    stats, problems = environment.stats, []
    taken = STATUS.pop("payloads_taken", 0)
    server_errors = {code: n for code, n in STATUS.items() if code >= 500 and code != 503}
    if server_errors:
        problems.append(f"server errors other than load shedding: {server_errors}")
    served = [e for e in stats.entries.values() if not e.name.endswith("[shed]")]
    failures = sum(e.num_failures for e in served)
    requests = sum(e.num_requests for e in served)
    if requests == 0:
        problems.append("no request was served")
    elif failures / requests > BUDGET.get("max_failure_ratio", 0.0):
        problems.append(f"{failures} of {requests} served requests failed")
    shed = [e for e in stats.entries.values() if e.name.endswith("[shed]")]
    if BUDGET.get("must_shed") and not shed:
        problems.append("nothing was shed: the overload scenario did not overload the server")
    # All shed answers together: a route shed a few dozen times has no meaningful p95 of its own.
    shed_times = sum((Counter(e.response_times) for e in shed), Counter())
    if shed and (value := percentile(shed_times, 0.95)) > BUDGET.get("shed_p95_ms", float("inf")):
        problems.append(f"shed answers: p95 {value:.0f} ms > {BUDGET['shed_p95_ms']} ms (shedding must be fast)")
    budgeted = BUDGET.get("p95_ms", {})
    from_due = {name: percentile(times, 0.95) for name, times in FROM_DUE.items() if name in budgeted}
    for name, limit in budgeted.items():
        entry = next((e for e in served if e.name == name), None)
        if entry is None or entry.num_requests == 0:
            problems.append(f"{name}: no request")
        elif (value := max(p(entry, 0.95), from_due.get(name, 0.0))) > limit:
            problems.append(
                f"{name}: p95 {value:.0f} ms > {limit} ms"
                + (" counted from when requests were due" if name in from_due else "")
            )
    summary = {
        "scenario": SCENARIO,
        "status_codes": dict(STATUS),
        "acknowledged_registrations": len(ACKED),
        "payloads_taken": taken,
        "problems": problems,
        "requests": {
            e.name: {
                "count": e.num_requests,
                "failures": e.num_failures,
                "rps": e.total_rps,
                "p50": p(e, 0.5),
                "p95": p(e, 0.95),
                "p99": p(e, 0.99),
            }
            for e in stats.entries.values()
        },
        "p95_from_due": from_due,
    }
    if path := os.environ.get("PPDB_LOADTEST_ACKS"):
        with open(path, "w") as f:
            json.dump({"acked": ACKED, "summary": summary}, f)
    for problem in problems:
        print(f"BUDGET BROKEN [{SCENARIO}]: {problem}")
    if problems:
        environment.process_exit_code = 1
