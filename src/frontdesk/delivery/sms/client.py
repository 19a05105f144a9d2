"""A thin client for Twilio's Messages resource (REST API 2010-04-01), over our HTTP stack.

Why not the ``twilio`` package's REST client: its async path needs an ``AsyncHttpClient``
subclass built on aiohttp, which would bypass the process's one outbound stack (proxies,
CA bundle, the allow-list's connect check). The Messages resource is three calls with form
fields and Basic auth, so they are written here on ``httpx`` with the transport of
:func:`frontdesk.outbound.http.build_transport`; the package is still used where it earns its
place, for signatures (:class:`twilio.request_validator.RequestValidator`, in
:mod:`frontdesk.delivery.sms.signatures`). See docs/messaging.md.

Calls (``{api}/2010-04-01/Accounts/{sid}/...``):

- ``POST Messages.json`` (``To``, ``From`` or ``MessagingServiceSid``, ``Body``,
  ``StatusCallback``) → 201 and the message resource (``sid`` ``SM…``, ``status`` queued);
- ``GET Messages/{sid}.json`` → the message resource;
- ``GET Messages.json?To=&From=&DateSent>=`` → a page of ``messages``.

Errors: Twilio answers ``{"code", "message", "more_info", "status"}``; :func:`errors.classify`
maps status and code onto the error tree. Transport failures are transient.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

from frontdesk.delivery.channel import TransientDeliveryError
from frontdesk.delivery.sms.errors import classify
from frontdesk.settings import TwilioSettings

API_VERSION = "2010-04-01"
MESSAGES = "/{version}/Accounts/{sid}/Messages.json"
MESSAGE = "/{version}/Accounts/{sid}/Messages/{message_sid}.json"
PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class MessageResource:
    """The fields of a Twilio message resource we use (``repr`` hides the numbers)."""

    sid: str
    status: str
    to: str
    from_: str | None
    error_code: int | None
    date_created: str | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MessageResource:
        code = data.get("error_code")
        return cls(
            sid=str(data["sid"]),
            status=str(data.get("status") or "queued"),
            to=str(data.get("to") or ""),
            from_=data.get("from"),
            error_code=int(code) if code not in (None, "") else None,
            date_created=data.get("date_created"),
        )

    def __repr__(self) -> str:
        return f"MessageResource(sid={self.sid!r}, status={self.status!r})"


class TwilioClient:
    """One account's Messages resource; the transport is the caller's (closed by them)."""

    def __init__(self, settings: TwilioSettings, *, transport: httpx.AsyncBaseTransport) -> None:
        self._sid = settings.account_sid or ""
        self._http = httpx.AsyncClient(
            transport=transport,
            base_url=settings.api_url.rstrip("/"),
            auth=(self._sid, settings.auth_token.get_secret_value()),
            timeout=settings.timeout_s,
            headers={"Accept": "application/json"},
        )

    async def create_message(
        self,
        *,
        to: str,
        body: str,
        status_callback: str,
        from_: str | None = None,
        messaging_service_sid: str | None = None,
        ledger_key: str,
    ) -> MessageResource:
        form = {"To": to, "Body": body, "StatusCallback": status_callback}
        if messaging_service_sid:
            form["MessagingServiceSid"] = messaging_service_sid
        elif from_:
            form["From"] = from_
        path = MESSAGES.format(version=API_VERSION, sid=self._sid)
        data = await self._call("POST", path, ledger_key=ledger_key, data=form)
        return MessageResource.from_json(data)

    async def fetch_message(self, sid: str, *, ledger_key: str) -> MessageResource:
        path = MESSAGE.format(version=API_VERSION, sid=self._sid, message_sid=sid)
        return MessageResource.from_json(await self._call("GET", path, ledger_key=ledger_key))

    async def list_messages(
        self, *, to: str, from_: str | None, sent_after: date, ledger_key: str
    ) -> list[MessageResource]:
        """Messages to ``to`` (from ``from_``) sent on or after ``sent_after`` (first page)."""
        params = {"To": to, "DateSent>": sent_after.isoformat(), "PageSize": str(PAGE_SIZE)}
        if from_:
            params["From"] = from_
        path = MESSAGES.format(version=API_VERSION, sid=self._sid)
        data = await self._call("GET", path, ledger_key=ledger_key, params=params)
        return [MessageResource.from_json(m) for m in data.get("messages") or []]

    async def _call(self, method: str, path: str, *, ledger_key: str, **kwargs: Any) -> Any:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise TransientDeliveryError(f"request {ledger_key}: Twilio timed out") from None
        except httpx.TransportError as exc:
            raise TransientDeliveryError(
                f"request {ledger_key}: Twilio could not be reached ({type(exc).__name__})"
            ) from None
        if response.status_code >= 400:
            raise classify(response.status_code, _code(response), ledger_key=ledger_key)
        try:
            return response.json()
        except ValueError:
            raise TransientDeliveryError(
                f"request {ledger_key}: Twilio answered a body that is not JSON"
            ) from None

    async def aclose(self) -> None:
        await self._http.aclose()


def _code(response: httpx.Response) -> int | None:
    try:
        code = response.json().get("code")
    except (ValueError, AttributeError):
        return None
    return int(code) if isinstance(code, int | str) and str(code).isdigit() else None
