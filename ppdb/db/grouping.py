"""Grouping: writes (group commit) or reads that arrive while a statement is in flight go together in the next.

On admission day hundreds of registrations and status reads arrive each second in every worker. One
statement each, PostgreSQL pays the round trip, the statement (and the commit) hundreds of times; grouped
as they queue up, once per group. Nothing waits for a group to fill: the first of a quiet moment goes
alone, at once, and only what arrives while it is in flight waits (for that one statement). Under load, a
`linger` lets the next group gather a little longer once one has gone: a few milliseconds more per
request for fewer, larger statements (measured in docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)
Item = TypeVar("Item")
Result = TypeVar("Result")


class Grouped(Generic[Key, Item, Result]):
    """`await group(key, item)` answers `write(key, items)[i]` for the item, where `items` are those queued
    under the same key (at most `limit` at a time, one group in flight per key and process). An exception
    from `write` is raised to every caller of that group. After a group, while more are queued, the next
    waits `linger` seconds for others to join it (unless `limit` are already waiting)."""

    def __init__(
        self,
        write: Callable[[Key, list[Item]], Awaitable[Sequence[Result]]],
        *,
        limit: int = 64,
        linger: float = 0.0,
    ) -> None:
        self._write, self._limit, self._linger = write, limit, linger
        self._queues: dict[Key, list[tuple[Item, asyncio.Future[Result]]]] = {}
        self._flushers: set[asyncio.Task[None]] = set()  # a reference each, or the loop may drop them

    async def __call__(self, key: Key, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = []
            flusher = asyncio.create_task(self._flush(key, queue))
            self._flushers.add(flusher)
            flusher.add_done_callback(self._flushers.discard)
        queue.append((item, future))
        return await future

    async def _flush(self, key: Key, queue: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        group: list[tuple[Item, asyncio.Future[Result]]] = []
        try:
            while queue:
                if group and self._linger and len(queue) < self._limit:  # busy: a group went, more came meanwhile
                    await asyncio.sleep(self._linger)
                group = queue[: self._limit]
                del queue[: self._limit]
                try:
                    results = await self._write(key, [item for item, _ in group])
                except Exception as error:  # each caller raises it
                    for _, future in group:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for (_, future), result in zip(group, results, strict=True):
                    if not future.done():  # a caller that went away (client disconnected) is cancelled
                        future.set_result(result)
        finally:
            del self._queues[key]
            for _, future in group + queue:  # left only when cancelled (shutdown): nobody waits forever
                future.cancel()
