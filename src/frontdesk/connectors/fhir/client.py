"""The one thin async FHIR client: SMART Backend Services tokens, searches, retries, limits.

The only module of the FHIR source that imports httpx (CONVENTIONS rule 5); the transport is
injected: the process's outbound stack (:func:`frontdesk.outbound.http.build_transport`), or
in tests ``httpx.ASGITransport(app=create_fhir_app(...))``.

- **Token** (SMART App Launch 2.x, Backend Services): ``POST`` the token URL
  (``fhir.token.url``, else ``token_endpoint`` of ``{base}/.well-known/smart-configuration``)
  with ``grant_type=client_credentials``, the scopes and a ``private_key_jwt`` client
  assertion signed RS384 or ES384 (``iss`` = ``sub`` = client id, ``aud`` = token URL,
  ``exp`` 4 minutes ahead, a fresh ``jti``, ``kid`` in the header). The access token is
  cached until ``refresh_margin_s`` before its ``expires_in``; one request at a time asks for
  a new one (single flight behind a lock), the others wait for it.
- **401**: the token is dropped and the call retried once with a fresh one; a second 401 is
  :class:`~frontdesk.connectors.errors.CredentialsRejected` (the integration stops).
- **Retries**: only transient failures (connect errors, timeouts, 429, 5xx), at most
  ``RetryPolicy.max_attempts`` per call, ``Retry-After`` honoured, a retry budget.
- **Limits**: a call holds one of its integration's slots across its retries, and a
  process-wide slot only while on the wire (:mod:`frontdesk.connectors.limits`).
- **Paging**: ``Bundle.link[next]`` is followed only on the base URL's own origin, so the
  bearer token never goes to another host.
- **Logs** carry the call name, status, attempt and timing: never a URL query (patient ids),
  a body, a token or the assertion.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

import httpx
import jwt
import orjson

from frontdesk.connectors.errors import (
    CredentialsRejected,
    ProtocolViolation,
    RateLimited,
    RemoteTimeout,
    Unreachable,
)
from frontdesk.connectors.fhir.config import BASE_URL, FhirGroupConfig
from frontdesk.connectors.fhir.errors import http_error, not_json, token_error
from frontdesk.connectors.limits import ConcurrencyLimits
from frontdesk.errors import ConfigurationError, FrontdeskError, TransientError
from frontdesk.logs import get_logger
from frontdesk.retry import RetryBudget, RetryPolicy

log = get_logger(__name__)
SOURCE = "FHIR_R4"
"""How this client names its source to the call observer."""

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]
Transport = httpx.AsyncBaseTransport
"""An injectable HTTP transport (re-exported so that no other module imports httpx)."""

FHIR_JSON = "application/fhir+json"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME_S = 240
"""``exp`` of a client assertion: under the 5 minutes SMART allows, with room for skew."""
SMART_CONFIGURATION = ".well-known/smart-configuration"
FHIR_RETRY = RetryPolicy(max_attempts=4, base_s=0.5, max_s=8.0, jitter=0.75)


@dataclass
class ClientStats:
    """Counters of one client (benchmarks, tests)."""

    requests: int = 0
    calls: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    tokens: int = 0
    reauthentications: int = 0


@dataclass(frozen=True)
class Page:
    """One searchset Bundle page: its resources (raw JSON objects) and the next page's URL."""

    resources: list[dict[str, Any]]
    next_url: str | None
    total: int | None = None


class _TokenRefused(CredentialsRejected):
    """HTTP 401 to an authorised call: worth one fresh token before giving up."""


@dataclass
class _Token:
    value: str = field(repr=False)
    refresh_at: float


