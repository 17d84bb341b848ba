"""The process's runtime state: caches and batchers that live as long as the app, one object per app.

`create_app` makes one and keeps it on `app.state.runtime`; handlers reach it through the `runtime` dependency
and hand it to the services. A test builds its own app (or `Runtime()`), so nothing is shared across apps and
cache keys need only what identifies an entry within one database.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import secrets
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import asyncpg
from argon2 import PasswordHasher
from cachetools import LRUCache, TTLCache
from litestar.datastructures import State
from litestar.di import NamedDependency

from ppdb.applicants.validation import PeriodContext
from ppdb.authz import Principal
from ppdb.db.grouping import Grouped
from ppdb.errors import Overloaded

T = TypeVar("T")


class Passwords:
    """argon2 off the event loop, `at_once` passwords at a time, the rest waiting in turn; past the places below
    a sign-up or login is shed (503) before it touches the database.

    Sign-ins and new passwords have places of their own, so a flood of sign-ups never sheds a login (security
    review M2). A sign-in holds a database connection while it waits (its attempt is counted under a lock), so
    few wait, `at_once + waiting`, and each goes before the new passwords that have waited less than `new_wait`
    (so a stream of sign-ins delays a sign-up by that much at most, never for good). A sign-up's password
    is hashed before the database is asked anything, so more may wait: a sign-up wave's bursts are taken in turn
    instead of shed, and each shed parent is another request two seconds later (docs/benchmarks.md, issue 27).
    As many as can expect their turn within `new_wait` seconds at the recent pace of hashing here (`seconds`, a
    moving average), and never more than `new_waiting`: when the machine is overloaded and hashing slows, fewer
    wait, and the rest are told at once to come back. A shed parent loses two seconds or more coming back, so
    waiting up to three is the better answer while it lasts.

    The hashing thread runs at the requests' own priority: one per worker, it takes its fair share beside them
    and no more (why not lower: docs/benchmarks.md, issue 27)."""

    def __init__(
        self,
        hasher: PasswordHasher | None = None,
        *,
        at_once: int = 1,
        waiting: int = 8,
        new_waiting: int = 32,
        new_wait: float = 3.0,
    ) -> None:
        # OWASP's argon2id minimum (19 MiB, 2 passes, 1 lane): slow for a guesser, cheap enough for a wave.
        self.hasher = hasher or PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
        self.at_once, self.waiting, self.new_waiting, self.new_wait = at_once, waiting, new_waiting, new_wait
        self.seconds = 0.025  # one call's time from its turn to its end, until measured here
        self.queued = self.new = 0
        self._executor: ThreadPoolExecutor | None = None
        self._dummy: str | None = None
        self._hashing = 0  # calls handed to the executor (at most `at_once`)
        # The others, by when they came (a new password's counted `new_wait` later), then in order of arrival.
        self._turns: list[tuple[float, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()

    def admit(self, *, new: bool = False) -> None:
        """Shed (503) a new password past its places, a sign-in past the sign-ins' places."""
        if new:
            full = self.new >= self.new_waiting or self.queued * self.seconds >= self.at_once * self.new_wait
        else:
            full = self.queued - self.new >= self.at_once + self.waiting
        if full:
            raise Overloaded()

    async def run(self, function: Callable[..., T], *args: Any, new: bool = False) -> T:
        """Run an argon2 call off the event loop, a bounded number at a time."""
        self.admit(new=new)
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.at_once, thread_name_prefix="argon2")
        self.queued += 1
        self.new += new
        try:
            await self._turn(new)
            loop = asyncio.get_running_loop()
            started = loop.time()
            try:
                return await loop.run_in_executor(self._executor, function, *args)
            finally:
                self.seconds += (loop.time() - started - self.seconds) / 10
                self._next()
        finally:
            self.queued -= 1
            self.new -= new

    async def _turn(self, new: bool) -> None:
        """Wait until this call may be handed to the executor."""
        if self._hashing < self.at_once:
            self._hashing += 1
            return
        loop = asyncio.get_running_loop()
        turn = loop.create_future()
        heapq.heappush(self._turns, (loop.time() + self.new_wait * new, next(self._arrivals), turn))
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():  # handed its turn just as its request was cancelled
                self._next()
            raise

    def _next(self) -> None:
        """A call is done: its turn to the first still waiting."""
        while self._turns:
            turn = heapq.heappop(self._turns)[2]
            if not turn.done():
                turn.set_result(None)
                return
        self._hashing -= 1

    async def hash(self, password: str) -> str:
        """A new password's hash (a sign-up, a reset)."""
        return await self.run(self.hasher.hash, password, new=True)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Raises argon2's mismatch errors; an unknown account (None) is verified against a dummy hash, so
        that its timing is that of a known one."""
        if password_hash is None:
            if self._dummy is None:
                self._dummy = await self.run(self.hasher.hash, secrets.token_hex(16))
            password_hash = self._dummy
        return await self.run(self.hasher.verify, password_hash, password)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False)


# A known token is answered from memory for a few seconds (admission day: every poll is authenticated).
# A session's expiry is still exact; a logout served by another worker takes effect within PRINCIPAL_TTL.
PRINCIPAL_TTL = 5.0


@dataclass(eq=False)
class Runtime:
    # Registration. A period's schools and zones, once it has left draft (imports are draft-only).
    places: TTLCache[int, tuple[str, dict[str, Any], dict[int, Any], frozenset[str]]] = field(
        default_factory=lambda: TTLCache(maxsize=256, ttl=60)
    )
    # Periods open for registration, as the last registration saw them (the fast path validates against
    # this copy; its statement writes only while the period is still that version and open).
    open_periods: LRUCache[int, PeriodContext] = field(default_factory=lambda: LRUCache(maxsize=64))
    # The fast path's group commit (built in __post_init__: its write function needs `open_periods`).
    registrations: Grouped[Any, Any, asyncpg.Record | None] = field(init=False)
    # The status page: each application's explanation for a run (the key holds all it depends on) ...
    explained: TTLCache[Hashable, Any] = field(default_factory=lambda: TTLCache(maxsize=100_000, ttl=600))
    # ... the runs they are explained with, with the rules they ran with (`explain.Ran`: a run never changes;
    # each re-solve is a new one; a run whose period's rules changed since is not kept) ...
    runs: LRUCache[int, Any] = field(default_factory=lambda: LRUCache(maxsize=64))
    # ... and the status reads arriving together, read by one statement.
    status_rows: Grouped[Any, str, asyncpg.Record | None] = field(init=False)
    # Public content built and encoded once per ETag (http_cache.respond).
    built: LRUCache[str, bytes] = field(default_factory=lambda: LRUCache(maxsize=1024))
    # Accounts: password hashing, and the principal of each token seen lately with its session's expiry.
    passwords: Passwords = field(default_factory=Passwords)
    principals: TTLCache[str, tuple[Principal, Any]] = field(
        default_factory=lambda: TTLCache(maxsize=200_000, ttl=PRINCIPAL_TTL)
    )

    def sign_out(self, user_ids: Iterable[int]) -> None:
        """Forget the cached principals of these accounts (their sessions were just deleted); another worker's
        cache forgets them within `PRINCIPAL_TTL`."""
        gone = set(user_ids)
        for digest, (principal, _) in list(self.principals.items()):
            if principal.id in gone:
                self.principals.pop(digest, None)

    def __post_init__(self) -> None:
        from ppdb.applicants.service import store_group
        from ppdb.selection.service import status_rows

        # Under load a registration waits up to 5 ms longer for a larger group (docs/benchmarks.md).
        self.registrations = Grouped(partial(store_group, self.open_periods), linger=0.005)
        self.status_rows = Grouped(status_rows)


# For code that runs outside an app (the CLI, the demo loader): their own password hashing.
_standalone: Passwords | None = None


def standalone_passwords() -> Passwords:
    global _standalone
    if _standalone is None:
        _standalone = Passwords()
    return _standalone


def provide_runtime(state: State) -> Runtime:
    """The `runtime` dependency."""
    runtime: Runtime = state.runtime
    return runtime


# A handler's parameter `runtime: AppRuntime` receives the app's runtime.
AppRuntime = NamedDependency[Runtime]
