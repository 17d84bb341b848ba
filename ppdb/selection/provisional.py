"""Provisional re-solves while registration is open: each period every `interval` seconds (a job of
`ppdb.worker`).

Every app process may run it; the per-period advisory lock and the age of the last provisional run make
sure only one of them solves a period per interval.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ppdb.regions.models import Period, PeriodStatus
from ppdb.selection import service
from ppdb.selection.models import RunKind, SelectionRun

log = logging.getLogger("ppdb.provisional")
KEEP = 2  # the latest provisional runs kept; parents always read the newest
SYSTEM = "provisional"  # the actor of provisional runs in the audit log


async def tick(sessionmaker: async_sessionmaker[AsyncSession], *, secret: str, interval: float) -> list[int]:
    """Re-solve every open period whose provisional result is older than `interval`; return the new run ids."""
    async with sessionmaker() as session:
        period_ids = list(
            await session.scalars(
                select(Period.id).where(Period.status == PeriodStatus.REGISTRATION_OPEN).order_by(Period.id)
            )
        )
    done = []
    for period_id in period_ids:
        async with sessionmaker() as session, session.begin():
            if not await service.try_lock(session, period_id):
                continue  # another process is solving this period right now
            last = await session.scalar(
                select(SelectionRun.started_at)
                .where(SelectionRun.period_id == period_id, SelectionRun.kind == RunKind.PROVISIONAL)
                .order_by(SelectionRun.id.desc())
                .limit(1)
            )
            if last is not None and datetime.now(UTC) - last < timedelta(seconds=interval):
                continue
            selection_run = await service.run(session, period_id, SYSTEM, secret=secret, kind=RunKind.PROVISIONAL)
            keep = (
                select(SelectionRun.id)
                .where(SelectionRun.period_id == period_id, SelectionRun.kind == RunKind.PROVISIONAL)
                .order_by(SelectionRun.id.desc())
                .limit(KEEP)
            )
            await session.execute(
                delete(SelectionRun).where(
                    SelectionRun.period_id == period_id,
                    SelectionRun.kind == RunKind.PROVISIONAL,
                    SelectionRun.id.not_in(keep),
                )
            )
            done.append(selection_run.id)
            log.info(
                "provisional run %s of period %s: %s applicants, seconds %s",
                selection_run.id,
                period_id,
                selection_run.applicants,
                selection_run.seconds,
            )
    return done