class FhirClient:
    """Reads one group's FHIR server with a SMART backend-services token."""

    def __init__(
        self,
        config: FhirGroupConfig,
        *,
        limits: ConcurrencyLimits,
        transport: Transport,
        owns_transport: bool = False,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        self.config = config
        self._limits = limits
        self._group_slots = limits.group_slots()
        self._retry = retry or FHIR_RETRY
        self._budget = RetryBudget(self._retry)
        self._rng = rng or random.Random()
        self._sleep: Sleep = sleep or asyncio.sleep
        self._transport = transport
        self._owns_transport = owns_transport
        self._token: _Token | None = None
        self._token_lock = asyncio.Lock()
        self._token_url: str | None = config.token_url
        self._origin = _origin(config.base_url)
        timeout = config.timeout_s
        self._timeouts = {
            "timeout": {
                "connect": min(timeout, 10.0),
                "read": timeout,
                "write": timeout,
                "pool": timeout,
            }
        }
        self.stats = ClientStats()

    @property
    def per_group_limit(self) -> int:
        return self._limits.per_group

    async def aclose(self) -> None:
        if self._owns_transport:
            await self._transport.aclose()

    # -- calls --------------------------------------------------------------------------

    async def smart_configuration(self) -> dict[str, Any]:
        """``{base}/.well-known/smart-configuration`` (no token needed)."""
        url = f"{self.config.base_url}/{SMART_CONFIGURATION}"
        return await self._with_retries("smart-configuration", lambda: self._json(url, None))

    async def capability_statement(self) -> dict[str, Any]:
        """``GET {base}/metadata``: the server's CapabilityStatement."""
        url = f"{self.config.base_url}/metadata"
        data = await self._with_retries("metadata", lambda: self._json(url, None))
        if data.get("resourceType") != "CapabilityStatement":
            raise ProtocolViolation("the FHIR server's metadata is not a CapabilityStatement")
        return data

    async def search(self, resource: str, params: Sequence[tuple[str, str]]) -> Page:
        """``GET {base}/{resource}?params``: the first page of a search."""
        url = f"{self.config.base_url}/{resource}?{urlencode(list(params))}"
        return await self.page(url, call=f"{resource} search")

    async def page(self, url: str, *, call: str = "next page") -> Page:
        """A page by its URL (a ``next`` link), on the base URL's origin only."""
        if _origin(url) != self._origin:
            raise ProtocolViolation("a paging link of the FHIR server leaves its base URL")
        return _page(await self._authorised(call, url))

    async def access_token(self) -> str:
        """The cached token, or a new one (single flight)."""
        token = self._token
        if token is not None and time.monotonic() < token.refresh_at:
            return token.value
        async with self._token_lock:
            token = self._token
            if token is not None and time.monotonic() < token.refresh_at:
                return token.value
            token = await self._with_retries("token", self._fetch_token)
            self._token = token
            return token.value

    # -- tokens -------------------------------------------------------------------------

    async def token_url(self) -> str:
        if self._token_url is None:
            found = (await self.smart_configuration()).get("token_endpoint")
            if not isinstance(found, str) or not found.startswith(("http://", "https://")):
                raise ConfigurationError(
                    "the FHIR server's smart-configuration names no token_endpoint: set "
                    "fhir.token.url",
                    field="fhir.token.url",
                )
            self._token_url = found
        return self._token_url

    def client_assertion(self, audience: str) -> str:
        """A signed ``private_key_jwt`` assertion for ``audience`` (the token URL)."""
        now = int(time.time())
        signing = self.config.signing_key
        claims = {
            "iss": self.config.client_id,
            "sub": self.config.client_id,
            "aud": audience,
            "exp": now + ASSERTION_LIFETIME_S,
            "iat": now,
            "jti": uuid.uuid4().hex,
        }
        headers = {"kid": signing.kid, "typ": "JWT"}
        return jwt.encode(claims, signing.key, algorithm=signing.algorithm, headers=headers)

    async def _fetch_token(self) -> _Token:
        url = await self.token_url()
        body = urlencode(
            {
                "grant_type": "client_credentials",
                "scope": self.config.scopes,
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": self.client_assertion(url),
            }
        ).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        status, content, retry_after = await self._exchange("POST", url, "token", headers, body)
        if status != 200:
            raise token_error(status, content, retry_after)
        data = _object(content, "token")
        value, expires_in = data.get("access_token"), data.get("expires_in", 300)
        if not isinstance(value, str) or not value or not isinstance(expires_in, int | float):
            raise ProtocolViolation("the token endpoint's answer has no usable access_token")
        self.stats.tokens += 1
        lifetime = max(float(expires_in) - self.config.refresh_margin_s, float(expires_in) / 2)
        return _Token(value=value, refresh_at=time.monotonic() + lifetime)

    # -- one authorised GET, with the 401 rule ------------------------------------------

    async def _authorised(self, call: str, url: str) -> dict[str, Any]:
        reauthenticated = False

        async def once() -> dict[str, Any]:
            nonlocal reauthenticated
            token = await self.access_token()
            try:
                return await self._json(url, token, call=call)
            except _TokenRefused:
                if reauthenticated:
                    raise
                reauthenticated = True
                self.stats.reauthentications += 1
                if self._token is not None and self._token.value == token:
                    self._token = None  # not yet replaced by a concurrent call
                return await self._json(url, await self.access_token(), call=call)

        return await self._with_retries(call, once)

    async def _json(self, url: str, token: str | None, *, call: str = "") -> dict[str, Any]:
        headers = {"Accept": FHIR_JSON}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        name = call or urlsplit(url).path.rsplit("/", 1)[-1]
        status, content, retry_after = await self._exchange("GET", url, name, headers, None)
        if status == 401 and token is not None:
            raise _TokenRefused(
                f"the FHIR server refused the access token for {name} (HTTP 401)",
                reason="forbidden",
            )
        if status != 200:
            raise http_error(name, status, content, retry_after)
        return _object(content, name)

    # -- retries and the wire -----------------------------------------------------------

    async def _with_retries(self, call: str, once: Callable[[], Awaitable[T]]) -> T:
        async with self._group_slots:
            attempt = 1
            while True:
                try:
                    result = await once()
                except TransientError as failure:
                    delay = self._retry_delay(failure, attempt)
                    if delay is None:
                        raise
                    log.warning(
                        "fhir.retry",
                        call=call,
                        attempt=attempt,
                        error_code=failure.code,
                        retry_in_s=round(delay, 3),
                    )
                    self.stats.retries += 1
                    attempt += 1
                    await self._sleep(delay)
                    continue
                self._budget.succeeded()
                return result

    def _retry_delay(self, error: TransientError, attempt: int) -> float | None:
        retry_after = error.retry_after_s if isinstance(error, RateLimited) else None
        delay = self._retry.delay_after(attempt, self._rng, retry_after_s=retry_after)
        if delay is None:
            return None
        if not self._budget.try_spend():
            log.warning("fhir.retry_budget_spent", error_code=error.code)
            return None
        return delay

    async def _exchange(
        self, method: str, url: str, call: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, bytes, str | None]:
        """One request on the wire: (status, body, Retry-After), or a classified error."""
        self.stats.requests += 1
        self.stats.calls[call] += 1
        request = httpx.Request(
            method, url, headers=headers, content=body, extensions=self._timeouts
        )
        async with self._limits.total_slots:
            started = time.perf_counter()
            try:
                return await self._wire(request, call, started)
            except FrontdeskError as error:
                self._limits.observer.source_call(
                    SOURCE, call, time.perf_counter() - started, error.code
                )
                raise

    async def _wire(
        self, request: httpx.Request, call: str, started: float
    ) -> tuple[int, bytes, str | None]:
        timeout = self.config.timeout_s
        try:
            async with asyncio.timeout(timeout):
                response = await self._transport.handle_async_request(request)
                try:
                    content = await response.aread()
                finally:
                    await response.aclose()
        except (TimeoutError, httpx.TimeoutException):
            raise RemoteTimeout(
                f"the FHIR server did not answer {call} within {timeout:g} s"
            ) from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL):
            raise ConfigurationError("the FHIR base URL is not usable", field=BASE_URL) from None
        except (httpx.ConnectError, httpx.ProxyError) as error:
            raise Unreachable(f"cannot connect to the FHIR server for {call}: {error}") from None
        except httpx.TransportError as error:
            raise Unreachable(
                f"connection to the FHIR server failed during {call} ({type(error).__name__})"
            ) from None
        seconds = time.perf_counter() - started
        status = response.status_code
        failed = None if status < 400 else f"http_{status}"
        self._limits.observer.source_call(SOURCE, call, seconds, failed)
        log.debug("fhir.request", call=call, status=status, ms=round(seconds * 1000, 1))
        return response.status_code, content, response.headers.get("Retry-After")


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _object(content: bytes, call: str) -> dict[str, Any]:
    try:
        data = orjson.loads(content)
    except orjson.JSONDecodeError:
        raise not_json(call) from None
    if not isinstance(data, dict):
        raise not_json(call)
    return data


def _page(data: dict[str, Any]) -> Page:
    if data.get("resourceType") != "Bundle":
        raise ProtocolViolation("a FHIR search answered something other than a Bundle")
    resources = [
        entry["resource"]
        for entry in data.get("entry") or []
        if isinstance(entry, dict) and isinstance(entry.get("resource"), dict)
    ]
    next_url = next(
        (
            link.get("url")
            for link in data.get("link") or []
            if isinstance(link, dict) and link.get("relation") == "next"
        ),
        None,
    )
    total = data.get("total")
    return Page(
        resources=resources,
        next_url=next_url if isinstance(next_url, str) and next_url else None,
        total=total if isinstance(total, int) else None,
    )
