"""Grouping without a database: what arrives together is written together, and each caller gets its own answer."""

from __future__ import annotations

import asyncio

import pytest

from ppdb.db.grouping import Grouped


class Recorder:
    def __init__(self, fail_on: int | None = None) -> None:
        self.groups: list[tuple[str, list[int]]] = []
        self.fail_on = fail_on

    async def write(self, key: str, items: list[int]) -> list[int]:
        self.groups.append((key, items))
        await asyncio.sleep(0.01)  # a statement in flight: later arrivals queue meanwhile
        if self.fail_on in items:
            raise ValueError(f"{self.fail_on} failed")
        return [item * 10 for item in items]


async def test_arrivals_while_a_group_is_in_flight_go_together_in_the_next():
    recorder = Recorder()
    group = Grouped(recorder.write, limit=5)
    first = asyncio.create_task(group("a", 0))
    await asyncio.sleep(0.001)  # the first goes alone, at once
    rest = await asyncio.gather(*(group("a", i) for i in range(1, 13)), group("b", 99))
    assert await first == 0 and rest == [i * 10 for i in range(1, 13)] + [990]
    assert [items for key, items in recorder.groups if key == "a"] == [[0], [1, 2, 3, 4, 5], [6, 7, 8, 9, 10], [11, 12]]
    assert [items for key, items in recorder.groups if key == "b"] == [[99]]  # its own key, its own statement


async def test_a_failed_write_fails_its_group_only():
    recorder = Recorder(fail_on=3)
    group = Grouped(recorder.write, limit=2)
    results = await asyncio.gather(*(group("a", i) for i in range(1, 6)), return_exceptions=True)
    assert [r if isinstance(r, int) else str(r) for r in results] == [10, 20, "3 failed", "3 failed", 50]


async def test_a_caller_that_goes_away_does_not_stop_the_others():
    recorder = Recorder()
    group = Grouped(recorder.write)
    leaving = asyncio.create_task(group("a", 1))
    staying = asyncio.create_task(group("a", 2))
    await asyncio.sleep(0)
    leaving.cancel()
    assert await staying == 20
    with pytest.raises(asyncio.CancelledError):
        await leaving
    assert recorder.groups == [("a", [1, 2])]  # written all the same: the statement was already on its way


async def test_under_load_the_next_group_lingers_for_more():
    recorder = Recorder()
    group = Grouped(recorder.write, linger=0.06)

    async def later(item: int, delay: float) -> int:
        await asyncio.sleep(delay)
        return await group("a", item)

    # 1 goes alone at once; 2 arrives while it is in flight (10 ms), 3 and 4 during the linger after it.
    results = await asyncio.gather(later(1, 0), later(2, 0.002), later(3, 0.02), later(4, 0.04))
    assert results == [10, 20, 30, 40]
    assert recorder.groups == [("a", [1]), ("a", [2, 3, 4])]
    # Without a linger the one that came meanwhile goes on its own.
    recorder.groups.clear()
    group = Grouped(recorder.write)
    await asyncio.gather(later(1, 0), later(2, 0.002), later(3, 0.02), later(4, 0.04))
    assert recorder.groups[:2] == [("a", [1]), ("a", [2])]
