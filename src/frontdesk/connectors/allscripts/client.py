"""The one thin async Unity client: tokens, sessions, retries and limits in one place.

The only module of frontdesk that imports httpx for Unity (CONVENTIONS rule 5); the
transport is injected: the process's outbound stack
(:func:`frontdesk.outbound.http.build_transport`: TLS trust, proxies, HTTP/1.1 with httptools
parsing), or in tests ``httpx.ASGITransport(app=create_unity_app(...))``.

- **Session.** ``GetToken`` (service credentials, the group's ServiceUser glued in front of
  the service username) then ``GetUserAuthentication`` (PM user and password, client id in
  ``Parameter2``) once per token; both single-flight behind one lock, so concurrent calls
  share one login. The token is reused until it is 18 minutes idle (Unity drops it at 20).
  A refused login is remembered: the client never tries a wrong password twice (lock-out).
- **Logged out.** On "logged out due to inactivity" (or a token not bound to our user) the
  call gets a new session and is retried at once, one time; a further expiry in the same
  call counts as a transient failure (backoff, then :class:`SessionLost`).
- **Retries.** Only transient failures (connect errors, timeouts, HTTP 5xx and 429), at most
  ``RetryPolicy.max_attempts`` per call, with jittered exponential backoff, ``Retry-After``
  honoured, and a per-client retry budget (:mod:`frontdesk.retry`).
- **Limits.** A call holds one of its integration's slots for its whole life (retries and
  backoff included) and a process-wide slot only while a request is on the wire.
- **Timeouts.** Every request runs under ``asyncio.timeout`` (so in-process transports are
  bounded too) as well as httpx's own timeouts.
- **HTTP 5xx.** When the retries are spent, the client reads ``LastLogs`` (errors only) and
  attaches the matching entry to the :class:`RemoteServerError` it raises.
- **Outbound rule.** The application's service credentials go only to allowed hosts
  (:class:`~frontdesk.security.outbound.OutboundPolicy`, ``sends_credentials``): the base
  URL is checked when the client is built, and every new connection of the default
  transport is checked again on its resolved addresses.
- **Logs** carry the action, HTTP status, attempt and timing: never a body, a parameter,
  a token or a credential.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

import httpx

from frontdesk.connectors.allscripts import mapping, wire
from frontdesk.connectors.allscripts.config import UNITY_URL, UnityGroupConfig
from frontdesk.connectors.allscripts.dates import format_request_date
from frontdesk.connectors.allscripts.errors import (
    SessionExpired,
    http_error,
    login_refused,
    magic_error,
    token_error,
)
from frontdesk.connectors.errors import (
    CredentialsRejected,
    ProtocolViolation,
    RateLimited,
    RemoteServerError,
    RemoteTimeout,
    ServerLogEntry,
    SessionLost,
    Unreachable,
)
from frontdesk.connectors.limits import ConcurrencyLimits
from frontdesk.errors import ConfigurationError, FrontdeskError, TransientError
from frontdesk.logs import get_logger
from frontdesk.retry import RetryBudget, RetryPolicy
from frontdesk.security.outbound import DestinationRefused, OutboundPolicy

log = get_logger(__name__)

T = TypeVar("T")
R = TypeVar("R")
SOURCE = "ALLSCRIPTS"
"""How this client names its source to the call observer (the catalog's source name)."""
Sleep = Callable[[float], Awaitable[None]]
Transport = httpx.AsyncBaseTransport
"""An injectable HTTP transport (re-exported so that no other module imports httpx)."""

IDLE_REFRESH_S = 18 * 60.0
"""Get a new token before Unity's 20-minute idle expiry."""
RETIRE_TIMEOUT_S = 5.0
_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json, text/plain, application/octet-stream",
}

UNITY_RETRY = RetryPolicy(max_attempts=4, base_s=0.5, max_s=8.0, jitter=0.75)
"""Per call: 4 attempts, 0.5 s doubling up to 8 s, drawn in the top three quarters."""


@dataclass
class ClientStats:
    """Counters of one client (for benchmarks, diagnostics and tests)."""

    requests: int = 0
    """HTTP exchanges sent (every endpoint, retries included)."""
    actions: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    logins: int = 0
    session_expiries: int = 0


