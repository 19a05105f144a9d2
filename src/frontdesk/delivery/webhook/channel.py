"""The ``webhook`` channel: a review-request event, signed per Standard Webhooks, handed to
the one signed-webhook delivery (:mod:`frontdesk.webhooks`) that also pushes the ticket
desk's events.

The event (``type`` ``review_request.created``)::

    {"type": "review_request.created", "timestamp": "...Z",
     "data": {"requestKey": "rr:…", "patientId": "…", "firstName": "Ann",
              "location": "Care North", "reviewUrl": "https://…",
              "unsubscribeUrl": "https://…/unsubscribe/…"}}

``send`` **queues** the event in the outbound event store, once per ``webhook-id`` (derived
from the ledger key, :func:`~frontdesk.delivery.webhook.signing.event_id`), its body sealed
with the key ring, and makes the first attempt at once through the pump's
:func:`~frontdesk.webhooks.pump.attempt`. Whatever that attempt's answer, the request is
``sent`` in the ledger — handed to the delivery, which owns the retries (timeouts, 429, 5xx,
with the one retry policy), the parking (refusals, attempts spent) and the replay. The
outbox shows the event's fate as ``deliveryStatus``: ``queued`` → ``delivered`` or
``failed`` (docs/webhooks.md says why the ledger hands the send over instead of retrying it).

No endpoint configured → :class:`DeliveryConfigurationError` before anything is queued (the
ledger parks the request until one is). ``reconcile`` after a crash: the event is in the store
→ True (the pump delivers it, with its id); not there → False (sent again with the same id).
"""

from __future__ import annotations

import json

from frontdesk.context import AppContext
from frontdesk.delivery.channel import (
    DeliveryConfigurationError,
    OutgoingMessage,
    SendResult,
)
from frontdesk.delivery.reach import Reach
from frontdesk.delivery.webhook.endpoints import endpoint_for
from frontdesk.delivery.webhook.signing import event_id
from frontdesk.logs import get_logger
from frontdesk.security.outbound import OutboundPolicy
from frontdesk.webhooks import pump, store
from frontdesk.webhooks.sender import WebhookSender
from frontdesk.webhooks.service import queue_review_event

log = get_logger(__name__)

EVENT_TYPE = "review_request.created"


class WebhookChannel:
    """Hands review-request events to the signed-webhook delivery (first attempt at once)."""

    name = "webhook"
    reaches = Reach.WEBHOOK

    def __init__(self, ctx: AppContext, *, sender: WebhookSender | None = None) -> None:
        self._ctx = ctx
        # its own pool for first attempts; every new connection checked by the outbound rule
        self._sender = sender or WebhookSender.from_settings(
            ctx.settings,
            timeout_s=ctx.settings.webhooks.timeout_s,
            connect_check=OutboundPolicy.from_settings(ctx.settings).check_connect,
        )

    def message_id(self, ledger_key: str) -> str | None:
        """The ``webhook-id``: the same for every resend of this request's event."""
        return event_id(ledger_key)

    async def send(self, message: OutgoingMessage) -> SendResult:
        ctx = self._ctx
        key = message.ledger_key
        business_id = _business_of(key)
        msg_id = event_id(key)
        now = ctx.clock.now()
        body = json.dumps(
            {
                "type": EVENT_TYPE,
                "timestamp": now.isoformat().replace("+00:00", "Z"),
                "data": {
                    "requestKey": key,
                    "patientId": message.recipient.removeprefix("patient:"),
                    "firstName": message.patient_first_name,
                    "location": message.location_name,
                    "reviewUrl": message.review_url,
                    "unsubscribeUrl": message.unsubscribe_url,
                },
            },
            separators=(",", ":"),
        )
        async with ctx.db.transaction() as session:
            if await endpoint_for(session, secrets=ctx.secrets, business_id=business_id) is None:
                raise DeliveryConfigurationError(
                    "the business has no webhook endpoint", field="webhook.url"
                )
            row = await queue_review_event(
                session,
                event_id=msg_id,
                business_id=business_id,
                event=EVENT_TYPE,
                sealed_body=ctx.secrets.encrypt(body),
                now=now,
            )
            row_id = row.id
        state = await pump.attempt(ctx, row_id, sender=self._sender)
        log.info("delivery.webhook.queued", ledger_key=key, message_id=msg_id, state=state)
        return SendResult(self.name, key, msg_id, detail=state)

    async def reconcile(self, ledger_key: str, message_id: str | None) -> bool | None:
        """Queued before the crash → True (the pump owns it); else False (queue it now)."""
        async with self._ctx.db.reader() as session:
            found = await store.by_event_id(session, event_id=event_id(ledger_key))
        return found is not None

    async def aclose(self) -> None:
        await self._sender.aclose()


def _business_of(ledger_key: str) -> int:
    """The location of a ledger key (``rr:<location>:…``, :func:`ledger_models.ledger_key`)."""
    return int(ledger_key.split(":")[1])
