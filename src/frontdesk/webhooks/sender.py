"""The one thin HTTP client of signed webhooks (the only webhook module importing httpx).

One method, :meth:`WebhookSender.post`, which never raises for a remote failure: it returns a
:class:`SendResult` classifying it once: 2xx delivered; a timeout, a refused or lost
connection, a TLS error, 408, 429 or 5xx a failed attempt the pump retries with backoff
(``retryable``); any other answer (3xx, 4xx) a refusal, which the pump parks at once for an
operator to replay once the receiver is fixed, or retries where the event's kind says so
(ticket pushes); a destination the outbound rule refuses is ``refused`` (parked).
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
from frontdesk.security.outbound import DestinationRefused
from frontdesk.settings import Settings

Transport = httpx.AsyncBaseTransport
USER_AGENT = "frontdesk-webhooks/1"
MAX_CONNECTIONS = 8
"""Connections a sender keeps (deliveries are sent one at a time; receivers differ)."""


@dataclass(frozen=True, slots=True)
class SendResult:
    status_code: int | None
    error: str | None = None
    refused: bool = False
    """Not sent: the outbound rule refused the destination (a human must act)."""

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def retryable(self) -> bool:
        """Worth another attempt: no answer, or one that says "later"."""
        code = self.status_code
        if self.refused:
            return False
        return code is None or code in (408, 429) or code >= 500


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

    async def post(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        timeout_s: float | None = None,
    ) -> SendResult:
        """POST ``body``; ``timeout_s`` replaces the sender's timeout for this request."""
        timeout = httpx.Timeout(timeout_s) if timeout_s is not None else httpx.USE_CLIENT_DEFAULT
        try:
            response = await self._client.post(
                url,
                content=body,
                headers={"Content-Type": "application/json", **headers},
                timeout=timeout,
            )
        except DestinationRefused as refused:  # the message names the setting, not the host
            return SendResult(None, refused.message[:200], refused=True)
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


class Senders:
    """The pump's two senders, one connection pool each: ``guarded`` checks every new
    connection with the outbound rule (tenants' URLs: review-request endpoints), ``plain``
    does not (ticket pushes, whose URLs the desk's administrators set)."""

    def __init__(self, *, guarded: WebhookSender, plain: WebhookSender) -> None:
        self.guarded = guarded
        self.plain = plain

    @classmethod
    def from_settings(cls, settings: Settings, *, connect_check: ConnectCheck | None) -> Senders:
        """Both senders on the process's outbound stack."""
        timeout_s = settings.webhooks.timeout_s
        return cls(
            guarded=WebhookSender.from_settings(
                settings, timeout_s=timeout_s, connect_check=connect_check
            ),
            plain=WebhookSender.from_settings(settings, timeout_s=timeout_s),
        )

    def pick(self, *, guarded: bool) -> WebhookSender:
        return self.guarded if guarded else self.plain

    async def aclose(self) -> None:
        await self.guarded.aclose()
        await self.plain.aclose()
