"""The ``sms`` channel: review requests as text messages through Twilio.

Per message: the location's quiet hours are checked (:mod:`.quiet`; outside the window
the request waits, pending, until it opens: :class:`DeferredDelivery`), the business's
sender is looked up (its own ``twilio.messaging_service_sid`` / ``twilio.from``, else the
process-wide one: :mod:`.senders`), the recipient is
checked as an E.164 mobile number (already done by the decision step; checked again since
the configuration may have changed), the sender's consent record is consulted (a STOP to
this sender since the decision → ``opted_out``), the mobile template is rendered with the
request's tracked link (``/r/{token}``, :mod:`frontdesk.delivery.tracking.minting`) for the
review link, and the message is created with
``StatusCallback={FRONTDESK_PUBLIC_URL}/webhooks/twilio/status``.
The provider's ``SM…`` sid is the request's message id (known only after the send:
``message_id`` returns None).

A 21610 answer (the recipient had replied STOP to this sender) records the opt-out against
the sender, like an inbound STOP, before the request is failed as ``opted_out``.

``reconcile`` after a crash: the request's recipient is read again from its check-in and the
provider's messages to that number from our sender since the claim are listed; one created
after the claim means the message went (True), none means it did not (False: sent again).
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from sqlalchemy import select

from frontdesk.clock import Clock
from frontdesk.context import AppContext
from frontdesk.delivery.channel import (
    NO_USABLE_CONTACT,
    DeferredDelivery,
    OutgoingMessage,
    PermanentDeliveryError,
    SendResult,
)
from frontdesk.delivery.phone import mobile_number
from frontdesk.delivery.reach import Reach, contact_of
from frontdesk.delivery.sms.client import TwilioClient
from frontdesk.delivery.sms.consent import SenderConsent, record_reply
from frontdesk.delivery.sms.errors import OPTED_OUT
from frontdesk.delivery.sms.keywords import Intent
from frontdesk.delivery.sms.quiet import QuietHours
from frontdesk.delivery.sms.senders import BusinessSenders, Sender
from frontdesk.delivery.templates import render_template_set
from frontdesk.delivery.tracking.minting import TrackedLinks
from frontdesk.engagement.checkin_models import CheckIn
from frontdesk.engagement.ledger_models import ReviewRequest
from frontdesk.errors import FrontdeskError
from frontdesk.logs import get_logger
from frontdesk.outbound.http import build_transport
from frontdesk.security.outbound import OutboundPolicy

log = get_logger(__name__)

STATUS_PATH = "/webhooks/twilio/status"
INBOUND_PATH = "/webhooks/twilio/inbound"
CLOCK_SKEW = timedelta(minutes=2)


class SmsChannel:
    """Sends review requests through Twilio's Messages resource (``FRONTDESK_TWILIO__*``)."""

    name = "sms"
    reaches = Reach.MOBILE

    def __init__(
        self,
        ctx: AppContext,
        *,
        client: TwilioClient | None = None,
        links: TrackedLinks | None = None,
    ) -> None:
        self._ctx = ctx
        self._twilio = ctx.settings.twilio
        self._senders = BusinessSenders(ctx)
        self._quiet = QuietHours(ctx)
        self._consents: dict[str, SenderConsent] = {}
        self._links = links or TrackedLinks(ctx)
        self._status_callback = ctx.settings.public_url.rstrip("/") + STATUS_PATH
        self._client = client or TwilioClient(
            self._twilio,
            # the outbound rule at every connection: the account's token goes only to the
            # operator's Twilio origin (FRONTDESK_TWILIO__API_URL) or a listed host
            transport=build_transport(
                ctx.settings,
                max_connections=self._twilio.max_connections,
                connect_check=functools.partial(
                    OutboundPolicy.from_settings(ctx.settings).check_connect,
                    sends_credentials=True,
                ),
            ),
        )

    @property
    def clock(self) -> Clock:
        return self._ctx.clock

    def message_id(self, ledger_key: str) -> str | None:
        """Twilio assigns the ``SM…`` sid when it accepts the message."""
        return None

    async def send(self, message: OutgoingMessage) -> SendResult:
        key = message.ledger_key
        to = mobile_number(message.recipient, region=self._twilio.default_region).number
        if to is None:
            raise PermanentDeliveryError(
                f"request {key}: no mobile number", reason=NO_USABLE_CONTACT
            )
        ctx = self._ctx
        now = ctx.clock.now()
        not_before = await self._quiet.not_before(_location_of(key), to, now)
        if not_before > now:
            raise DeferredDelivery(
                f"request {key}: quiet hours, scheduled for {not_before.isoformat()}",
                not_before=not_before,
            )
        sender = await self._senders.of(_location_of(key))
        pepper = await self._links.pepper()
        if await self._consent(sender).opted_out(pepper=pepper, contact=to):
            raise PermanentDeliveryError(
                f"request {key}: the recipient told this sender to stop", reason=OPTED_OUT
            )
        review_url = await self._links.record(key, message.review_url)
        rendered = render_template_set(
            message.templates,
            {
                "first_name": " ".join(message.patient_first_name.split()),
                "location_name": message.location_name,
                "review_url": review_url,
                "unsubscribe_url": message.unsubscribe_url,
                "sender_name": " ".join(message.sender_name.split()),
            },
        )
        try:
            created = await self._client.create_message(
                to=to,
                body=" ".join(rendered.text.split()),
                status_callback=self._status_callback,
                from_=sender.from_,
                messaging_service_sid=sender.messaging_service_sid,
                ledger_key=key,
            )
        except PermanentDeliveryError as error:
            if error.reason == OPTED_OUT:
                await self._provider_opt_out(sender, to)
            log.warning("delivery.sms.failed", ledger_key=key, error_code=error.reason)
            raise
        except FrontdeskError as error:
            log.warning("delivery.sms.failed", ledger_key=key, error_code=error.code)
            raise
        log.info("delivery.sms.sent", ledger_key=key, message_id=created.sid)
        return SendResult(self.name, key, created.sid, detail=created.status)

    async def reconcile(self, ledger_key: str, message_id: str | None) -> bool | None:
        """Look the message up at Twilio (see the module docstring); None: cannot tell."""
        if message_id:
            found = await self._client.fetch_message(message_id, ledger_key=ledger_key)
            return found.status not in ("failed", "canceled")
        located = await self._recipient_and_claim(ledger_key)
        if located is None:
            return None
        to, claimed_at = located
        sender = await self._senders.of(_location_of(ledger_key))
        messages = await self._client.list_messages(
            to=to,
            from_=None if sender.messaging_service_sid else sender.from_,
            sent_after=(claimed_at - CLOCK_SKEW).date(),
            ledger_key=ledger_key,
        )
        return any(_created(m.date_created) >= claimed_at - CLOCK_SKEW for m in messages)

    async def aclose(self) -> None:
        await self._links.aclose()
        await self._client.aclose()

    def _consent(self, sender: Sender) -> SenderConsent:
        """The consent records of ``sender`` (one in-memory set per sender in use)."""
        found = self._consents.get(sender.key)
        if found is None:
            found = self._consents[sender.key] = SenderConsent(self._ctx.db, sender=sender.key)
        return found

    async def _provider_opt_out(self, sender: Sender, to: str) -> None:
        ctx = self._ctx
        async with ctx.db.transaction() as session:
            await record_reply(
                session,
                secrets=ctx.secrets,
                clock=ctx.clock,
                twilio=self._twilio,
                sender=sender.key,
                contact=to,
                intent=Intent.OPT_OUT,
                keyword=None,
                source="provider",
            )

    async def _recipient_and_claim(self, ledger_key: str) -> tuple[str, datetime] | None:
        """The number a stale request was for, and when it was claimed (from the database)."""
        parts = ledger_key.split(":")
        if len(parts) < 6 or parts[0] != "rr":
            return None
        async with self._ctx.db.reader() as session:
            row = (
                await session.execute(
                    select(ReviewRequest.claimed_at, CheckIn.patient_sealed, CheckIn.patient_id)
                    .join(CheckIn, CheckIn.id == ReviewRequest.checkin_id)
                    .where(
                        ReviewRequest.business_id == int(parts[1]),
                        ReviewRequest.source_id == int(parts[2]),
                        ReviewRequest.appointment_id == ":".join(parts[3:-2]),
                        ReviewRequest.trigger_id == int(parts[-2]),
                        ReviewRequest.channel == parts[-1],
                    )
                )
            ).first()
        if row is None or row.claimed_at is None or not row.patient_sealed:
            return None
        patient = json.loads(self._ctx.secrets.decrypt(row.patient_sealed))
        to = contact_of(Reach.MOBILE, {**patient, "patient_id": row.patient_id}).address
        return (to, row.claimed_at) if to else None


def _location_of(ledger_key: str) -> int:
    """The location of a ledger key (``rr:<location>:…``, :func:`ledger_models.ledger_key`)."""
    return int(ledger_key.split(":")[1])


def _created(value: str | None) -> datetime:
    """Twilio's RFC 2822 dates; an unreadable one counts as "just now" (assume it went)."""
    if not value:
        return datetime.max.replace(tzinfo=UTC)
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return datetime.max.replace(tzinfo=UTC)
