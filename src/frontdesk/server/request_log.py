"""A pure-ASGI access log: method, route, status, time.

It logs the matched route's template (``/unsubscribe/{token}``), never the concrete path nor
the query string: paths and queries can carry tokens (unsubscribe links, the answering-service
API's token) and ids a patient could be traced by.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from frontdesk.logs import get_logger

log = get_logger("frontdesk.http")


class RequestLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

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
            log.info(
                "http.request",
                method=scope["method"],
                route=route_template(scope),
                status=status["code"],
                ms=round((time.perf_counter() - started) * 1000, 2),
            )


def route_template(scope: Scope) -> str:
    """The matched route's template (``(unmatched)`` when none matched)."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    return template if isinstance(template, str) else "(unmatched)"
