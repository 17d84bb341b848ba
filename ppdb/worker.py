"""Background work: the jobs every app process (or `ppdb worker` on its own) runs in a loop.

Safe to run in several processes at once: each job takes its own locks (advisory locks per period for
re-solves, row locks with skip locked for deadlines).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ppdb import flows
from ppdb.selection import provisional

log = logging.getLogger("ppdb.worker")

Job = Callable[[async_sessionmaker[AsyncSession]], Awaitable[object]]


def jobs(*, secret: str, interval: float) -> list[Job]:
    """What the loop does each turn, in order."""

    async def resolve(sessionmaker: async_sessionmaker[AsyncSession]) -> list[int]:
        return await provisional.tick(sessionmaker, secret=secret, interval=interval)

    async def deadlines(sessionmaker: async_sessionmaker[AsyncSession]) -> list[int]:
        async with sessionmaker() as session, session.begin():
            return await flows.release_expired(session)

    return [resolve, deadlines]


async def loop(sessionmaker: async_sessionmaker[AsyncSession], *, secret: str, interval: float) -> None:
    """Provisional re-solves (each open period every `interval` seconds) and daftar ulang deadlines."""
    work = jobs(secret=secret, interval=interval)
    while True:
        try:
            for job in work:
                await job(sessionmaker)
        except Exception:
            log.exception("background work failed")
        await asyncio.sleep(max(1.0, interval / 4))
