"""A real SMTP server (aiosmtpd) and a local SMS/WhatsApp gateway stub, each in a thread, for the sender.

Both can be told to fail or to hang on what they receive; both record what they delivered. The gateway
delivers a message once per `Idempotency-Key`, as a real provider's idempotency does.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Behaviour:
    fail: list[str] = field(default_factory=list)
    """Answers to give, in order, before accepting (e.g. "451 4.3.0 Coba lagi", "503", "400")."""
    hang: threading.Event | None = None
    """While set up and not set: every incoming message waits (a send in flight when the sender is killed)."""
    seen: int = 0
    """Messages that arrived (also those failed or left hanging)."""
    held_answer: str | None = None
    """The answer to a message that was left hanging, once released (None: accepted after all)."""

    def next_answer(self) -> str | None:
        self.seen += 1
        if (hang := self.hang) is not None:
            hang.wait(60)
            return self.held_answer
        return self.fail.pop(0) if self.fail else None


class Mailbox(Behaviour):
    def __init__(self) -> None:
        super().__init__(held_answer="451 4.4.2 Sambungan terputus")  # the client died before the end of DATA
        self.delivered: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd's handler hook
        import asyncio

        answer = await asyncio.to_thread(self.next_answer)
        if answer is not None:
            return answer
        self.delivered.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"

    def texts(self) -> list[str]:
        return [str(m["Subject"]) + "\n" + m.get_content() for m in self.delivered]  # type: ignore[attr-defined]


class Gateway(Behaviour):
    def __init__(self) -> None:
        super().__init__()
        self.delivered: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def receive(self, key: str, body: dict[str, Any]) -> int:
        self.requests.append((key, body))
        answer = self.next_answer()
        if answer is not None:
            return int(answer)
        self.delivered.setdefault(key, body)  # a key seen before is acknowledged, not sent again
        return 200

    def texts(self) -> list[str]:
        return [body["text"] for body in self.delivered.values()]


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, str]]:
    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, f"smtp://127.0.0.1:{port}"
    finally:
        if mailbox.hang is not None:
            mailbox.hang.set()
        controller.stop()


@contextmanager
def gateway_server() -> Iterator[tuple[Gateway, str]]:
    gateway = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            status = gateway.receive(self.headers.get("Idempotency-Key", ""), body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gateway, f"http://127.0.0.1:{server.server_address[1]}/send"
    finally:
        if gateway.hang is not None:
            gateway.hang.set()
        server.shutdown()
        server.server_close()
