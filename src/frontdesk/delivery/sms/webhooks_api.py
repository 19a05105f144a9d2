"""HTTP: Twilio's callbacks, ``POST /webhooks/twilio/status`` and ``/webhooks/twilio/inbound``.

Both verify ``X-Twilio-Signature`` against ``FRONTDESK_PUBLIC_URL`` + path (+ query), the URL
Twilio was given, and answer 403 to a bad or missing signature without changing anything.
Neither needs an API key: the signature is the authentication.

- status: ``MessageSid``, ``MessageStatus`` (queued, sending, sent, delivered, undelivered,
  failed), ``ErrorCode`` → the message's delivery status (never backwards); a 21610 failure
  records the opt-out.
- inbound: ``From``, ``To``, ``MessagingServiceSid``, ``Body`` → STOP / START / HELP and
  plain-language revocations recorded against the sender (``To``, or the messaging service);
  the answer is TwiML: the help text for HELP, else an empty ``<Response/>``.
"""

from __future__ import annotations

from typing import Annotated
from xml.sax.saxutils import escape

from fastapi import APIRouter, Depends, Request, Response

from frontdesk.context import AppContext
from frontdesk.delivery.sms.channel import INBOUND_PATH, STATUS_PATH
from frontdesk.delivery.sms.consent import record_reply, record_status
from frontdesk.delivery.sms.errors import UNSUBSCRIBED_RECIPIENT
from frontdesk.delivery.sms.keywords import Intent, read_reply
from frontdesk.delivery.sms.senders import help_text
from frontdesk.delivery.sms.signatures import SIGNATURE_HEADER, public_callback_url, verify
from frontdesk.logs import get_logger
from frontdesk.server.dependencies import get_context

log = get_logger(__name__)
router = APIRouter(tags=["webhooks"], include_in_schema=False)
Context = Annotated[AppContext, Depends(get_context)]
TWIML = "application/xml"


async def _verified_form(request: Request, ctx: AppContext, path: str) -> dict[str, str] | None:
    form = await request.form()
    params = {key: value for key, value in form.items() if isinstance(value, str)}
    url = public_callback_url(ctx.settings.public_url, path, request.url.query)
    token = ctx.settings.twilio.auth_token.get_secret_value()
    if not verify(token, url, params, request.headers.get(SIGNATURE_HEADER)):
        log.warning("webhooks.twilio.bad_signature", path=path)
        return None
    return params


@router.post(STATUS_PATH)
async def twilio_status(request: Request, ctx: Context) -> Response:
    """A message moved along its lifecycle at the provider."""
    params = await _verified_form(request, ctx, STATUS_PATH)
    if params is None:
        return Response(status_code=403)
    sid = params.get("MessageSid") or params.get("SmsSid")
    status = params.get("MessageStatus") or params.get("SmsStatus")
    if not sid or not status:
        return Response(status_code=400)
    error_code = params.get("ErrorCode") or None
    async with ctx.db.transaction() as session:
        await record_status(
            session, message_id=sid, status=status, error_code=error_code, now=ctx.clock.now()
        )
        if error_code == str(UNSUBSCRIBED_RECIPIENT) and params.get("To"):
            await record_reply(
                session,
                secrets=ctx.secrets,
                clock=ctx.clock,
                twilio=ctx.settings.twilio,
                sender=params.get("MessagingServiceSid") or params.get("From") or "",
                contact=params["To"],
                intent=Intent.OPT_OUT,
                keyword=None,
                source="provider",
                message_id=sid,
            )
    log.info("webhooks.twilio.status", message_id=sid, status=status, error_code=error_code)
    return Response(status_code=204)


@router.post(INBOUND_PATH)
async def twilio_inbound(request: Request, ctx: Context) -> Response:
    """A patient answered one of our texts."""
    params = await _verified_form(request, ctx, INBOUND_PATH)
    if params is None:
        return Response(status_code=403)
    reading = read_reply(params.get("Body"))
    sender = params.get("MessagingServiceSid") or params.get("To") or ""
    contact = params.get("From") or ""
    if reading is None or not contact or not sender:
        return Response("<Response/>", media_type=TWIML)
    async with ctx.db.transaction() as session:
        answer = (
            await help_text(session, twilio=ctx.settings.twilio, sender=sender)
            if reading.intent is Intent.HELP
            else ""
        )
        change = await record_reply(
            session,
            secrets=ctx.secrets,
            clock=ctx.clock,
            twilio=ctx.settings.twilio,
            sender=sender,
            contact=contact,
            intent=reading.intent,
            keyword=reading.keyword,
            source=reading.source,
            message_id=params.get("MessageSid"),
        )
    log.info(
        "webhooks.twilio.inbound",
        message_id=params.get("MessageSid"),
        intent=reading.intent.value,
        source=reading.source,
        changed=change.changed,
    )
    if reading.intent is Intent.HELP:
        text = escape(answer)
        return Response(f"<Response><Message>{text}</Message></Response>", media_type=TWIML)
    return Response("<Response/>", media_type=TWIML)
