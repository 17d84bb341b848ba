"""The outbox: one row per message and channel, written in the transaction of the event it tells about."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Identity, Index, SmallInteger, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ppdb.db.base import Base, pg_enum


class Channel(enum.StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    """SMS or WhatsApp, through the region's HTTP gateway."""


class Notification(Base):
    """A message waiting to be sent, or sent. The event's transaction writes it; the worker claims it for a
    while (`due_at`), sends it, and marks it sent, so a crash at any point loses none: an unmarked message is
    sent again after its lease, with the same idempotency key (`key`)."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_due", "due_at", postgresql_where=text("sent_at IS NULL AND failed_at IS NULL")),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    """What the message is about and to whom, e.g. `registration:2026-SMP-ABCD1234:email`: an event told
    twice is stored once, and the gateway's idempotency key."""
    channel: Mapped[Channel] = mapped_column(pg_enum(Channel, "notification_channel"))
    recipient: Mapped[str] = mapped_column(String(254))
    """The parent's e-mail address or phone number (never the child's data)."""
    kind: Mapped[str] = mapped_column(String(40))
    """A template of `messages.TEMPLATES`."""
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    due_at: Mapped[datetime] = mapped_column(server_default=func.now())
    """The next attempt; while a sender holds the message, the end of its lease."""
    attempts: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    sent_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    """Given up on (a permanent refusal, or `sender.MAX_ATTEMPTS`)."""
    last_error: Mapped[str | None] = mapped_column(String(200))
    """The kind of the last failure (never the server's text, which may repeat the recipient)."""
