"""The kinds of events the pump delivers: how each is signed, where it goes, what is POSTed.

A :class:`Kind` is the whole difference between a ticket push and a review-request event;
everything else (claim, POST, backoff, parking, replay, reconcile) is shared
(:mod:`frontdesk.webhooks.pump`). The target is looked up at every attempt, so a changed URL
or a rotated secret applies to events still pending.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.answering.desk.models import AnsweringCompanyWebhook
from frontdesk.answering.desk.webhooks import encode_body
from frontdesk.delivery.sms.models import DeliveryStatus
from frontdesk.delivery.webhook.endpoints import endpoint_for
from frontdesk.security.secrets import SecretBox
from frontdesk.settings import Settings, WebhookDeliverySettings
from frontdesk.webhooks.models import DELIVERED, PARKED, REVIEW, TICKET, WebhookEvent
from frontdesk.webhooks.signing import FrontdeskSigner, Signer, StandardWebhooksSigner


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    secret: str = field(repr=False)


class Kind(Protocol):
    """One kind of event: its signer, its delivery options, its target and its body."""

    name: str
    signer: Signer
    no_target: str
    """The ``last_error`` of an event parked because it has nowhere to go."""
    guarded: bool
    """Connections are checked by the outbound rule (:mod:`frontdesk.security.outbound`)."""
    retries_refusals: bool
    """A 3xx/4xx answer is retried like a 5xx (else the event is parked at once)."""

    def options(self, settings: Settings) -> WebhookDeliverySettings:
        """Attempts, backoff, lease and timeout of this kind's deliveries."""
        ...

    async def target(
        self, session: AsyncSession, *, secrets: SecretBox, row: WebhookEvent
    ) -> Target | None:
        """Where ``row`` goes now (None: nowhere, it is parked)."""
        ...

    def body(self, row: WebhookEvent, *, secrets: SecretBox) -> bytes:
        """The exact bytes POSTed and signed."""
        ...

    async def recorded(self, session: AsyncSession, *, row: WebhookEvent, now: datetime) -> None:
        """``row`` changed state (queued, delivered, parked, replayed), in its transaction."""
        ...


class TicketKind:
    """An answering company's ticket status push (:mod:`frontdesk.answering.desk.webhooks`)."""

    name = TICKET
    signer: Signer = FrontdeskSigner()
    no_target = "no active webhook for the company"
    guarded = False  # set by the desk's administrators, not by a tenant (see docs/webhooks.md)
    retries_refusals = True  # documented to answering services (docs/tickets.md, "Retries")

    def options(self, settings: Settings) -> WebhookDeliverySettings:
        return settings.answering.webhooks

    async def target(
        self, session: AsyncSession, *, secrets: SecretBox, row: WebhookEvent
    ) -> Target | None:
        hook = await session.get(AnsweringCompanyWebhook, row.company_id)
        if hook is None or not hook.active:
            return None
        return Target(hook.url, secrets.decrypt(hook.secret))

    def body(self, row: WebhookEvent, *, secrets: SecretBox) -> bytes:
        return encode_body(dict(row.payload or {}), row.id)

    async def recorded(self, session: AsyncSession, *, row: WebhookEvent, now: datetime) -> None:
        return None  # the desk lists its deliveries from the store itself


class ReviewKind:
    """A business's review-request event (:mod:`frontdesk.delivery.webhook.channel`)."""

    name = REVIEW
    signer: Signer = StandardWebhooksSigner()
    no_target = "the business has no webhook endpoint"
    guarded = True  # a tenant's URL: a public address, or a host the operator listed
    retries_refusals = False  # a refusal is final until the business fixes its receiver

    def options(self, settings: Settings) -> WebhookDeliverySettings:
        return settings.webhooks

    async def target(
        self, session: AsyncSession, *, secrets: SecretBox, row: WebhookEvent
    ) -> Target | None:
        if row.business_id is None:
            return None
        found = await endpoint_for(session, secrets=secrets, business_id=row.business_id)
        return None if found is None else Target(found.url, found.secret)

    def body(self, row: WebhookEvent, *, secrets: SecretBox) -> bytes:
        return secrets.decrypt(row.sealed or "").encode("utf-8")

    async def recorded(self, session: AsyncSession, *, row: WebhookEvent, now: datetime) -> None:
        """Mirror the event's state into the outbox's ``deliveryStatus`` (keyed by the
        request's ``messageId``, the event id): ``queued`` → ``delivered`` / ``failed``."""
        status = {DELIVERED: "delivered", PARKED: "failed"}.get(row.state, "queued")
        found = await session.get(DeliveryStatus, row.event_id)
        if found is None:
            session.add(
                DeliveryStatus(
                    message_id=row.event_id,
                    channel=WEBHOOK_CHANNEL,
                    status=status,
                    error_code=_code(row),
                    updated_at=now,
                )
            )
        else:  # the store is the truth, replays move it back to queued
            found.status, found.error_code, found.updated_at = status, _code(row), now


def _code(row: WebhookEvent) -> str | None:
    if row.state != PARKED:
        return None
    return str(row.last_status_code) if row.last_status_code is not None else "no_answer"


WEBHOOK_CHANNEL: Final = "webhook"

KINDS: Final[dict[str, Kind]] = {TICKET: TicketKind(), REVIEW: ReviewKind()}