@dataclass
class _Session:
    token: str = field(repr=False)
    last_used: float


class UnityClient:
    """Calls the Unity JSON endpoints for one integration group."""

    def __init__(
        self,
        config: UnityGroupConfig,
        *,
        limits: ConcurrencyLimits,
        outbound: OutboundPolicy,
        transport: Transport,
        owns_transport: bool = False,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        """``owns_transport``: :meth:`aclose` closes it (else it is shared, closed by its owner).
        The base URL is checked against the outbound rule here: nothing is sent to a host
        removed from the allow-list since (the transport checks again at connect time)."""
        try:
            outbound.check_url(config.base_url, sends_credentials=True)
        except DestinationRefused as error:
            raise DestinationRefused(f"{UNITY_URL}: {error.message}", field=UNITY_URL) from None
        self._config = config
        self._limits = limits
        self._observer = limits.observer
        self._group_slots = limits.group_slots()
        self._retry = retry or UNITY_RETRY
        self._budget = RetryBudget(self._retry)
        self._rng = rng or random.Random()
        self._sleep: Sleep = sleep or asyncio.sleep
        self._owns_transport = owns_transport
        self._transport = transport
        timeout = config.timeout_s
        self._timeouts = {
            "timeout": {
                "connect": min(timeout, 10.0),
                "read": timeout,
                "write": timeout,
                "pool": timeout,
            }
        }
        self._urls = {
            endpoint: httpx.URL(f"{config.base_url}/{endpoint}")
            for endpoint in (wire.GET_TOKEN, wire.MAGIC_JSON, wire.RETIRE_TOKEN)
        }
        self._debug = logging.getLogger(__name__).isEnabledFor
        self._session: _Session | None = None
        self._unbound_token: str | None = None
        self._refused: FrontdeskError | None = None
        self._session_lock = asyncio.Lock()
        self._closed = False
        self.stats = ClientStats()

    @property
    def config(self) -> UnityGroupConfig:
        return self._config

    @property
    def per_group_limit(self) -> int:
        return self._limits.per_group

    # -- public calls -------------------------------------------------------------------

    async def login(self) -> None:
        """Make sure a session exists (GetToken + GetUserAuthentication); classified errors."""
        await self._with_retries(wire.GET_USER_AUTHENTICATION, self._ensure_session)

    async def server_info(self) -> mapping.ServerInfo:
        """``GetServerInfo``: product, version, time zone, server time."""
        rows = await self.magic(wire.GET_SERVER_INFO)
        if not rows:
            raise ProtocolViolation("GetServerInfo answered no row")
        return mapping.server_info(rows[0])

    async def schedule(
        self, first: date, last: date, *, changed_since: str = "", users: str = "All"
    ) -> list[dict[str, str]]:
        """``GetSchedule`` rows of ``first``..``last`` for ``users`` (``All`` = everyone)."""
        days = format_request_date(first)
        if last != first:
            days = f"{days}|{format_request_date(last)}"
        return await self.magic(wire.GET_SCHEDULE, parameters=(days, changed_since, "N", users))

    async def patient_demographics(self, patient_id: str) -> dict[str, str] | None:
        """The ``GetPatientDemographics`` row of a PM patient, or ``None`` when unknown."""
        rows = await self.magic(wire.GET_PATIENT_DEMOGRAPHICS, patient_id=patient_id)
        return rows[0] if rows else None

    async def last_logs(self, *, errors_only: bool = True, count: int = 20) -> list[ServerLogEntry]:
        """``LastLogs`` entries, newest first."""
        rows = await self.magic(
            wire.LAST_LOGS, parameters=("Y" if errors_only else "N", "N", str(count))
        )
        return [mapping.log_entry(row) for row in rows]

    async def magic(
        self, action: str, *, patient_id: str = "", parameters: tuple[str, ...] = ()
    ) -> list[dict[str, str]]:
        """Any Magic action on our session, with retries; the reply rows."""

        async def once() -> list[dict[str, str]]:
            session = await self._ensure_session()
            try:
                rows = await self._magic_once(session.token, action, patient_id, parameters)
            except SessionExpired:
                self._forget(session)
                raise
            session.last_used = time.monotonic()
            return rows

        return await self._with_retries(action, once)

    async def aclose(self) -> None:
        """Retire the token (best effort) and close our connections."""
        if self._closed:
            return
        self._closed = True
        tokens = [s.token for s in (self._session,) if s is not None]
        tokens += [self._unbound_token] if self._unbound_token else []
        self._session = self._unbound_token = None
        for token in tokens:
            try:
                async with asyncio.timeout(RETIRE_TIMEOUT_S):
                    body = wire.retire_body(token, self._config.appname)
                    await self._observed(wire.RETIRE_TOKEN, body, wire.RETIRE_TOKEN, _same)
            except (FrontdeskError, TimeoutError) as error:
                log.info("unity.retire_failed", error_code=getattr(error, "code", "timeout"))
        if self._owns_transport:
            await self._transport.aclose()

    # -- sessions -----------------------------------------------------------------------

    async def _ensure_session(self) -> _Session:
        session = self._session
        if session is not None and time.monotonic() - session.last_used < IDLE_REFRESH_S:
            return session
        async with self._session_lock:
            if self._refused is not None:
                raise self._refused
            session = self._session
            if session is not None and time.monotonic() - session.last_used < IDLE_REFRESH_S:
                return session
            self._session = None
            token = self._unbound_token or await self._get_token()
            self._unbound_token = token
            try:
                await self._authenticate(token)
            except SessionExpired:
                self._unbound_token = None
                raise
            except (CredentialsRejected, ConfigurationError) as error:
                self._refused = error
                raise
            self._unbound_token = None
            self._session = _Session(token, time.monotonic())
            self.stats.logins += 1
            log.info("unity.login")
            return self._session

    def _forget(self, session: _Session) -> None:
        if self._session is session:
            self._session = None

    async def _get_token(self) -> str:
        body = wire.token_body(self._config.token_username, self._config.service_password)
        text = await self._observed(wire.GET_TOKEN, body, wire.GET_TOKEN, wire.parse_token_reply)
        if wire.is_token_error(text):
            error = token_error(text)
            self._refused = error
            raise error
        return text

    async def _authenticate(self, token: str) -> None:
        rows = await self._magic_once(
            token,
            wire.GET_USER_AUTHENTICATION,
            "",
            (self._config.pm_password, self._config.client_id),
        )
        if not rows:
            raise ProtocolViolation("GetUserAuthentication answered no row")
        valid = rows[0].get("ValidUser", "").strip().upper()
        if valid == "YES":
            return
        if valid == "NO":
            raise login_refused(rows[0].get("ErrorMessage", ""))
        raise ProtocolViolation("GetUserAuthentication answered ValidUser neither YES nor NO")

    # -- retries ------------------------------------------------------------------------

    async def _with_retries(self, action: str, once: Callable[[], Awaitable[T]]) -> T:
        async with self._group_slots:
            attempt = 1
            relogged = False
            while True:
                failure: TransientError
                try:
                    result = await once()
                except SessionExpired:
                    self.stats.session_expiries += 1
                    if not relogged:
                        relogged = True
                        continue
                    failure = SessionLost(f"Unity session expired again during {action}")
                except TransientError as error:
                    failure = error
                else:
                    self._budget.succeeded()
                    return result
                delay = self._retry_delay(failure, attempt)
                if delay is None:
                    if isinstance(failure, RemoteServerError):
                        await self._attach_server_log(failure)
                    raise failure
                log.warning(
                    "unity.retry",
                    action=action,
                    attempt=attempt,
                    error_code=failure.code,
                    retry_in_s=round(delay, 3),
                )
                self.stats.retries += 1
                attempt += 1
                await self._sleep(delay)

    def _retry_delay(self, error: TransientError, attempt: int) -> float | None:
        retry_after = error.retry_after_s if isinstance(error, RateLimited) else None
        delay = self._retry.delay_after(
            attempt, self._rng, retry_after_s=retry_after, retry_after_spread=1.2
        )
        if delay is None:
            return None
        if not self._budget.try_spend():
            log.warning("unity.retry_budget_spent", error_code=error.code)
            return None
        return delay

    async def _attach_server_log(self, error: RemoteServerError) -> None:
        """Find the LastLogs entry of a 5xx (one attempt, errors ignored)."""
        session = self._session
        if session is None:
            return
        try:
            rows = await self._magic_once(session.token, wire.LAST_LOGS, "", ("Y", "N", "20"))
        except (FrontdeskError, TimeoutError):
            return
        entries = [mapping.log_entry(row) for row in rows]
        entry = matching_log_entry(entries, error)
        if entry is not None:
            error.attach(entry)

    # -- one exchange -------------------------------------------------------------------

    async def _magic_once(
        self, token: str, action: str, patient_id: str, parameters: tuple[str, ...]
    ) -> list[dict[str, str]]:
        body = wire.magic_body(
            action=action,
            app_user_id=self._config.pm_user,
            appname=self._config.appname,
            token=token,
            patient_id=patient_id,
            parameters=parameters,
        )

        def parse(content: bytes) -> list[dict[str, str]]:
            reply = wire.parse_magic_reply(action, content)
            if isinstance(reply, wire.MagicErrorReply):
                raise magic_error(action, reply.text)
            return reply

        return await self._observed(wire.MAGIC_JSON, body, action, parse)

    async def _observed(
        self, endpoint: str, body: bytes, action: str, parse: Callable[[bytes], R]
    ) -> R:
        """One exchange and its parsed reply, reported to the limits' call observer."""
        started = time.perf_counter()
        error: str | None = None
        try:
            return parse(await self._exchange(endpoint, body, action))
        except FrontdeskError as failure:
            error = failure.code
            raise
        except TimeoutError:
            error = "timeout"
            raise
        finally:
            self._observer.source_call(SOURCE, action, time.perf_counter() - started, error)

    async def _exchange(self, endpoint: str, body: bytes, action: str) -> bytes:
        """POST one request; returns the body of an HTTP 200, else a classified error.

        The transport is called directly: this client needs none of ``httpx.AsyncClient``'s
        cookies, auth or redirects, and skipping them halves the CPU per request.
        """
        self.stats.requests += 1
        self.stats.actions[action] += 1
        request = httpx.Request(
            "POST", self._urls[endpoint], headers=_HEADERS, content=body, extensions=self._timeouts
        )
        async with self._limits.total_slots:
            started = time.perf_counter()
            try:
                async with asyncio.timeout(self._config.timeout_s):
                    response = await self._transport.handle_async_request(request)
                    try:
                        content = await response.aread()
                    finally:
                        await response.aclose()
            except (TimeoutError, httpx.TimeoutException):
                raise RemoteTimeout(
                    f"Unity did not answer {action} within {self._config.timeout_s:g} s"
                ) from None
            except (httpx.UnsupportedProtocol, httpx.InvalidURL):
                raise ConfigurationError(
                    "the Unity URL is not usable", field="allscripts.unity.url"
                ) from None
            except httpx.ConnectError as error:
                # The transport's message names the host and why (refused, TLS trust, proxy).
                raise Unreachable(f"cannot connect to Unity for {action}: {error}") from None
            except httpx.ProxyError as error:  # the proxy refused the tunnel (403, 407...)
                raise Unreachable(f"cannot reach Unity for {action}: {error}") from None
            except httpx.TransportError as error:
                raise Unreachable(
                    f"connection to Unity failed during {action} ({type(error).__name__})"
                ) from None
        status = response.status_code
        if self._debug(logging.DEBUG):
            log.debug(
                "unity.request",
                action=action,
                status=status,
                ms=round((time.perf_counter() - started) * 1000, 1),
            )
        if status != 200:
            raise http_error(
                action, status, response.headers.get("Retry-After"), content_length=len(content)
            )
        return content


def _same(content: bytes) -> bytes:
    return content


def matching_log_entry(
    entries: list[ServerLogEntry], error: RemoteServerError
) -> ServerLogEntry | None:
    """The newest error entry for the failed action (or with no action) naming the status.

    Falls back to the newest entry of that action, then of no action; ``None`` otherwise.
    Entries come newest first, as LastLogs returns them.
    """
    status = str(error.status_code)
    candidates = [e for e in entries if e.action.lower() in (error.action.lower(), "")]
    for entry in candidates:
        if status in entry.message:
            return entry
    for entry in candidates:
        if entry.action.lower() == error.action.lower():
            return entry
    return candidates[0] if candidates else None
