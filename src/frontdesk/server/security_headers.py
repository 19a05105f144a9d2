"""Security headers on every HTTP response: JSON, static files, ``/docs``, ``/openapi.json``.

A pure-ASGI middleware adds each header the response does not already carry (the dashboard
and the message preview set stricter or different ones of their own, which win):

- ``X-Content-Type-Options: nosniff`` — a JSON or text reply is never sniffed into HTML;
- ``X-Frame-Options: DENY`` and CSP ``frame-ancestors 'none'`` — nothing is framed;
- ``Content-Security-Policy`` — same-origin resources only, no plugins, no ``<base>``;
- ``Referrer-Policy: no-referrer`` — paths can carry tokens (unsubscribe links);
- ``Strict-Transport-Security`` when the public URL (``FRONTDESK_PUBLIC_URL``) is https.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_CSP = (
    "default-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)
HSTS = "max-age=31536000"
"""One year; no ``includeSubDomains``: other hosts of the practice's domain are not ours."""

DEFAULT_HEADERS: tuple[tuple[str, str], ...] = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", DEFAULT_CSP),
    ("Referrer-Policy", "no-referrer"),
)


def wants_hsts(public_url: str) -> bool:
    """HSTS only when users reach the server over https (a plain-http demo must not pin it)."""
    return public_url.strip().lower().startswith("https://")


class SecurityHeadersMiddleware:
    """Adds :data:`DEFAULT_HEADERS` (and HSTS) to every response that lacks them."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.headers = DEFAULT_HEADERS + ((("Strict-Transport-Security", HSTS),) if hsts else ())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers:
                    if name not in headers:
                        headers.append(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
