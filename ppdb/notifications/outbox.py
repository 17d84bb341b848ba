"""Writing to the outbox, inside the transaction of the event (so a message exists exactly when its event
committed). A message goes to the parent's account on every channel it has: e-mail, and the phone number for
SMS/WhatsApp when given. Walk-in registrations without an account are told nothing (they have the proof)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, Table, case, cast, column, func, literal, select, true, values
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Insert, Select

from ppdb.accounts.models import User
from ppdb.db.session import json_text
from ppdb.notifications.messages import TEMPLATES
from ppdb.notifications.models import Channel, Notification

USERS: Table = User.__table__  # type: ignore[assignment]
CHANNELS = values(column("channel", String), name="channels").data([(c.value,) for c in Channel])


def about(number: Any, **more: Any) -> Any:
    """A message's parameters in SQL: the registration's number, its status page's path, and `more`."""
    pairs: list[Any] = ["registration_number", number, "path", literal("/pendaftaran/").concat(number)]
    for name, value in more.items():
        pairs += [name, value]
    return func.jsonb_build_object(*pairs)


def to_parents(source: Select[Any], kind: str) -> Insert:
    """INSERT the messages of `kind` for each row of `source` (columns `parent_id`, `key`: what the message is
    about, `params`: jsonb): one per channel the parent has. A key already in the outbox is skipped."""
    assert kind in TEMPLATES, kind
    rows = source.subquery("told")
    recipient = case((CHANNELS.c.channel == Channel.EMAIL.value, USERS.c.email), else_=USERS.c.phone)
    messages = (
        select(
            cast(CHANNELS.c.channel, Notification.__table__.c.channel.type),
            recipient,
            rows.c.key.concat(":").concat(CHANNELS.c.channel),
            literal(kind),
            rows.c.params,
        )
        .select_from(rows.join(USERS, USERS.c.id == rows.c.parent_id).join(CHANNELS, true()))
        .where(recipient.is_not(None))
    )
    statement = insert(Notification).from_select(["channel", "recipient", "key", "kind", "params"], messages)
    return statement.on_conflict_do_nothing(index_elements=["key"])


async def to_parent(session: AsyncSession, parent_id: int | None, kind: str, key: str, **params: Any) -> None:
    """The message of `kind` to one parent (nobody for a registration without an account)."""
    if parent_id is None:
        return
    source = select(
        literal(parent_id).label("parent_id"),
        literal(key).label("key"),
        cast(literal(json_text(params)), JSONB).label("params"),
    )
    await session.execute(to_parents(source, kind))


def to_address(session: AsyncSession, channel: Channel, recipient: str, kind: str, key: str, **params: Any) -> None:
    """The message of `kind` to an address given directly (a password reset asked for by phone or e-mail)."""
    assert kind in TEMPLATES, kind
    session.add(Notification(key=key, channel=channel, recipient=recipient, kind=kind, params=params))
