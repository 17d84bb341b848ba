"""The sender against a real SMTP server and a local gateway: each message delivered once, retried after a
failure, given up on a refusal, no personal identifier of a child in any of them, and nothing lost or sent
twice when the worker is killed mid-send."""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import create_async_engine

from ppdb.db import migrate
from ppdb.db.session import make_sessionmaker
from ppdb.notifications import outbox, sender
from ppdb.notifications.models import Channel, Notification
from tests.conftest import TEST_SECRET, logged_in
from tests.helpers import open_period, registration, scratch_database
from tests.integration.notifications.servers import gateway_server, smtp_server

BASE = "https://ppdb.contoh.go.id"


def transports(mail_url: str, gateway_url: str) -> dict[Channel, sender.Transport]:
    return {
        Channel.EMAIL: sender.Smtp(mail_url, "PPDB <ppdb@contoh.go.id>"),
        Channel.PHONE: sender.Gateway(gateway_url),
    }


async def rows(session) -> list[Notification]:
    session.expire_all()
    return list(await session.scalars(select(Notification).order_by(Notification.id)))


async def test_each_message_is_delivered_once_and_names_no_child(
    admin, transport, operator, client, sessionmaker, session
):
    period = await open_period(admin)
    signed = await client.post(
        "/api/auth/signup",
        json={"email": "ibu@contoh.test", "password": "kata-sandi-uji-2027", "name": "Ibu", "phone": "0812-3456-7890"},
    )
    assert signed.status_code == 201, signed.text
    family = await logged_in(transport, "ibu@contoh.test", "kata-sandi-uji-2027")
    body = registration(serial=7, address="Jl. Kenanga Gg. Melati No. 17")
    created = await family.post(f"/api/periods/{period['id']}/applications", json=body)
    assert created.status_code == 201, created.text
    number = created.json()["registration_number"]
    assert (await family.put(f"/api/applications/{number}/documents/kk", content=b"%PDF-1.4 kk")).status_code == 200
    school = await operator()
    reason = f"NIK {body['nik']} pada KK {body['kk_number']} tidak terbaca"  # a verifier typing identifiers
    decided = await school.post(
        f"/api/applications/{number}/documents/kk/decision", json={"decision": "rejected", "reason": reason}
    )
    assert decided.status_code == 200, decided.text
    assert (await client.post("/api/auth/password-reset", json={"login": "0812 3456 7890"})).status_code == 202

    with smtp_server() as (mailbox, mail_url), gateway_server() as (gateway, gateway_url):
        sent = await sender.deliver(sessionmaker, transports(mail_url, gateway_url), base_url=BASE)
        again = await sender.deliver(sessionmaker, transports(mail_url, gateway_url), base_url=BASE)

    stored = await rows(session)
    kinds = sorted((n.kind, n.channel.value) for n in stored)
    assert kinds == [
        ("document_rejected", "email"),
        ("document_rejected", "phone"),
        ("password_reset", "phone"),
        ("registration_received", "email"),
        ("registration_received", "phone"),
    ]
    assert (sent, again) == (5, 0)
    assert all(n.sent_at is not None and n.attempts == 1 for n in stored)
    assert len(mailbox.delivered) == 2 and len(gateway.delivered) == 3 and len(gateway.requests) == 3
    assert {m["To"] for m in mailbox.delivered} == {"ibu@contoh.test"}
    assert {b["to"] for b in gateway.delivered.values()} == {"6281234567890"}
    texts = mailbox.texts() + gateway.texts()
    assert any(f"{BASE}/pendaftaran/{number}" in t for t in texts)
    assert any("tidak terbaca" in t for t in texts)  # the reason travels, without the identifiers in it
    identifiers = [
        body["nik"],
        body["kk_number"],
        body["address"],
        "Kenanga",
        str(body["latitude"]),
        str(body["longitude"]),
    ]
    leaks = [(i, t) for t in texts for i in identifiers if i in t]
    assert not leaks
    reset = next(n for n in stored if n.kind == "password_reset")
    assert reset.params == {}  # the link's token is wiped once sent
    assert any("/sandi-baru?token=" in t for t in gateway.texts())


