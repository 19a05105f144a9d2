"""A client of the Answering Service API v2, for answering services (and our tests and CLI).

::

    from frontdesk.answering.client import AnsweringClient, encrypt_password

    async with AnsweringClient("https://frontdesk.example", "agent1", password, key) as api:
        created = await api.submit({"patient_lname": "Doe", ...}, idempotency_key="call-123")
        status = await api.status(created["ticket_id"])      # "IN PROGRESS", ...

* :func:`encrypt_password` builds the PHP-compatible ``login_password`` token (a fresh IV each
  call); the plain password never leaves the process.
* :meth:`AnsweringClient.token` calls ``tokenCreate``; ``submit``/``status`` get a token on
  first use and, when the server answers 408 (token expired), get a new one and repeat the
  call once — a 408 is decided before anything is stored, so the repeat cannot duplicate.
* ``submit(..., idempotency_key=K)`` sends the ``Idempotency-Key`` header: retrying with the
  same key after a lost answer returns the first ticket instead of creating another.
* Failures are classified once: :class:`AnsweringApiError` (the server answered an error
  envelope: ``codes``/``messages``, no retry helps), :class:`AnsweringUnavailable` (network,
  timeout, HTTP 5xx without an envelope: retry later, with the same idempotency key).

This is the only module of the answering client that imports httpx; the transport is
injectable (``httpx.ASGITransport`` in tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from frontdesk.answering.password_token import encrypt_password_token
from frontdesk.errors import FatalError, TransientError

__all__ = [
    "API_PATH",
    "AnsweringApiError",
    "AnsweringClient",
    "AnsweringUnavailable",
    "encrypt_password",
]

API_PATH: Final = "/cc/modules/apiv2/index.php"
TOKEN_CREATE: Final = "tokenCreate"  # noqa: S105 - a resource name
CREATE_TICKET: Final = "as"
TICKET_STATUS: Final = "ticketStatus"
NOT_AUTHENTICATED: Final = 408
Transport = httpx.AsyncBaseTransport


def encrypt_password(password: str | bytes, key: str | bytes) -> str:
    """The ``login_password`` token for ``password`` under the shared ``key`` (UTF-8 if str)."""
    raw = password.encode("utf-8") if isinstance(password, str) else password
    raw_key = key.encode("utf-8") if isinstance(key, str) else key
    return encrypt_password_token(raw, raw_key)


def endpoint(url: str) -> str:
    """The front controller's URL: ``url`` itself when it names ``index.php``, else
    ``url`` + the standard path (``/cc/modules/apiv2/index.php``)."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("the URL must be an absolute http(s) URL")
    if parts.path.endswith("index.php"):
        return url
    return url.rstrip("/") + API_PATH


@dataclass(frozen=True, slots=True)
class ApiErrorEntry:
    code: int
    message: str


class AnsweringApiError(FatalError):
    """The server refused the call with the API's error envelope."""

    def __init__(self, errors: list[ApiErrorEntry], http_status: int) -> None:
        text = "; ".join(f"{e.code} {e.message}" for e in errors) or "unknown error"
        super().__init__(text, code="answering_api_error")
        self.errors = errors
        self.http_status = http_status

    @property
    def codes(self) -> list[int]:
        return [e.code for e in self.errors]


class AnsweringUnavailable(TransientError):
    """No usable answer (network, timeout, a non-envelope reply): try again later."""


class AnsweringClient:
    """One API user's client; use as an async context manager (or call :meth:`aclose`)."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str | bytes,
        key: str | bytes,
        *,
        transport: Transport | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self._url = endpoint(base_url)
        self._username = username
        self._password = password
        self._key = key
        self._token: str | None = None
        self._http = httpx.AsyncClient(timeout=timeout_s, transport=transport)

    async def __aenter__(self) -> AnsweringClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def token(self) -> str:
        """A new token (``tokenCreate``); later calls of this client use it."""
        result = await self._call(
            "POST",
            TOKEN_CREATE,
            data={
                "login_username": self._username,
                "login_password": encrypt_password(self._password, self._key),
            },
        )
        token = str(result["token"])
        self._token = token
        return token

    async def submit(
        self, ticket: Mapping[str, str], idempotency_key: str | None = None
    ) -> dict[str, str]:
        """Create a ticket (``as``); the 19-key result, ``ticket_id`` included."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        result = await self._authenticated(
            "POST", CREATE_TICKET, data=dict(ticket), headers=headers
        )
        return {str(k): str(v) for k, v in result.items()}

    async def status(self, ticket_id: str) -> str:
        """The ticket's status (``ticketStatus``), e.g. ``"IN PROGRESS"``."""
        result = await self._authenticated("GET", TICKET_STATUS, params={"ticket_id": ticket_id})
        return str(result["ticket_status"])

    async def _authenticated(
        self,
        method: str,
        resource: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        for attempt in (1, 2):
            token = self._token or await self.token()
            try:
                return await self._call(
                    method,
                    resource,
                    params={**(params or {}), "token": token},
                    data=data,
                    headers=headers,
                )
            except AnsweringApiError as exc:
                if attempt == 2 or NOT_AUTHENTICATED not in exc.codes:
                    raise
                self._token = None  # expired: one new token, one repeat
        raise AssertionError("unreachable")

    async def _call(
        self,
        method: str,
        resource: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        query = {"resource": resource, **(params or {})}
        try:
            response = await self._http.request(
                method, self._url, params=query, json=data, headers=headers
            )
        except httpx.HTTPError as exc:
            raise AnsweringUnavailable(f"{resource}: {type(exc).__name__}") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 500 or not isinstance(body, dict) or "success" not in body:
            raise AnsweringUnavailable(f"{resource}: HTTP {response.status_code} without envelope")
        if body["success"] is True and isinstance(body.get("result"), dict):
            result: dict[str, Any] = body["result"]
            return result
        errors = [
            ApiErrorEntry(int(e.get("code", 0)), str(e.get("message", "")))
            for e in body.get("errors") or []
            if isinstance(e, dict)
        ]
        raise AnsweringApiError(errors, response.status_code)
