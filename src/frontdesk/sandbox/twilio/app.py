"""A Twilio Programmable Messaging simulator: the Messages resource as Twilio documents it.

- ``POST /2010-04-01/Accounts/{sid}/Messages.json``: form fields ``To``, ``From`` or
  ``MessagingServiceSid``, ``Body``, ``StatusCallback``; HTTP Basic auth (account sid, auth
  token); 201 and the message resource (``SM…`` sid, ``queued``, or ``accepted`` through a
  messaging service); errors as Twilio's JSON ``{code, message, more_info, status}``:
  20003 (401), 21602 / 21604 / 21603 (missing Body / To / From), 21211 (invalid To),
  21610 (the number texted STOP to this sender), 20429 (429), 20500 (5xx);
- ``GET .../Messages.json`` (``To``, ``From``, ``DateSent>``, ``PageSize``) and
  ``GET .../Messages/{sid}.json``;
- the status lifecycle: ``queued → sent → delivered`` (``undelivered`` with 30003 for the
  undeliverable knob), each posted to ``StatusCallback`` signed with ``X-Twilio-Signature``;
- ``POST /sandbox/inbound`` ``{from, to, body}``: a patient's reply, posted signed to the
  inbound URL (a STOP also makes later creates to that number from that sender answer 21610,
  a START lifts it, as Twilio's default opt-out handling does);
- ``GET /sandbox/messages`` (captured messages), ``POST /sandbox/messages/{sid}/status``
  (drive the lifecycle by hand), ``GET/POST /sandbox/knobs``, ``POST /sandbox/reset``.
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from frontdesk.delivery.sms.keywords import Intent, read_reply
from frontdesk.delivery.sms.signatures import SIGNATURE_HEADER, sign
from frontdesk.sandbox.twilio.state import Message, TwilioKnobs, TwilioState

DEFAULT_ACCOUNT_SID = "AC" + "0" * 31 + "1"
DEFAULT_AUTH_TOKEN = "sandbox-auth-token"  # noqa: S105  (the simulator's, documented)
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")


def _error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status_code=status,
    )


def create_twilio_app(
    *,
    accounts: Mapping[str, str] | None = None,
    inbound_url: str | None = None,
    callback_transport: httpx.AsyncBaseTransport | None = None,
    knobs: TwilioKnobs | None = None,
) -> FastAPI:
    """The simulator; ``callback_transport`` carries its callbacks (tests: an ASGI app)."""
    state = TwilioState(
        accounts=dict(accounts or {DEFAULT_ACCOUNT_SID: DEFAULT_AUTH_TOKEN}),
        inbound_url=inbound_url,
        knobs=knobs or TwilioKnobs(),
    )
    app = FastAPI(title="Twilio simulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.twilio = state
    background: set[asyncio.Task[None]] = set()
    clients: list[httpx.AsyncClient] = []

    def authenticated(request: Request, sid: str) -> bool:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == sid and state.accounts.get(sid) == password

    async def post_signed(url: str, params: dict[str, str], sid: str) -> int:
        token = state.accounts[sid]
        headers = {SIGNATURE_HEADER: sign(token, url, params)}
        if not clients:  # one client for every callback: a client per post costs a TLS context
            clients.append(httpx.AsyncClient(transport=callback_transport, timeout=10))
        try:
            response = await clients[0].post(url, data=params, headers=headers)
            code = response.status_code
        except httpx.HTTPError:
            code = 0
        state.callbacks.append({"url": url, "status": str(code)})
        return code

    async def move(message: Message, status: str, error_code: int | None = None) -> None:
        message.status = status
        message.error_code = error_code
        if status in ("sent", "delivered", "undelivered"):
            message.date_sent = message.date_sent or state.now()
        if not message.status_callback:
            return
        params = {
            "AccountSid": message.account_sid,
            "ApiVersion": "2010-04-01",
            "From": message.from_ or "",
            "MessageSid": message.sid,
            "MessageStatus": status,
            "SmsSid": message.sid,
            "SmsStatus": status,
            "To": message.to,
        }
        if message.messaging_service_sid:
            params["MessagingServiceSid"] = message.messaging_service_sid
        if error_code:
            params["ErrorCode"] = str(error_code)
        await post_signed(message.status_callback, params, message.account_sid)

    async def lifecycle(message: Message) -> None:
        await move(message, "sent")
        if message.to in state.knobs.undeliverable_numbers:
            await move(message, "undelivered", 30003)
        else:
            await move(message, "delivered")

    @app.post("/2010-04-01/Accounts/{sid}/Messages.json")
    async def create_message(sid: str, request: Request) -> Response:
        if not authenticated(request, sid):
            return _error(401, 20003, "Authenticate")
        if state.knobs.latency_ms:
            await asyncio.sleep(state.knobs.latency_ms / 1000)
        if state.knobs.fail_next:
            status = state.knobs.fail_next.pop(0)
            if status == 429:
                return _error(429, 20429, "Too Many Requests")
            return _error(status, 20500, "Internal Server Error")
        form = await request.form()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        to, body = fields.get("To", ""), fields.get("Body", "")
        from_, service = fields.get("From"), fields.get("MessagingServiceSid")
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not body:
            return _error(400, 21602, "Message body is required.")
        if not from_ and not service:
            return _error(400, 21603, "A 'From' phone number is required.")
        if not _E164.match(to) or to in state.knobs.invalid_numbers:
            return _error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        sender = service or from_ or ""
        if (sender, to) in state.stopped or to in state.knobs.unsubscribed_numbers:
            return _error(400, 21610, "Attempt to send to unsubscribed recipient")
        message = Message(
            sid=state.new_sid(),
            account_sid=sid,
            to=to,
            from_=from_,
            messaging_service_sid=service,
            body=body,
            status="accepted" if service else "queued",
            status_callback=fields.get("StatusCallback"),
            date_created=state.now(),
        )
        state.messages.append(message)
        if state.knobs.lifecycle == "auto":
            task = asyncio.create_task(lifecycle(message))
            background.add(task)
            task.add_done_callback(background.discard)
        return JSONResponse(message.resource(), status_code=201)

    @app.get("/2010-04-01/Accounts/{sid}/Messages.json")
    async def list_messages(sid: str, request: Request) -> Response:
        if not authenticated(request, sid):
            return _error(401, 20003, "Authenticate")
        query = request.query_params
        found = [m for m in state.messages if m.account_sid == sid]
        if query.get("To"):
            found = [m for m in found if m.to == query["To"]]
        if query.get("From"):
            found = [m for m in found if m.from_ == query["From"]]
        if query.get("DateSent>"):
            day = query["DateSent>"]
            found = [m for m in found if (m.date_sent or m.date_created).date().isoformat() >= day]
        size = min(int(query.get("PageSize") or 50), 1000)
        page = sorted(found, key=lambda m: m.date_created, reverse=True)[:size]
        uri = f"/2010-04-01/Accounts/{sid}/Messages.json"
        return JSONResponse(
            {
                "messages": [m.resource() for m in page],
                "end": max(len(page) - 1, 0),
                "first_page_uri": uri,
                "next_page_uri": None,
                "page": 0,
                "page_size": size,
                "previous_page_uri": None,
                "start": 0,
                "uri": uri,
            }
        )

    @app.get("/2010-04-01/Accounts/{sid}/Messages/{message_sid}.json")
    async def fetch_message(sid: str, message_sid: str, request: Request) -> Response:
        if not authenticated(request, sid):
            return _error(401, 20003, "Authenticate")
        message = state.find(message_sid)
        if message is None or message.account_sid != sid:
            return _error(404, 20404, "The requested resource was not found")
        return JSONResponse(message.resource())

    # -- the simulator's own controls --------------------------------------------------

    @app.get("/sandbox/messages")
    async def captured() -> list[dict[str, Any]]:
        return [m.resource() for m in state.messages]

    @app.post("/sandbox/messages/{message_sid}/status")
    async def drive(message_sid: str, request: Request) -> Response:
        payload = await request.json()
        message = state.find(message_sid)
        if message is None:
            return _error(404, 20404, "The requested resource was not found")
        await move(message, str(payload["status"]), payload.get("errorCode"))
        return JSONResponse(message.resource())

    @app.post("/sandbox/inbound")
    async def inbound(request: Request) -> Response:
        """A reply from a patient's phone to one of our numbers, posted to the inbound URL."""
        payload = await request.json()
        sid = str(payload.get("accountSid") or next(iter(state.accounts)))
        params = {
            "AccountSid": sid,
            "ApiVersion": "2010-04-01",
            "Body": str(payload["body"]),
            "From": str(payload["from"]),
            "MessageSid": state.new_sid(),
            "NumMedia": "0",
            "NumSegments": "1",
            "SmsMessageSid": "",
            "SmsSid": "",
            "SmsStatus": "received",
            "To": str(payload["to"]),
        }
        params["SmsSid"] = params["SmsMessageSid"] = params["MessageSid"]
        if payload.get("messagingServiceSid"):
            params["MessagingServiceSid"] = str(payload["messagingServiceSid"])
        reading = read_reply(params["Body"])
        sender = params.get("MessagingServiceSid") or params["To"]
        if reading is not None and reading.source == "keyword":
            if reading.intent is Intent.OPT_OUT:
                state.stopped.add((sender, params["From"]))
            elif reading.intent is Intent.OPT_IN:
                state.stopped.discard((sender, params["From"]))
        url = str(payload.get("url") or state.inbound_url or "")
        code = await post_signed(url, params, sid) if url else 0
        return JSONResponse({"messageSid": params["MessageSid"], "callbackStatus": code})

    @app.get("/sandbox/knobs")
    async def get_knobs() -> TwilioKnobs:
        return state.knobs

    @app.post("/sandbox/knobs")
    async def set_knobs(knobs: TwilioKnobs) -> TwilioKnobs:
        state.knobs = knobs
        return knobs

    @app.post("/sandbox/reset")
    async def reset() -> Response:
        state.messages.clear()
        state.stopped.clear()
        state.callbacks.clear()
        state.knobs = TwilioKnobs()
        return Response(status_code=204)

    return app


def created_at(resource: Mapping[str, Any]) -> Any:
    """A resource's ``date_created`` as a datetime (tests)."""
    return parsedate_to_datetime(str(resource["date_created"]))
