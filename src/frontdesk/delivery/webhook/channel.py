"""The ``webhook`` channel: a review-request event POSTed as JSON to the business's endpoint,
signed per Standard Webhooks (:mod:`.signing`), over the process's outbound HTTP stack.

The event (``type`` ``review_request.created``)::

    {"type": "review_request.created", "timestamp": "...Z",
     "data": {"requestKey": "rr:…", "patientId": "…", "firstName": "Ann",
              "location": "Care North", "reviewUrl": "https://…",
              "unsubscribeUrl": "https://…/unsubscribe/…"}}

Outcomes, classified once here: 2xx → sent; timeouts, lost connections, 429 and 5xx →
:class:`TransientDeliveryError` (the ledger retries with backoff, then parks); 410 and
other 4xx → :class:`PermanentDeliveryError` (``message_refused``); no endpoint configured →
:class:`DeliveryConfigurationError` (parked until one is). The ``webhook-id`` is derived
from the ledger key (``message_id``), so every resend carries the same id; ``reconcile``
answers False after a crash: the event is sent again with that id and receivers drop it
if they had it.
"""

from __future__ import annotations

import functools
import json

import httpx

from frontdesk.context import AppContext
from frontdesk.delivery.channel import (
    MESSAGE_REFUSED,
    DeliveryConfigurationError,
    OutgoingMessage,
    PermanentDeliveryError,
    SendResult,
    TransientDeliveryError,
)
from frontdesk.delivery.reach import Reach
from frontdesk.delivery.webhook.endpoints import Endpoint, endpoint_for
from frontdesk.delivery.webhook.signing import event_id, signed_headers
from frontdesk.logs import get_logger
from frontdesk.outbound.http import build_transport
from frontdesk.security.outbound import OutboundPolicy

log = get_logger(__name__)

EVENT_TYPE = "review_request.created"
TIMEOUT_S = 15.0
MAX_CONNECTIONS = 16


class WebhookChannel:
    """Delivers review-request events to each business's own endpoint."""

    name = "webhook"
    reaches = Reach.WEBHOOK

    def __init__(
        self, ctx: AppContext, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._ctx = ctx
        self._http = httpx.AsyncClient(
            transport=transport
            or build_transport(
                ctx.settings,
                max_connections=MAX_CONNECTIONS,
                # every new connection checked by the outbound rule (a tenant's URL)
                connect_check=functools.partial(
                    OutboundPolicy.from_settings(ctx.settings).check_connect,
                    sends_credentials=False,
                ),
            ),
            timeout=TIMEOUT_S,
        )

    def message_id(self, ledger_key: str) -> str | None:
        """The ``webhook-id``: the same for every resend of this request's event."""
        return event_id(ledger_key)

    async def send(self, message: OutgoingMessage) -> SendResult:
        key = message.ledger_key
        endpoint = await self._endpoint(key)
        msg_id = event_id(key)
        now = self._ctx.clock.now()
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
        ).encode()
        headers = signed_headers(endpoint.secret, msg_id=msg_id, when=now, body=body)
        headers["content-type"] = "application/json"
        try:
            response = await self._http.post(endpoint.url, content=body, headers=headers)
        except httpx.TimeoutException:
            raise TransientDeliveryError(f"request {key}: the webhook endpoint timed out") from None
        except httpx.TransportError as exc:
            raise TransientDeliveryError(
                f"request {key}: the webhook endpoint could not be reached ({type(exc).__name__})"
            ) from None
        status = response.status_code
        if status == 429 or status >= 500:
            log.warning("delivery.webhook.deferred", ledger_key=key, status=status)
            raise TransientDeliveryError(f"request {key}: the webhook endpoint answered {status}")
        if status >= 300:
            log.warning("delivery.webhook.refused", ledger_key=key, status=status)
            raise PermanentDeliveryError(
                f"request {key}: the webhook endpoint refused the event ({status})",
                reason=MESSAGE_REFUSED,
            )
        log.info("delivery.webhook.sent", ledger_key=key, message_id=msg_id, status=status)
        return SendResult(self.name, key, msg_id, detail=str(status))

    async def reconcile(self, ledger_key: str, message_id: str | None) -> bool | None:
        """Send again (same ``webhook-id``): receivers de-duplicate."""
        return False

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _endpoint(self, ledger_key: str) -> Endpoint:
        ctx = self._ctx
        business_id = _business_of(ledger_key)
        async with ctx.db.reader() as session:
            found = await endpoint_for(session, secrets=ctx.secrets, business_id=business_id)
        if found is None:
            raise DeliveryConfigurationError(
                "the business has no webhook endpoint", field="webhook.url"
            )
        return found


def _business_of(ledger_key: str) -> int:
    """The location of a ledger key (``rr:<location>:…``, :func:`ledger_models.ledger_key`)."""
    return int(ledger_key.split(":")[1])
