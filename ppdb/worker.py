"""Background work: the jobs every app process (or `ppdb worker` on its own) runs in a loop.

Safe to run in several processes at once: each job takes its own locks (advisory locks per period for
re-solves, row locks with skip locked for deadlines and for the messages of the outbox).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ppdb import flows
from ppdb.config import Settings
from ppdb.notifications import events, sender
from ppdb.selection import provisional

log = logging.getLogger("ppdb.worker")

Job = Callable[[async_sessionmaker[AsyncSession]], Awaitable[object]]
TURN = 5.0
"""Seconds between turns at most: a password reset link waits no longer to be sent."""
REMINDERS_EVERY = 600.0
"""Seconds between reminders (daftar ulang closing, every choice at risk) and pruning the outbox."""


def jobs(settings: Settings, *, interval: float) -> list[Job]:
    """What the loop does each turn, in order."""
    transports = sender.transports(settings)
    reminded = [0.0]

    async def resolve(sessionmaker: async_sessionmaker[AsyncSession]) -> list[int]:
        return await provisional.tick(sessionmaker, secret=settings.secret_key, interval=interval)

    async def deadlines(sessionmaker: async_sessionmaker[AsyncSession]) -> list[int]:
        async with sessionmaker() as session, session.begin():
            return await flows.release_expired(session)

    async def remind(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        if time.monotonic() - reminded[0] >= REMINDERS_EVERY:
            async with sessionmaker() as session, session.begin():
                await events.reregistration_due(session)
                await events.choices_at_risk(session)
                await sender.prune(session)
            reminded[0] = time.monotonic()

    async def send(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
        lease = timedelta(seconds=settings.outbox_lease)
        return await sender.deliver(sessionmaker, transports, base_url=settings.public_url, lease=lease)

    return [resolve, deadlines, remind, send]


async def loop(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, *, interval: float) -> None:
    """Provisional re-solves (each open period every `interval` seconds), daftar ulang deadlines and reminders,
    and the outbox's messages; each job on its own, so one failing does not hold up the others."""
    work = jobs(settings, interval=interval)
    while True:
        for job in work:
            try:
                await job(sessionmaker)
            except Exception:
                log.exception("background job %s failed", getattr(job, "__name__", job))
        await asyncio.sleep(min(TURN, max(1.0, interval / 4)))
