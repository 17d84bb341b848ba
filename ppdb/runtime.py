"""The process's runtime state: caches and batchers that live as long as the app, one object per app.

`create_app` makes one and keeps it on `app.state.runtime`; handlers reach it through the `runtime` dependency
and hand it to the services. A test builds its own app (or `Runtime()`), so nothing is shared across apps and
cache keys need only what identifies an entry within one database.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import asyncpg
from cachetools import LRUCache, TTLCache
from litestar.datastructures import State
from litestar.di import NamedDependency

from ppdb.applicants.validation import PeriodContext
from ppdb.db.grouping import Grouped


@dataclass(eq=False)
class Runtime:
    # Registration. A period's schools and zones, once it has left draft (imports are draft-only).
    places: TTLCache[int, tuple[str, dict[str, Any], dict[int, Any]]] = field(
        default_factory=lambda: TTLCache(maxsize=256, ttl=60)
    )
    # Periods open for registration, as the last registration saw them (the fast path validates against
    # this copy; its statement writes only while the period is still that version and open).
    open_periods: LRUCache[int, PeriodContext] = field(default_factory=lambda: LRUCache(maxsize=64))
    # The fast path's group commit (built in __post_init__: its write function needs `open_periods`).
    registrations: Grouped[Any, Any, asyncpg.Record | None] = field(init=False)
    # The status page: each application's explanation for a run (the key holds all it depends on) ...
    explained: TTLCache[Hashable, Any] = field(default_factory=lambda: TTLCache(maxsize=100_000, ttl=600))
    # ... and the status reads arriving together, read by one statement.
    status_rows: Grouped[Any, str, asyncpg.Record | None] = field(init=False)
    # Public content built once per ETag (http_cache.respond).
    built: LRUCache[str, Any] = field(default_factory=lambda: LRUCache(maxsize=1024))

    def __post_init__(self) -> None:
        from ppdb.applicants.service import store_group
        from ppdb.selection.service import status_rows

        # Under load a registration waits up to 5 ms longer for a larger group (docs/benchmarks.md).
        self.registrations = Grouped(partial(store_group, self.open_periods), linger=0.005)
        self.status_rows = Grouped(status_rows)


def provide_runtime(state: State) -> Runtime:
    """The `runtime` dependency."""
    runtime: Runtime = state.runtime
    return runtime


# A handler's parameter `runtime: AppRuntime` receives the app's runtime.
AppRuntime = NamedDependency[Runtime]
