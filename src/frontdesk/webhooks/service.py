"""Services of the outbound event store: queue a review-request event, replay a parked one.

Each takes the caller's session (the caller commits) and keeps the outbox's
``deliveryStatus`` of review events in step (:meth:`frontdesk.webhooks.kinds.Kind.recorded`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.principal import Principal
from frontdesk.audit.service import record_event
from frontdesk.clock import Clock
from frontdesk.webhooks import store
from frontdesk.webhooks.kinds import KINDS
from frontdesk.webhooks.models import REVIEW, WebhookEvent


async def queue_review_event(
    session: AsyncSession,
    *,
    event_id: str,
    business_id: int,
    event: str,
    sealed_body: str,
    now: datetime,
) -> WebhookEvent:
    """The event of ``event_id``, queued now unless it already was (then left as it is)."""
    queued = await store.add_review_event(
        session,
        event_id=event_id,
        business_id=business_id,
        event=event,
        sealed_body=sealed_body,
        now=now,
    )
    row = await store.by_event_id(session, event_id=event_id)
    assert row is not None  # just inserted, or there before
    if queued:
        await KINDS[REVIEW].recorded(session, row=row, now=now)
    return row


async def replay_event(
    session: AsyncSession,
    *,
    clock: Clock,
    actor: Principal,
    row_id: int,
    kind: str | None = None,
    action: str = "webhooks.replay",
) -> WebhookEvent:
    """Queue a parked (or delivered) event again with a fresh attempt budget and the same
    event id (receivers de-duplicate); audited as ``action``."""
    now = clock.now()
    row, previous = await store.replay(session, row_id=row_id, now=now, kind=kind)
    await KINDS[row.kind].recorded(session, row=row, now=now)
    await record_event(
        session,
        clock=clock,
        actor=actor,
        action=action,
        target_type="answering_webhook_delivery" if row.company_id else "webhook_event",
        target_id=str(row.id),
        business_id=row.business_id,
        details={"from": previous, "kind": row.kind, "companyId": row.company_id},
    )
    return row
