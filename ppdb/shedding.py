"""Load shedding: past a bound of requests in flight in this worker, answer 503 with Retry-After at once.

On admission day a server that queues without bound lets every request slow down until clients time out
(and retry, making it worse). Refusing the excess in a millisecond keeps the accepted requests fast and
tells the browser when to come back; an accepted registration is never dropped, it was either answered
or refused before it started.
"""

from __future__ import annotations

import asyncio

import msgspec
from litestar.exceptions import HTTPException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, HTTPRequestEvent, HTTPResponseStartEvent, Receive, ReceiveMessage, Scope, Send

from ppdb.errors import HTTP_CODES, OVERLOADED, AppError

RETRY_AFTER_SECONDS = 2
EXEMPT = ("/health", "/health/live")
SMALL_BODY = 64 * 1024
"""Bodies up to this size (every JSON body and form but the uploads) are read whole before the request counts as
in flight; larger ones stream to the route, which holds its own limit (refusing from Content-Length unread)."""


def _error(code: str, message: str) -> bytes:
    return msgspec.json.encode({"code": code, "message": message, "field": None})  # encoded once, at import


OVERLOADED_BODY = _error("overloaded", OVERLOADED)
TIMEOUT_BODY = _error(*HTTP_CODES[408])


class LoadShedding(ASGIMiddleware):
    """A request counts as in flight from when its body is in, not from its first byte: a client sending a small
    body slowly (on a bad connection, or on purpose, 50 at once) holds none of the bound that the requests being
    answered share. A body not in within `body_seconds` is answered 408 (an upload's too, while the route reads
    it); the production shape also puts a buffering proxy in front (`deploy/nginx.conf`)."""

    scopes = ("http",)  # type: ignore[assignment]

    def __init__(self, limit: int, body_seconds: float = 20.0) -> None:
        self.limit = limit
        self.body_seconds = body_seconds
        self.in_flight = 0

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        length = _body_length(scope)
        if length:
            deadline = asyncio.get_running_loop().time() + self.body_seconds
            if length <= SMALL_BODY:
                try:
                    async with asyncio.timeout_at(deadline):
                        body = await _read_body(receive)
                except TimeoutError:
                    await _answer(send, 408, TIMEOUT_BODY, close=True)
                    return
                if body is None:  # the client went away before its body was in: nobody to answer
                    return
                receive = _replay(body, receive)
            else:
                receive = _until(deadline, receive)
        if self.in_flight >= self.limit and scope["path"] not in EXEMPT:
            await _answer(send, 503, OVERLOADED_BODY)
            return
        self.in_flight += 1
        try:
            await next_app(scope, receive, send)
        finally:
            self.in_flight -= 1


def _body_length(scope: Scope) -> int:
    """The body's size from Content-Length; a chunked or unreadable one counts as large; 0: no body."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.strip().isdigit() else SMALL_BODY + 1
        if name == b"transfer-encoding":
            return SMALL_BODY + 1
    return 0


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None  # http.disconnect
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """`receive` for the app: the whole body at once, then the connection's own messages (a disconnect)."""
    whole: HTTPRequestEvent = {"type": "http.request", "body": body, "more_body": False}
    pending: list[ReceiveMessage] = [whole]

    async def again() -> ReceiveMessage:
        return pending.pop() if pending else await receive()

    return again


def _until(deadline: float, receive: Receive) -> Receive:
    """`receive` for the app that gives up on the body at `deadline` (408); after the body, untimed."""
    reading = True

    async def timed() -> ReceiveMessage:
        nonlocal reading
        if not reading:
            return await receive()
        try:
            async with asyncio.timeout_at(deadline):
                message = await receive()
        except TimeoutError:
            raise HTTPException(status_code=408) from None
        if message["type"] == "http.disconnect":  # gone mid-body: an answer nobody reads, not a server error
            raise AppError("client_gone", "Koneksi terputus sebelum data selesai terkirim.", status_code=400)
        reading = bool(message.get("more_body", False))
        return message

    return timed


async def _answer(send: Send, status: int, body: bytes, *, close: bool = False) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"cache-control", b"no-store"),
        (b"content-length", str(len(body)).encode()),
    ]
    if status == 503:
        headers.append((b"retry-after", str(RETRY_AFTER_SECONDS).encode()))
    if close:  # the rest of an unread body would be taken for the next request
        headers.append((b"connection", b"close"))
    start: HTTPResponseStartEvent = {"type": "http.response.start", "status": status, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})
