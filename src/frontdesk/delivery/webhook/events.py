"""A business's review-request webhook events as its users see them: list, replay.

A business sees the events of its own requests and, for an enterprise, those of its
locations; another tenant's event answers 404. Bodies (they name a patient) are never shown:
the list carries the event id (the outbox's ``messageId``), state, attempts and last answer.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.principal import Principal
from frontdesk.businesses.models import Business
from frontdesk.businesses.service import locations_of
from frontdesk.clock import Clock
from frontdesk.errors import NotFound
from frontdesk.webhooks import store
from frontdesk.webhooks.models import REVIEW, WebhookEvent
from frontdesk.webhooks.service import replay_event


async def _scope(session: AsyncSession, business: Business) -> list[int]:
    return [business.id, *[b.id for b in await locations_of(session, business=business)]]


async def business_events(
    session: AsyncSession,
    *,
    business: Business,
    state: str | None,
    before_id: int | None,
    limit: int,
) -> list[WebhookEvent]:
    """The review events of ``business`` (and its locations), newest first."""
    return await store.list_events(
        session,
        kind=REVIEW,
        state=state,
        business_ids=await _scope(session, business),
        before_id=before_id,
        limit=limit,
    )


async def replay_business_event(
    session: AsyncSession, *, business: Business, event_id: str, clock: Clock, actor: Principal
) -> WebhookEvent:
    """Replay the parked (or delivered) event ``event_id`` of ``business``: the same
    ``webhook-id``, a fresh attempt budget; audited as ``webhooks.replay``."""
    row = await store.by_event_id(session, event_id=event_id)
    if row is None or row.kind != REVIEW or row.business_id not in await _scope(session, business):
        raise NotFound("no such webhook event for this business", field="eventId")
    return await replay_event(session, clock=clock, actor=actor, row_id=row.id, kind=REVIEW)