async def test_a_failed_send_is_retried_after_a_while(sessionmaker, session, monkeypatch):
    async with sessionmaker.begin() as s:
        outbox.to_address(
            s, Channel.EMAIL, "a@contoh.test", "result_published", "t:1", registration_number="X", path="/"
        )
        outbox.to_address(
            s, Channel.PHONE, "6281200000001", "result_published", "t:2", registration_number="X", path="/"
        )
    with smtp_server() as (mailbox, mail_url), gateway_server() as (gateway, gateway_url):
        mailbox.fail, gateway.fail = ["451 4.3.0 Coba lagi"], ["503"]
        first = await sender.deliver(sessionmaker, transports(mail_url, gateway_url), base_url=BASE)
        waiting = [(n.attempts, n.sent_at, n.last_error, n.due_at > n.created_at) for n in await rows(session)]
        later = await sender.deliver(sessionmaker, transports(mail_url, gateway_url), base_url=BASE)
        monkeypatch.setattr(sender, "backoff", lambda attempts: timedelta(0))
        await session.execute(update(Notification).values(due_at=text("now()")))
        await session.commit()
        second = await sender.deliver(sessionmaker, transports(mail_url, gateway_url), base_url=BASE)
    assert (first, later, second) == (0, 0, 2)  # not again before its backoff, then once
    assert waiting == [(1, None, "SMTPDataError", True), (1, None, "HTTP 503", True)]
    assert len(mailbox.delivered) == 1 and len(gateway.delivered) == 1
    assert [n.attempts for n in await rows(session)] == [2, 2]


async def test_a_refused_message_is_given_up(sessionmaker, session):
    async with sessionmaker.begin() as s:
        outbox.to_address(
            s, Channel.PHONE, "6281200000002", "result_published", "t:3", registration_number="X", path="/"
        )
    with gateway_server() as (gateway, gateway_url):
        gateway.fail = ["400"]
        sent = await sender.deliver(sessionmaker, {Channel.PHONE: sender.Gateway(gateway_url)}, base_url=BASE)
        again = await sender.deliver(sessionmaker, {Channel.PHONE: sender.Gateway(gateway_url)}, base_url=BASE)
    (row,) = await rows(session)
    assert (sent, again, gateway.seen) == (0, 0, 1)
    assert row.failed_at is not None and row.sent_at is None and row.last_error == "HTTP 400"


async def test_a_channel_without_a_transport_keeps_its_messages(sessionmaker, session):
    async with sessionmaker.begin() as s:
        outbox.to_address(
            s, Channel.PHONE, "6281200000003", "result_published", "t:4", registration_number="X", path="/"
        )
    with smtp_server() as (_, mail_url):
        assert await sender.deliver(sessionmaker, {Channel.EMAIL: sender.Smtp(mail_url, "p@x.id")}, base_url=BASE) == 0
    (row,) = await rows(session)
    assert row.attempts == 0 and row.sent_at is None and row.failed_at is None


def _worker(url: str, mail_url: str, gateway_url: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PPDB_DATABASE_URL": url,
        "PPDB_SECRET_KEY": TEST_SECRET,
        "PPDB_SMTP_URL": mail_url,
        "PPDB_SMS_GATEWAY_URL": gateway_url,
        "PPDB_OUTBOX_LEASE": "3",
        "PPDB_PROVISIONAL_INTERVAL": "1",
        "PPDB_PUBLIC_URL": BASE,
    }
    command = [sys.executable, "-m", "ppdb", "worker"]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def _until(condition, seconds: float = 60.0) -> None:
    """Wait until `condition()` (a value or an awaitable of one) is true."""
    deadline = time.monotonic() + seconds
    while not (await result if inspect.isawaitable(result := condition()) else result):
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.2)


