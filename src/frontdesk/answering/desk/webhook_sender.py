"""The one thin HTTP client of company webhooks (the only desk module importing httpx).

One method, :meth:`WebhookSender.post`, which never raises for a remote failure: it returns a
:class:`SendResult` classifying it once (2xx delivered; anything else — 3xx, 4xx, 5xx, timeout,
refused connection, TLS error — a failed attempt the delivery loop retries with backoff).
Redirects are not followed (a moved endpoint must be re-configured, not guessed). The URL is
never logged (it may carry a receiver's token); httpx's own request lines are kept at WARNING
by :mod:`frontdesk.logs`. Requests go through the process's outbound stack
(:func:`frontdesk.outbound.http.build_transport`: the CA bundle, ``HTTPS_PROXY`` /
``HTTP_PROXY`` / ``NO_PROXY``, the connect check).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from frontdesk.outbound.http import ConnectCheck, build_transport
from frontdesk.settings import Settings

Transport = httpx.AsyncBaseTransport
USER_AGENT = "frontdesk-webhooks/1"
MAX_CONNECTIONS = 8
"""Connections a sender keeps (deliveries are sent one at a time; receivers differ)."""


@dataclass(frozen=True, slots=True)
class SendResult:
    status_code: int | None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookSender:
    """POSTs signed bodies; keep one per process (connection pool) and :meth:`aclose` it.

    The sender owns ``transport``: :meth:`aclose` closes it.
    """

    def __init__(self, *, transport: Transport, timeout_s: float = 10.0) -> None:
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
            transport=transport,
            headers={"User-Agent": USER_AGENT},
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, *, timeout_s: float, connect_check: ConnectCheck | None = None
    ) -> WebhookSender:
        """A sender on a transport of its own from the process's outbound stack."""
        transport = build_transport(
            settings, max_connections=MAX_CONNECTIONS, connect_check=connect_check
        )
        return cls(transport=transport, timeout_s=timeout_s)

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult:
        try:
            response = await self._client.post(
                url, content=body, headers={"Content-Type": "application/json", **headers}
            )
        except httpx.TimeoutException:
            return SendResult(None, "timeout")
        except httpx.ConnectError:
            return SendResult(None, "connection failed")
        except httpx.HTTPError as exc:
            return SendResult(None, f"HTTP error: {type(exc).__name__}")
        if 200 <= response.status_code < 300:
            return SendResult(response.status_code)
        return SendResult(response.status_code, f"HTTP {response.status_code}")

    async def aclose(self) -> None:
        await self._client.aclose()
