"""Writing to the audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ppdb.audit.models import AuditEntry


def record(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: object,
    period_id: int | None = None,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
) -> None:
    """Add an entry to the current transaction: it lands exactly when the change it describes does."""
    session.add(
        AuditEntry(
            actor=actor, action=action, entity=entity, entity_id=str(entity_id), period_id=period_id, old=old, new=new
        )
    )


_INSERT = insert(AuditEntry.__table__)


async def record_now(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: object,
    period_id: int | None = None,
    new: dict[str, Any] | None = None,
) -> None:
    """`record`, written at once with a precompiled statement instead of at the next flush (hot paths)."""
    await (await session.connection()).execute(
        _INSERT, dict(actor=actor, action=action, entity=entity, entity_id=str(entity_id), period_id=period_id, new=new)
    )
