"""One pure-ASGI observer of every HTTP request: method, route, status, time — for the access
log and, when ``/metrics`` is on, the request counter and latency histogram.

It records the matched route's template (``/unsubscribe/{token}``), never the concrete path
nor the query string: paths and queries can carry tokens (unsubscribe links, the
answering-service API's token) and ids a patient could be traced by. One middleware times a
request once for both sinks (each ASGI layer costs every request).
"""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from frontdesk.logs import get_logger

log = get_logger("frontdesk.http")


class RequestLogMiddleware:
    """Logs each request (``log_requests``) and feeds the process's metrics instruments
    (``metered``: ``FRONTDESK_METRICS__TOKEN`` is set)."""

    def __init__(self, app: ASGIApp, *, log_requests: bool = True, metered: bool = False) -> None:
        self.app = app
        self.log_requests = log_requests
        self.metered = metered

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: dict[str, Any] = {"code": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope)
            if self.log_requests:
                log.info(
                    "http.request",
                    method=scope["method"],
                    route=route,
                    status=status["code"],
                    ms=round(elapsed * 1000, 2),
                )
            if self.metered:
                instruments = scope["app"].state.context.meter.instruments
                if instruments is not None:
                    instruments.request(scope["method"], route, status["code"], elapsed)


def route_template(scope: Scope) -> str:
    """The matched route's template (``(unmatched)`` when none matched)."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    return template if isinstance(template, str) else "(unmatched)"
