"""Push webhooks of answering-service companies: configuration, events, signatures.

A company may name one URL. Every status change of one of its tickets queues one event (kind
``ticket``) in the one outbound event store (:mod:`frontdesk.webhooks`) in the transaction of
the change (so a change is never pushed without being committed, and never committed without
being queued); the one webhook pump (:mod:`frontdesk.webhooks.pump`) sends it.

**Payload** (no patient data: the receiver already has the ticket it created)::

    {"event": "ticket.status_changed", "deliveryId": 17, "ticketId": "RQxQ5s84H",
     "status": "ASSIGNED", "previousStatus": "IN PROGRESS", "changedAt": "2026-01-05T12:00:00Z",
     "actorRole": "nurse", "sequence": 42}

``sequence`` is the id of the status-history row: it grows with every change, so a receiver
that gets deliveries out of order (a retried one after a newer one) keeps the highest.

**Signature**: ``X-Frontdesk-Signature: sha256=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>``
with ``X-Frontdesk-Timestamp`` (Unix seconds of the attempt) and ``X-Frontdesk-Delivery`` (the
delivery id, the same on every attempt: receivers dedupe by it). See :func:`verify_signature`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.answering.desk.models import AnsweringCompanyWebhook
from frontdesk.answering.desk.visibility import TicketAccess
from frontdesk.answering.models import AnsweringCompany, AnsweringTicket, AnsweringTicketStatus
from frontdesk.audit.service import record_event
from frontdesk.clock import Clock
from frontdesk.errors import InvalidInput, NotFound
from frontdesk.security.secrets import SecretBox
from frontdesk.webhooks.models import DELIVERED, PARKED, PENDING, SENDING, STATES, WebhookEvent
from frontdesk.webhooks.store import add_ticket_event

EVENT_STATUS_CHANGED: Final = "ticket.status_changed"
SIGNATURE_HEADER: Final = "X-Frontdesk-Signature"
TIMESTAMP_HEADER: Final = "X-Frontdesk-Timestamp"
DELIVERY_HEADER: Final = "X-Frontdesk-Delivery"
EVENT_HEADER: Final = "X-Frontdesk-Event"
SECRET_PREFIX: Final = "whsec_"  # noqa: S105 - a prefix, not a secret
MIN_SECRET_LENGTH: Final = 16
MAX_URL_LENGTH: Final = 2000

__all__ = ["DELIVERED", "PARKED", "PENDING", "SENDING", "STATES"]  # the deliveries' states


def generate_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def encode_body(payload: dict[str, Any], delivery_id: int) -> bytes:
    """The exact bytes POSTed (and signed): compact JSON, keys sorted."""
    document = {**payload, "deliveryId": delivery_id}
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode("utf-8")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256 keyed with ``secret`` over ``timestamp + "." + body``."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: str, *, timestamp: str, body: bytes, signature: str, now: float, tolerance_s: int = 300
) -> bool:
    """What a receiver checks: a fresh timestamp and a matching signature (constant time)."""
    try:
        age = abs(now - int(timestamp))
    except ValueError:
        return False
    if age > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def check_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("the webhook URL must be an absolute http(s) URL", field="url")
    if len(url) > MAX_URL_LENGTH or parts.username or parts.password:
        raise InvalidInput(
            "the webhook URL must not hold credentials and has at most 2000 characters",
            field="url",
        )
    return url


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    company: AnsweringCompany
    hook: AnsweringCompanyWebhook
    new_secret: str | None = None
    """The secret, only in the answer that generated it (shown once)."""


async def _company(session: AsyncSession, company_id: int) -> AnsweringCompany:
    company = await session.get(AnsweringCompany, company_id)
    if company is None:
        raise NotFound(f"company {company_id} not found", field="company")
    return company


async def get_webhook(
    session: AsyncSession, *, access: TicketAccess, company_id: int
) -> WebhookConfig:
    access.require_configure()
    company = await _company(session, company_id)
    hook = await session.get(AnsweringCompanyWebhook, company_id)
    if hook is None:
        raise NotFound(f"company {company_id} has no webhook", field="company")
    return WebhookConfig(company, hook)


async def set_webhook(
    session: AsyncSession,
    *,
    access: TicketAccess,
    clock: Clock,
    secrets_box: SecretBox,
    company_id: int,
    url: str,
    secret: str | None,
    active: bool = True,
) -> WebhookConfig:
    """Create or replace a company's webhook; a secret is generated when none is given.

    A replaced URL applies to deliveries still pending. Omitting the secret on a webhook that
    has one keeps it (so a URL change does not break a receiver's verification); pass one to
    rotate it.
    """
    access.require_configure()
    url = check_url(url)
    if secret is not None and len(secret.strip()) < MIN_SECRET_LENGTH:
        raise InvalidInput(
            f"a webhook secret has at least {MIN_SECRET_LENGTH} characters", field="secret"
        )
    company = await _company(session, company_id)
    hook = await session.get(AnsweringCompanyWebhook, company_id)
    now = clock.now()
    generated = None
    if secret is None and hook is None:
        generated = secret = generate_secret()
    if hook is None:
        assert secret is not None
        hook = AnsweringCompanyWebhook(
            company_id=company_id,
            url=url,
            secret=secrets_box.encrypt(secret.strip()),
            active=active,
            created_at=now,
            updated_at=now,
        )
        session.add(hook)
    else:
        hook.url = url
        hook.active = active
        hook.updated_at = now
        if secret is not None:
            hook.secret = secrets_box.encrypt(secret.strip())
    await session.flush()
    await record_event(
        session,
        clock=clock,
        actor=access.principal,
        action="answering.webhook.set",
        target_type="answering_company",
        target_id=str(company_id),
        business_id=None,
        details={
            "host": urlsplit(url).hostname,
            "active": active,
            "secret": "generated" if generated else ("replaced" if secret else "kept"),
        },
    )
    return WebhookConfig(company, hook, generated)


async def delete_webhook(
    session: AsyncSession, *, access: TicketAccess, clock: Clock, company_id: int
) -> None:
    """Remove the webhook; pending deliveries then park ("no active webhook")."""
    config = await get_webhook(session, access=access, company_id=company_id)
    await session.delete(config.hook)
    await record_event(
        session,
        clock=clock,
        actor=access.principal,
        action="answering.webhook.delete",
        target_type="answering_company",
        target_id=str(company_id),
        business_id=None,
        details={},
    )


async def queue_status_change(
    session: AsyncSession,
    *,
    ticket: AnsweringTicket,
    previous: str,
    step: AnsweringTicketStatus,
    clock: Clock,
) -> WebhookEvent | None:
    """Queue the push of a status change when the ticket's company has an active webhook."""
    active = await session.execute(
        select(AnsweringCompanyWebhook.company_id).where(
            AnsweringCompanyWebhook.company_id == ticket.company_id,
            AnsweringCompanyWebhook.active.is_(True),
        )
    )
    if active.first() is None:
        return None
    delivery = add_ticket_event(
        session,
        company_id=ticket.company_id,
        ticket_pk=ticket.id,
        event=EVENT_STATUS_CHANGED,
        payload={
            "event": EVENT_STATUS_CHANGED,
            "ticketId": ticket.ticket_id,
            "status": step.status,
            "previousStatus": previous,
            "changedAt": step.at.isoformat().replace("+00:00", "Z"),
            "actorRole": step.actor_role,
            "sequence": step.id,
        },
        now=clock.now(),
    )
    await session.flush()
    return delivery
