"""The Unity sandbox as an ASGI app: ``create_unity_app(config)``.

Serves the JSON endpoints ``GetToken``, ``MagicJson``, ``RetireToken`` (and
``RetireSecurityToken``) under the PM layout ``/UnityPM/UnityService.svc/json/`` and the
Ubiquity layout ``/UnityService.svc/json/``, matching paths case-insensitively as IIS does,
and the admin API under ``/sandbox/admin/`` (see :mod:`frontdesk.sandbox.unity.admin`).
The :class:`~frontdesk.sandbox.unity.sandbox.Sandbox` is ``app.state.sandbox``.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Iterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from frontdesk.sandbox.unity.admin import admin_routes
from frontdesk.sandbox.unity.clock import Clock
from frontdesk.sandbox.unity.config import SandboxConfig, default_config
from frontdesk.sandbox.unity.faults import NO_FAULTS, FaultPlan, break_body, error_page
from frontdesk.sandbox.unity.magic import get_token, retire_token, run_magic, token_request_user
from frontdesk.sandbox.unity.sandbox import Sandbox
from frontdesk.sandbox.unity.wire import (
    NULL_REFERENCE,
    MagicError,
    MagicReply,
    MalformedMagicBody,
    encode_reply,
    parse_magic_request,
)

JSON_BASES = ("/unitypm/unityservice.svc/json/", "/unityservice.svc/json/")
"""The PM and Ubiquity JSON bases, lower-cased."""
OPERATIONS = {
    "gettoken": "GetToken",
    "magicjson": "MagicJson",
    "retiretoken": "RetireToken",
    "retiresecuritytoken": "RetireToken",
}
STREAM_AFTER_BYTES = 1 << 20
"""Replies larger than this are streamed (chunked) instead of built whole."""
_HEADERS = {"X-AspNet-Version": "4.0.30319", "Cache-Control": "private"}
_JSON = "application/json; charset=utf-8"
_RETIRE_XML = b'<RetireSecurityTokenResponse xmlns="http://www.allscripts.com/Unity"/>'


def create_unity_app(
    config: SandboxConfig | None = None, *, clock: Clock | None = None
) -> Starlette:
    """Build the sandbox app (``None`` = :func:`default_config` and the real clock)."""
    sandbox = Sandbox(config if config is not None else default_config(), clock=clock)
    methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
    app = Starlette(routes=[*admin_routes(), Route("/{path:path}", _unity, methods=methods)])
    app.state.sandbox = sandbox
    return app


def operation_for(path: str) -> tuple[str, str] | None:
    """``(operation, last segment)`` for a Unity JSON path, case-insensitively; else ``None``."""
    lowered = path.lower().rstrip("/")
    for base in JSON_BASES:
        if lowered.startswith(base):
            segment = lowered[len(base) :]
            operation = OPERATIONS.get(segment)
            return (operation, segment) if operation else None
    return None


async def _unity(request: Request) -> Response:
    sandbox: Sandbox = request.app.state.sandbox
    resolved = operation_for(request.url.path)
    if resolved is None:
        return Response(error_page(404), 404, _HEADERS, "text/html")
    if request.method != "POST":
        return Response(b"Method not allowed.", 405, {**_HEADERS, "Allow": "POST"}, "text/html")
    operation, segment = resolved
    body = await request.body()
    magic = None
    if operation == "MagicJson":
        try:
            magic = parse_magic_request(body)
        except MalformedMagicBody:
            magic = None
    knobs = sandbox.knobs
    if not knobs.applies_to(operation, magic.action.strip() if magic else None):
        plan = NO_FAULTS
    else:
        key = _client_key(sandbox, operation, body, magic.token if magic else "")
        limited = _rate_limited(sandbox, key)
        if limited is not None:
            return limited
        plan = sandbox.dice.plan(knobs)
        failed = await _transport_fault(sandbox, plan, key)
        if failed is not None:
            return failed
    if operation == "GetToken":
        return _text_reply(get_token(sandbox, body), plan)
    if operation == "RetireToken":
        retire_token(sandbox, body)
        if segment == "retiresecuritytoken":
            return Response(_RETIRE_XML, 200, _HEADERS, "application/xml; charset=utf-8")
        return Response(b"", 200, _HEADERS)
    reply: MagicReply = (
        MagicError(NULL_REFERENCE)
        if magic is None
        else run_magic(sandbox, magic, force_expiry=plan.token_expired)
    )
    return _magic_reply(encode_reply(reply), plan)


def _client_key(sandbox: Sandbox, operation: str, body: bytes, token: str) -> str:
    """Whose rate-limit bucket a request draws from: its credential when known."""
    if operation == "GetToken":
        return token_request_user(body)[0]
    session = sandbox.tokens.peek(token) if token else None
    return session.service_user if session is not None else ""


def _rate_limited(sandbox: Sandbox, key: str) -> Response | None:
    knobs = sandbox.knobs
    if knobs.rate_limit_per_second is None:
        return None
    wait = sandbox.rate_limiter.retry_after(
        key, rate=knobs.rate_limit_per_second, burst=knobs.rate_limit_burst
    )
    if wait is None:
        return None
    _log_fault(sandbox, key, "HTTP 429: rate limit exceeded (sandbox rate_limit knob).")
    headers = {**_HEADERS, "Retry-After": str(max(1, math.ceil(wait)))}
    return Response(error_page(429), 429, headers, "text/html")


async def _transport_fault(sandbox: Sandbox, plan: FaultPlan, key: str) -> Response | None:
    """Apply latency, then a hang (HTTP 504 afterwards) or an HTTP 5xx page, if rolled."""
    if plan.delay_seconds:
        await asyncio.sleep(plan.delay_seconds)
    if plan.hang:
        await asyncio.sleep(sandbox.knobs.timeout_seconds)
        _log_fault(sandbox, key, "HTTP 504: request timed out (sandbox timeout knob).")
        return Response(error_page(504), 504, _HEADERS, "text/html")
    if plan.error_status is not None:
        _log_fault(
            sandbox, key, f"HTTP {plan.error_status}: injected by the sandbox error_rate knob."
        )
        return Response(error_page(plan.error_status), plan.error_status, _HEADERS, "text/html")
    return None


def _log_fault(sandbox: Sandbox, key: str, message: str) -> None:
    if sandbox.find_credential(key) is not None:
        sandbox.server_log.record(key, logged_at=sandbox.now(), action="", error=message)


def _text_reply(text: str, plan: FaultPlan) -> Response:
    body, media_type = text.encode(), "application/octet-stream"
    if plan.broken_body is not None:
        body, media_type = break_body(body, plan.broken_body)
    return Response(body, 200, _HEADERS, media_type)


def _magic_reply(chunks: Iterator[bytes], plan: FaultPlan) -> Response:
    head: list[bytes] = []
    size = 0
    streaming = False
    for chunk in chunks:
        head.append(chunk)
        size += len(chunk)
        if size >= STREAM_AFTER_BYTES:
            streaming = True
            break
    if plan.broken_body is not None:
        body, media_type = break_body(b"".join(head), plan.broken_body)
        return Response(body, 200, _HEADERS, media_type)
    if not streaming:
        return Response(b"".join(head), 200, _HEADERS, _JSON)

    async def stream() -> AsyncIterator[bytes]:
        for chunk in head:
            yield chunk
        for chunk in chunks:
            yield chunk

    return StreamingResponse(stream(), 200, _HEADERS, _JSON)
