"""The sender: a job of `ppdb worker` that claims due messages from the outbox, sends them and marks them sent.

A claim is a lease: the message's `due_at` moves past the lease and its attempt is counted, committed before
sending. Killed while sending, the worker leaves the message due again when the lease ends, and it is sent
again under the same key (the gateway's idempotency key, the e-mail's Message-ID); a message marked sent is
never sent again. Failures are retried with backoff; a permanent refusal, or `MAX_ATTEMPTS`, gives up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib
import httpx
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ppdb.config import Settings
from ppdb.notifications.messages import TEMPLATES, Message, render
from ppdb.notifications.models import Channel, Notification

log = logging.getLogger("ppdb.notifications")

MAX_ATTEMPTS = 10
LEASE = timedelta(minutes=5)
"""Longer than a batch takes to send (each message times out after `TIMEOUT`)."""
TIMEOUT = 30.0
BATCH = 50


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failure: 1, 2, 4 ... minutes, at most an hour."""
    return timedelta(minutes=min(2 ** (attempts - 1), 60))


@dataclass(frozen=True, slots=True)
class Outgoing:
    id: int
    key: str
    channel: Channel
    recipient: str
    kind: str
    params: dict[str, Any]
    attempts: int
    created_at: datetime


class Refused(Exception):
    """The receiving side refused the message for good (a bad address, a rejected request): not retried."""


class GatewayBusy(Exception):
    """The gateway did not take the message now: busy (HTTP 408, 429, 5xx), or our token or address is wrong
    (401, 403, 404); tried again later, so a configuration fix loses nothing."""


class Transport(Protocol):
    async def send(self, outgoing: Outgoing, message: Message) -> None:
        """Deliver, or raise: `Refused` for good, anything else to be retried."""


class Smtp:
    """E-mail through an SMTP server: `smtp://user:password@host:587` (STARTTLS when offered) or `smtps://`."""

    def __init__(self, url: str, sender: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("PPDB_SMTP_URL must look like smtp://user:password@host:587 or smtps://host:465")
        self.options: dict[str, Any] = {
            "hostname": parts.hostname,
            "port": parts.port or (465 if parts.scheme == "smtps" else 25),
            "username": unquote(parts.username) if parts.username else None,
            "password": unquote(parts.password) if parts.password else None,
            "use_tls": parts.scheme == "smtps",
            "timeout": TIMEOUT,
        }
        self.sender = sender
        self.domain = parseaddr(sender)[1].partition("@")[2] or "ppdb"

    async def send(self, outgoing: Outgoing, message: Message) -> None:
        email = EmailMessage()
        email["From"], email["To"], email["Subject"] = self.sender, outgoing.recipient, message.subject
        # The same message keeps its Message-ID when sent again after a crash: mail clients show it once.
        email["Message-ID"] = f"<ppdb-{outgoing.id}@{self.domain}>"
        email.set_content(message.text)
        try:
            await aiosmtplib.send(email, **self.options)
        except aiosmtplib.SMTPRecipientsRefused as err:  # 4xx (greylisting, a full mailbox) is tried again
            if all(r.code >= 500 for r in err.recipients):
                raise Refused(f"SMTP {err.recipients[0].code}") from None
            raise
        except (aiosmtplib.SMTPSenderRefused, aiosmtplib.SMTPAuthenticationError):
            raise  # our configuration, not the message: tried again (and the batch stops, see `deliver`)
        except aiosmtplib.SMTPResponseException as err:
            if err.code >= 500 and err.code not in (530, 535):  # the message refused for good
                raise Refused(f"SMTP {err.code}") from None
            raise


class Gateway:
    """SMS or WhatsApp through the region's provider: a JSON POST of `{"to", "text", "reference"}` with an
    `Idempotency-Key` header (the same for a message sent again) and the provider's bearer token."""

    def __init__(self, url: str, token: str | None = None, client: httpx.AsyncClient | None = None) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = client or httpx.AsyncClient(timeout=TIMEOUT)

    async def send(self, outgoing: Outgoing, message: Message) -> None:
        response = await self.client.post(
            self.url,
            json={"to": outgoing.recipient, "text": message.text, "reference": outgoing.key},
            headers={**self.headers, "Idempotency-Key": outgoing.key},
        )
        if response.status_code in (400, 422):  # this message refused (a bad number, say)
            raise Refused(f"HTTP {response.status_code}")
        if response.status_code >= 400:  # busy (408, 429, 5xx) or our configuration (401, 403, 404): again later
            raise GatewayBusy(f"HTTP {response.status_code}")


class Folder:
    """A demo's outbox: each message a text file under `path` (no mail server needed to read a reset link)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def send(self, outgoing: Outgoing, message: Message) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        text = f"Kepada: {outgoing.recipient}\nPerihal: {message.subject}\n\n{message.text}\n"
        (self.path / f"{outgoing.id:08d}-{outgoing.channel.value}.txt").write_text(text, encoding="utf-8")


async def claim(
    sessionmaker: async_sessionmaker[AsyncSession], channels: list[Channel], *, lease: timedelta, batch: int = BATCH
) -> list[Outgoing]:
    """Take up to `batch` due messages for `lease`, committed before anything is sent."""
    n = Notification
    due = (
        select(n.id)
        .where(n.sent_at.is_(None), n.failed_at.is_(None), n.due_at <= func.now(), n.channel.in_(channels))
        .order_by(n.due_at, n.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    async with sessionmaker.begin() as session:
        rows = await session.execute(
            update(n)
            .where(n.id.in_(due.scalar_subquery()))
            .values(attempts=n.attempts + 1, due_at=func.now() + lease)
            .returning(n.id, n.key, n.channel, n.recipient, n.kind, n.params, n.attempts, n.created_at)
        )
        return [Outgoing(*row) for row in rows]


def _reason(error: BaseException) -> str:
    """What is kept and logged of a failure: our own words, or the error's type (a server's text may repeat the
    recipient)."""
    return str(error) if isinstance(error, Refused | GatewayBusy) else type(error).__name__


async def _settle(
    sessionmaker: async_sessionmaker[AsyncSession], outgoing: Outgoing, error: BaseException | None
) -> None:
    """Mark a message sent, or due again after `backoff`, or given up."""
    n = Notification
    if error is None:
        values: dict[str, Any] = {"sent_at": func.now(), "last_error": None}
        if TEMPLATES[outgoing.kind].sensitive:
            values["params"] = {}
    else:
        final = isinstance(error, Refused) or outgoing.attempts >= MAX_ATTEMPTS
        values = {"last_error": _reason(error)[:200]}
        values |= {"failed_at": func.now()} if final else {"due_at": func.now() + backoff(outgoing.attempts)}
    async with sessionmaker.begin() as session:
        await session.execute(update(n).where(n.id == outgoing.id).values(**values))


async def _send(
    sessionmaker: async_sessionmaker[AsyncSession],
    transport: Transport,
    outgoing: Outgoing,
    base_url: str,
    settling: asyncio.Lock,
) -> bool:
    """Send one message and settle it at once (a crash after this loses nothing and repeats nothing); the
    batch's messages are sent together and settled one at a time (a small pool serves the worker)."""
    error: BaseException | None = None
    expires = TEMPLATES[outgoing.kind].expires if outgoing.kind in TEMPLATES else None
    try:
        if expires is not None and datetime.now(UTC) - outgoing.created_at > expires:
            raise Refused("expired")  # a reset link past its token's life helps nobody
        await transport.send(outgoing, render(outgoing.kind, outgoing.params, base_url))
    except (KeyError, IndexError, ValueError) as err:  # a template this version cannot fill
        error = Refused(f"template {outgoing.kind}: {type(err).__name__}")
    except Exception as err:
        error = err
    async with settling:
        await _settle(sessionmaker, outgoing, error)
    if error is not None:
        log.warning(
            "notification %s (%s, %s) not sent: %s", outgoing.id, outgoing.kind, outgoing.channel.value, _reason(error)
        )
    return error is None


