"""``/metrics`` for Prometheus (requests are timed by route template in
:class:`frontdesk.server.request_log.RequestLogMiddleware`).

Both exist only when ``FRONTDESK_METRICS__TOKEN`` is set: without it ``/metrics`` answers 404
and no request is timed. With it, a scrape must send ``Authorization: Bearer <token>``
(compared in constant time; 401 otherwise). The exposition is the process's instruments (or,
with ``PROMETHEUS_MULTIPROC_DIR``, every process's) followed by states read from the database
at scrape time (:mod:`frontdesk.usage.metrics`; docs/usage.md).
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import Response

from frontdesk.errors import AuthenticationRequired, NotFound
from frontdesk.server.dependencies import get_process
from frontdesk.usage.gauges import read_gauges
from frontdesk.usage.metrics import CONTENT_TYPE, exposition

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """The Prometheus text exposition (token-protected; 404 when no token is configured)."""
    process = get_process(request)
    token = process.settings.metrics.token
    if token is None:
        raise NotFound("not found")
    given = request.headers.get("authorization", "")
    scheme, _, credentials = given.partition(" ")
    expected = token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        credentials.strip().encode(), expected
    ):
        raise AuthenticationRequired("a valid bearer token is required")
    gauges = await read_gauges(process.ctx)
    body = exposition(process.meter.instruments, gauges)
    return Response(body, media_type=CONTENT_TYPE)
