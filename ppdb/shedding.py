"""Load shedding: past a bound of requests in flight in this worker, answer 503 with Retry-After at once.

On admission day a server that queues without bound lets every request slow down until clients time out
(and retry, making it worse). Refusing the excess in a millisecond keeps the accepted requests fast and
tells the browser when to come back; an accepted registration is never dropped, it was either answered
or refused before it started.
"""

from __future__ import annotations

import msgspec
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, HTTPResponseStartEvent, Receive, Scope, Send

from ppdb.errors import OVERLOADED

RETRY_AFTER_SECONDS = 2
BODY = msgspec.json.encode({"code": "overloaded", "message": OVERLOADED, "field": None})  # encoded once
EXEMPT = ("/health",)


class LoadShedding(ASGIMiddleware):
    scopes = ("http",)  # type: ignore[assignment]

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if self.in_flight >= self.limit and scope["path"] not in EXEMPT:
            start: HTTPResponseStartEvent = {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
                    (b"cache-control", b"no-store"),
                    (b"content-length", str(len(BODY)).encode()),
                ],
            }
            await send(start)
            await send({"type": "http.response.body", "body": BODY, "more_body": False})
            return
        self.in_flight += 1
        try:
            await next_app(scope, receive, send)
        finally:
            self.in_flight -= 1
