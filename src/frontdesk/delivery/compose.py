"""Put together the :class:`OutgoingMessage` of one review request (for the ledger)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.clock import Clock
from frontdesk.delivery.channel import OutgoingMessage
from frontdesk.delivery.template_service import resolve_template_set
from frontdesk.engagement.unsubscribe import DEFAULT_TTL, unsubscribe_link
from frontdesk.security.secrets import SecretBox


async def compose_review_request(
    session: AsyncSession,
    *,
    secrets: SecretBox,
    clock: Clock,
    public_url: str,
    location_id: int,
    channel: str,
    ledger_key: str,
    recipient: str,
    patient_first_name: str,
    location_name: str,
    review_url: str,
    sender_name: str,
    reply_to: str | None = None,
) -> OutgoingMessage:
    """The message for one ledger row: the location's templates and a fresh unsubscribe link.

    Run it in a write transaction (the first link ever made creates the install's pepper),
    then send *after* the transaction: never await the remote side while holding the writer.
    """
    templates = await resolve_template_set(session, business_id=location_id, channel=channel)
    link = await unsubscribe_link(
        session,
        secrets=secrets,
        clock=clock,
        public_url=public_url,
        business_id=location_id,
        channel=channel,
        contact=recipient,
        ledger_key=ledger_key,
        ttl=DEFAULT_TTL,
    )
    return OutgoingMessage(
        ledger_key=ledger_key,
        recipient=recipient,
        patient_first_name=patient_first_name,
        location_name=location_name,
        review_url=review_url,
        sender_name=sender_name,
        templates=templates,
        unsubscribe_url=link,
        reply_to=reply_to,
    )
