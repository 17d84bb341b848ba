"""Idempotency-Key for registrations: a retried request gets the first one's answer, never a second child.

The transactional path claims the key in its own transaction and stores the answer there; the fast path
stores key and answer in its one statement (`write.REGISTER`), where a used key fails it (a unique violation)
and the transactional path replays.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec
from sqlalchemy import Table, bindparam, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ppdb.applicants import schemas
from ppdb.applicants.models import IdempotentResponse
from ppdb.authz import Principal
from ppdb.errors import AppError

ANSWERS: Table = IdempotentResponse.__table__  # type: ignore[assignment]
_CLAIM = insert(ANSWERS).on_conflict_do_nothing(index_elements=["key"]).returning(ANSWERS.c.key)
_ANSWER = update(ANSWERS).where(ANSWERS.c.key == bindparam("claimed")).values(status_code=201)


def key_for(parent: Principal, period_id: int, key: str | None) -> str | None:
    """The stored key: a parent's key for a period (two parents, or two periods, never share one), the client's
    part as its SHA-256, so a key of any allowed length fits the column."""
    if key is None:
        return None
    return f"register:{parent.id}:{period_id}:{hashlib.sha256(key.encode()).hexdigest()}"


def request_hash(data: msgspec.Struct) -> str:
    return hashlib.sha256(msgspec.json.encode(data)).hexdigest()


async def claim(session: AsyncSession, key: str, data: msgspec.Struct) -> schemas.ApplicationOut | None:
    """Claim the key for this request, or return the first request's answer.

    The claim row is inserted in the request's own transaction: a concurrent retry waits on it, then
    replays the committed answer; if the first request failed, its claim rolls back and the retry proceeds.
    """
    digest = request_hash(data)
    if await (await session.connection()).scalar(_CLAIM, {"key": key, "request_hash": digest}) is not None:
        return None
    stored = await session.get(IdempotentResponse, key)
    if stored is None or stored.request_hash != digest:
        raise AppError(
            "idempotency_key_reused", "Idempotency-Key ini sudah dipakai untuk permintaan lain.", "Idempotency-Key"
        )
    return msgspec.convert(stored.body, schemas.ApplicationOut, strict=False)


async def answer(session: AsyncSession, key: str, out: schemas.ApplicationOut) -> None:
    """Store the answer under the claimed key."""
    body: Any = msgspec.to_builtins(out)
    await (await session.connection()).execute(_ANSWER, {"claimed": key, "body": body})