async def test_a_worker_killed_mid_send_loses_nothing_and_sends_nothing_twice(server_url):
    async with scratch_database(server_url) as url:
        migrate.upgrade(url)
        engine = create_async_engine(url)
        sessionmaker = make_sessionmaker(engine)

        async def all_sent() -> bool:
            async with sessionmaker() as s:
                return not await s.scalar(select(func.count()).where(Notification.sent_at.is_(None)))

        try:
            async with sessionmaker.begin() as s:
                for i in range(3):
                    about = {"registration_number": f"N{i}", "path": "/"}
                    outbox.to_address(s, Channel.EMAIL, f"k{i}@contoh.test", "result_published", f"m:{i}", **about)
                    outbox.to_address(s, Channel.PHONE, f"62812000001{i}", "result_published", f"p:{i}", **about)
            with smtp_server() as (mailbox, mail_url), gateway_server() as (gateway, gateway_url):
                mailbox.hang, gateway.hang = threading.Event(), threading.Event()
                first = _worker(url, mail_url, gateway_url)
                try:  # sends in flight, held by the servers
                    await _until(lambda: mailbox.seen >= 1 and gateway.seen >= 1)
                finally:
                    first.send_signal(signal.SIGKILL)
                    first.wait(10)
                held = gateway.seen
                for server in (mailbox, gateway):  # the e-mails never completed; the gateway took its requests
                    hang, server.hang = server.hang, None
                    assert hang is not None
                    hang.set()
                second = _worker(url, mail_url, gateway_url)
                try:
                    await _until(lambda: len(mailbox.delivered) == 3 and len(gateway.delivered) == 3)
                    await _until(all_sent)
                finally:
                    second.send_signal(signal.SIGTERM)
                    second.wait(10)
            async with sessionmaker() as s:
                stored = list(await s.scalars(select(Notification).order_by(Notification.id)))
        finally:
            await engine.dispose()
    assert all(n.sent_at is not None and n.failed_at is None for n in stored)
    assert sorted(m["To"] for m in mailbox.delivered) == ["k0@contoh.test", "k1@contoh.test", "k2@contoh.test"]
    assert sorted(gateway.delivered) == ["p:0", "p:1", "p:2"]
    assert held >= 1 and len(gateway.requests) > 3  # sent again under the same key, delivered once
    assert max(n.attempts for n in stored) >= 2


async def test_messages_kept_long_enough_are_pruned(sessionmaker, session):
    async with sessionmaker.begin() as s:
        for key in ("old-sent", "new-sent", "old-failed", "waiting"):
            outbox.to_address(
                s, Channel.EMAIL, "a@contoh.test", "result_published", key, registration_number="X", path="/"
            )
    await session.execute(
        text(
            "UPDATE notifications SET sent_at = CASE key WHEN 'old-sent' THEN now() - interval '31 days' "
            "WHEN 'new-sent' THEN now() - interval '1 day' END, "
            "failed_at = CASE key WHEN 'old-failed' THEN now() - interval '91 days' END"
        )
    )
    assert await sender.prune(session) == 2
    assert sorted(n.key for n in await rows(session)) == ["new-sent", "waiting"]


async def test_a_misconfigured_gateway_loses_nothing(sessionmaker, session, monkeypatch):
    """A wrong token (401) or a greylisting mail server is tried again later, never given up."""
    async with sessionmaker.begin() as s:
        for i in range(3):
            about = {"registration_number": f"N{i}", "path": "/"}
            outbox.to_address(s, Channel.PHONE, f"62812000004{i}", "result_published", f"g:{i}", **about)
    with gateway_server() as (gateway, gateway_url):
        gateway.fail = ["401"] * 3
        first = await sender.deliver(sessionmaker, {Channel.PHONE: sender.Gateway(gateway_url)}, base_url=BASE)
        waiting = [(n.failed_at, n.last_error) for n in await rows(session)]
        monkeypatch.setattr(sender, "backoff", lambda attempts: timedelta(0))
        await session.execute(update(Notification).values(due_at=text("now()")))
        later = await sender.deliver(sessionmaker, {Channel.PHONE: sender.Gateway(gateway_url)}, base_url=BASE)
    assert first == 0 and waiting == [(None, "HTTP 401")] * 3
    assert later == 3 and len(gateway.delivered) == 3


async def test_a_reset_link_is_not_sent_after_it_expired(sessionmaker, session):
    async with sessionmaker.begin() as s:
        outbox.to_address(s, Channel.EMAIL, "a@contoh.test", "password_reset", "r:1", path="/sandi-baru?token=x")
    await session.execute(text("UPDATE notifications SET created_at = now() - interval '31 minutes'"))
    with smtp_server() as (mailbox, mail_url):
        assert await sender.deliver(sessionmaker, {Channel.EMAIL: sender.Smtp(mail_url, "p@x.id")}, base_url=BASE) == 0
    (row,) = await rows(session)
    assert not mailbox.delivered and row.failed_at is not None and row.last_error == "expired"