async def deliver(
    sessionmaker: async_sessionmaker[AsyncSession],
    transports: Mapping[Channel, Transport],
    *,
    base_url: str,
    lease: timedelta = LEASE,
    batch: int = BATCH,
) -> int:
    """Send what is due on the channels that have a transport, batch after batch; the number sent."""
    sent, settling = 0, asyncio.Lock()
    while outgoing := await claim(sessionmaker, list(transports), lease=lease, batch=batch):
        sends = (_send(sessionmaker, transports[o.channel], o, base_url, settling) for o in outgoing)
        done = await asyncio.gather(*sends)
        sent += sum(done)
        if len(outgoing) < batch or not any(done):  # nothing got through: the rest waits for the next turn
            break
    return sent


KEEP_SENT = timedelta(days=30)
"""How long a sent message stays in the outbox (it holds the parent's e-mail or phone): for questions like
"was I told?"; a given-up one stays `KEEP_FAILED`, for the helpdesk."""
KEEP_FAILED = timedelta(days=90)


async def prune(session: AsyncSession) -> int:
    """Delete messages kept long enough (`KEEP_SENT`, `KEEP_FAILED`); the number deleted."""
    n = Notification
    done = await session.execute(
        delete(n).where((n.sent_at < func.now() - KEEP_SENT) | (n.failed_at < func.now() - KEEP_FAILED))
    )
    return done.rowcount or 0  # type: ignore[attr-defined]


def transports(settings: Settings) -> dict[Channel, Transport]:
    """The configured channels; a demo without them writes messages to `<data_dir>/outbox` instead. A channel
    without a transport keeps its messages waiting (none is lost) until one is configured."""
    configured: dict[Channel, Transport] = {}
    if settings.smtp_url:
        configured[Channel.EMAIL] = Smtp(settings.smtp_url, settings.mail_from)
    if settings.sms_gateway_url:
        configured[Channel.PHONE] = Gateway(settings.sms_gateway_url, settings.sms_gateway_token)
    if settings.demo:
        folder = Folder(settings.data_path / "outbox")
        configured = {channel: configured.get(channel, folder) for channel in Channel}
    return configured
